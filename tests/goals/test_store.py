"""The goal store: goals are rows of the control DB, versioned, archived instead of deleted,
announced by events, and bound to the company their ids were chosen in."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

import pytest
from cryptography.fernet import Fernet

from qb_pipeline.config import load_settings
from qb_pipeline.connections import IntegrationService, NotFound
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import GoalConflict, GoalNotFound, GoalStore
from tests.connections.conftest import ADMIN, EDITOR, add_team

ORG = "acme"


@pytest.fixture
def store(tmp_path) -> GoalStore:
    settings = load_settings(
        {
            "QBP_HOME": str(tmp_path / "qbp-home"),
            "QBP_SECRET_KEY": Fernet.generate_key().decode(),
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": "http://127.0.0.1:9",
        }
    )
    service = IntegrationService(settings)
    add_team(service, ORG)
    add_team(service, "globex")
    return GoalStore(service.db_path)


def definition(goal_id: str = "revenue", org: str = ORG, **fields: Any) -> GoalDefinition:
    data: dict[str, Any] = {
        "id": goal_id,
        "name": "Monthly revenue",
        "organization": org,
        "dataset": "profit_and_loss",
        "tracks": {"line": {"group": "Income"}},
        "grain": "month",
        "target": {"value": 1000},
    }
    data.update(fields)
    return GoalDefinition.model_validate(data)


def account_goal(goal_id: str = "products", account_id: str = "13") -> GoalDefinition:
    return definition(goal_id, tracks={"account": {"account_id": account_id}})


def goal_events(store: GoalStore) -> list[tuple[str, str, int]]:
    with sqlite3.connect(store.db.sqlite_path) as conn:
        rows = conn.execute(
            "SELECT detail FROM events WHERE kind = 'goal_changed' ORDER BY id"
        ).fetchall()
    details = [json.loads(detail) for (detail,) in rows]
    return [(d["goal_id"], d["change"], d["version"]) for d in details]


def test_a_created_goal_is_version_one_with_who_when_and_an_event(store):
    change = store.create(definition(), actor=EDITOR, source="web", realm_id="r1")

    goal = store.get(ORG, "revenue")
    assert (goal.version, goal.state, goal.realm_id, goal.created_by) == (1, "active", "r1", EDITOR)
    assert goal.definition == definition()
    assert change.changed
    assert change.change == "created"
    [version] = store.history(ORG, "revenue")
    assert (version.version, version.actor, version.source, version.change) == (
        1,
        EDITOR,
        "web",
        "created",
    )
    assert goal_events(store) == [("revenue", "created", 1)]


def test_every_change_is_a_new_version_saying_what_changed(store):
    store.create(definition(), actor=EDITOR, source="web", realm_id="r1")

    store.update(definition(target={"value": 1200}, name="Revenue"), actor=ADMIN, source="api")

    goal = store.get(ORG, "revenue")
    assert (goal.version, goal.updated_by, goal.definition.target.value) == (2, ADMIN, 1200)
    second = store.history(ORG, "revenue")[1]
    assert (second.version, second.source, second.change) == (2, "api", "updated")
    assert [(c.field, c.before, c.after) for c in second.changes] == [
        ("name", "Monthly revenue", "Revenue"),
        ("target.value", 1000.0, 1200.0),
    ]
    assert second.definition.name == "Revenue"


def test_an_update_to_the_same_definition_writes_nothing(store):
    store.create(definition(), actor=EDITOR, source="web", realm_id="r1")

    change = store.update(definition(), actor=EDITOR, source="web")

    assert not change.changed
    assert store.get(ORG, "revenue").version == 1
    assert len(goal_events(store)) == 1


def test_an_id_is_used_once_per_organization_but_organizations_are_apart(store):
    store.create(definition(), actor=EDITOR, source="web", realm_id="r1")
    store.create(definition(org="globex"), actor=EDITOR, source="web", realm_id="r2")

    with pytest.raises(GoalConflict, match="acme already has a goal 'revenue'"):
        store.create(definition(), actor=EDITOR, source="web", realm_id="r1")
    assert [g.goal_id for g in store.list("globex")] == ["revenue"]
    assert store.get("globex", "revenue").realm_id == "r2"


def test_a_change_made_meanwhile_is_never_overwritten(store):
    store.create(definition(), actor=EDITOR, source="web", realm_id="r1")
    store.update(definition(target={"value": 2000}), actor=ADMIN, source="web", expected_version=1)

    with pytest.raises(GoalConflict, match=r"was changed meanwhile \(version 2 by admin"):
        store.update(
            definition(target={"value": 3000}), actor=EDITOR, source="web", expected_version=1
        )
    assert store.get(ORG, "revenue").definition.target.value == 2000


def test_archive_and_restore_keep_the_goal_and_its_history(store):
    store.create(definition(), actor=EDITOR, source="web", realm_id="r1")

    store.archive(ORG, "revenue", actor=EDITOR, source="web")
    assert store.get(ORG, "revenue").is_archived
    assert store.list(ORG, states=["active"]) == []
    with pytest.raises(GoalConflict, match="archived; restore it"):
        store.update(definition(target={"value": 5}), actor=EDITOR, source="web")
    assert store.computable(ORG, "r1") == []

    store.restore(ORG, "revenue", actor=EDITOR, source="web", realm_id="r1")

    assert store.get(ORG, "revenue").is_active
    assert [v.change for v in store.history(ORG, "revenue")] == ["created", "archived", "restored"]
    assert store.computable(ORG, "r1") == [definition()]
    # Archiving twice, restoring an active goal: nothing happens, nothing is recorded.
    assert not store.restore(ORG, "revenue", actor=EDITOR, source="web", realm_id="r1").changed
    assert len(store.history(ORG, "revenue")) == 3


def test_a_file_managed_goal_changes_only_through_goals_apply(store):
    store.create(
        definition(),
        actor=EDITOR,
        source="file",
        realm_id="r1",
        managed_by="goal_models/acme/revenue.yaml",
    )

    for attempt in (
        lambda: store.update(definition(target={"value": 1}), actor=EDITOR, source="web"),
        lambda: store.archive(ORG, "revenue", actor=EDITOR, source="api"),
    ):
        with pytest.raises(GoalConflict, match=r"managed by the goal file goal_models/acme/re"):
            attempt()
    store.update(
        definition(target={"value": 1}),
        actor=EDITOR,
        source="file",
        managed_by="goal_models/acme/revenue.yaml",
    )
    assert store.get(ORG, "revenue").version == 2


def test_a_reconnect_to_another_company_sends_account_goals_to_review(store):
    store.create(account_goal(), actor=EDITOR, source="web", realm_id="r1")
    store.create(definition("income"), actor=EDITOR, source="web", realm_id="r1")
    store.create(
        definition(
            "margin",
            tracks={
                "formula": {
                    "expression": "gp / income * 100",
                    "items": {
                        "gp": {"line": {"group": "GrossProfit"}},
                        "income": {"line": {"group": "Income"}},
                    },
                }
            },
        ),
        actor=EDITOR,
        source="web",
        realm_id="r1",
    )

    changes = store.reconcile_realm(ORG, "r2")

    assert sorted((c.goal.goal_id, c.change) for c in changes) == [
        ("income", "realm_changed"),
        ("margin", "realm_changed"),
        ("products", "needs_review"),
    ]
    products = store.get(ORG, "products")
    assert (products.state, products.realm_id) == ("needs_review", "r1")
    assert "tracks.account.account_id named records of company r1" in products.state_reason
    assert sorted(g.id for g in store.computable(ORG, "r2")) == ["income", "margin"]
    assert store.computable(ORG, "r1") == []
    assert store.reconcile_realm(ORG, "r2") == []  # done once

    store.confirm(ORG, "products", actor=EDITOR, source="web", realm_id="r2")

    assert store.get(ORG, "products").state == "active"
    assert sorted(g.id for g in store.computable(ORG, "r2")) == ["income", "margin", "products"]
    assert [v.change for v in store.history(ORG, "products")] == [
        "created",
        "needs_review",
        "confirmed",
    ]


def test_changing_a_goal_under_review_makes_it_the_new_company_s(store):
    store.create(account_goal(), actor=EDITOR, source="web", realm_id="r1")
    store.reconcile_realm(ORG, "r2")

    store.update(account_goal(account_id="42"), actor=EDITOR, source="web", realm_id="r2")

    goal = store.get(ORG, "products")
    assert (goal.state, goal.realm_id, goal.state_reason) == ("active", "r2", None)


def test_restoring_an_account_goal_of_another_company_asks_for_review(store):
    store.create(account_goal(), actor=EDITOR, source="web", realm_id="r1")
    store.archive(ORG, "products", actor=EDITOR, source="web")

    store.restore(ORG, "products", actor=EDITOR, source="web", realm_id="r2")

    assert store.get(ORG, "products").state == "needs_review"


def test_unknown_organizations_and_goals_are_named(store):
    with pytest.raises(NotFound, match="no organization 'nope'"):
        store.list("nope")
    with pytest.raises(GoalNotFound, match="acme has no goal 'ghost'"):
        store.get(ORG, "ghost")
    with pytest.raises(GoalNotFound):
        store.archive(ORG, "ghost", actor=EDITOR, source="web")


def test_concurrent_editors_never_lose_a_version(store):
    store.create(definition(), actor=EDITOR, source="web", realm_id="r1")
    errors: list[BaseException] = []

    def edit(n: int) -> None:
        try:
            for step in range(5):
                store.update(
                    definition(target={"value": n * 100 + step}), actor=EDITOR, source="web"
                )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    history = store.history(ORG, "revenue")
    assert [v.version for v in history] == list(range(1, 22))
    assert store.get(ORG, "revenue").version == 21
    assert len(goal_events(store)) == 21
