"""Changing goals from the web app and the JSON API: one path for both.

Every change goes the same way: the service's gate (`goal_editor`: the user is an editor or
admin, audited when not; the organization is connected, except to archive or restore), the
definition checked against what the connected company has imported (goals/editing.py, which
refuses field by field and stores nothing then), the goal store (versions, optimistic
concurrency, file-managed goals read-only), and last a goals run submitted to the Dagster
instance's run queue for the change's event (launcher.py). Nothing is computed here.

Submitting is best effort: the change is committed with its event before the submission,
and the daemon's goal-changes sensor asks for a run for any change whose submission failed,
so a failed submission is a note for the person, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qb_pipeline.config import Settings
from qb_pipeline.connections.service import IntegrationService
from qb_pipeline.goals import editing
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.editing import GoalRefused
from qb_pipeline.goals.problems import FieldIssue, show
from qb_pipeline.goals.store import GoalChange, GoalStore, StoredGoal
from qb_pipeline.sync.launcher import Submission, submit_goals_run
from qb_pipeline.web.goals_data import PreviewRow, imported_catalog, preview_rows


@dataclass(frozen=True)
class ChangeOutcome:
    """A change made (or found unnecessary), and the goals run asked for it."""

    goal: StoredGoal
    change: str | None  # None: the goal was already so; nothing stored
    submission: Submission | None

    @property
    def changed(self) -> bool:
        return self.change is not None

    def values_note(self) -> str:
        """What happens to the goal's values now, for the person who made the change."""
        if not self.changed:
            return "Nothing changed, so nothing is recomputed."
        if self.goal.needs_review:
            return "It is computed again once an editor confirms or changes it."
        if self.submission is not None and self.submission.submitted:
            return (
                f"A goals run was queued in Dagster (run {self.submission.run_id}); the values "
                "on this page follow when it finishes."
            )
        problem = self.submission.problem if self.submission else "no run was submitted"
        return (
            "The values will come with the Dagster daemon's next look for goal changes "
            f"(the run could not be queued now: {problem})."
        )

    def to_dict(self) -> dict[str, Any]:
        submission = self.submission
        return {
            "changed": self.changed,
            "change": self.change,
            "run": {
                "submitted": bool(submission and submission.submitted),
                "run_id": submission.run_id if submission else None,
                "problem": submission.problem if submission else None,
            },
            "note": self.values_note(),
        }


@dataclass(frozen=True)
class Preview:
    """What a definition would be in its latest periods (nothing stored)."""

    definition: GoalDefinition
    rows: list[PreviewRow]
    note: str | None


class GoalChanges:
    """Goal changes made by people through one way in (`source`: "web" or "api")."""

    def __init__(self, settings: Settings, service: IntegrationService, source: str) -> None:
        self.settings = settings
        self.service = service
        self.store = GoalStore(service.db)
        self.source = source

    # -- definitions ---------------------------------------------------------------------
    def create(self, email: str, org: str, raw: Mapping[str, Any]) -> ChangeOutcome:
        """A new goal from `raw` (a goal file's shape; `organization` and `id` optional)."""
        _, status = self.service.goal_editor(email, org)
        catalog, _ = imported_catalog(self.settings, org, status.realm_id)
        change = editing.create(
            self.store,
            self.new_raw(org, raw),
            catalog,
            actor=email,
            source=self.source,
            realm_id=status.realm_id,
        )
        return self._submitted(email, org, change)

    def update(
        self,
        email: str,
        org: str,
        goal_id: str,
        raw: Mapping[str, Any],
        expected_version: int | None,
    ) -> ChangeOutcome:
        """Replace the goal's definition with `raw` (a whole definition)."""
        _, status = self.service.goal_editor(email, org)
        catalog, _ = imported_catalog(self.settings, org, status.realm_id)
        change = editing.update(
            self.store,
            self.same_goal(org, goal_id, raw),
            catalog,
            actor=email,
            source=self.source,
            realm_id=status.realm_id,
            expected_version=expected_version,
        )
        return self._submitted(email, org, change)

    def patch(
        self,
        email: str,
        org: str,
        goal_id: str,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> ChangeOutcome:
        """Change some top-level fields (a field given as None is removed)."""
        self.service.goal_editor(email, org)
        goal = self.store.get(org, goal_id)
        raw = editing.merged(goal.definition, changes)
        return self.update(email, org, goal_id, raw, expected_version)

    # -- states --------------------------------------------------------------------------
    def archive(
        self, email: str, org: str, goal_id: str, expected_version: int | None
    ) -> ChangeOutcome:
        self.service.goal_editor(email, org, needs_connection=False)
        change = self.store.archive(
            org, goal_id, actor=email, source=self.source, expected_version=expected_version
        )
        return self._submitted(email, org, change)

    def restore(
        self, email: str, org: str, goal_id: str, expected_version: int | None
    ) -> ChangeOutcome:
        _, status = self.service.goal_editor(email, org, needs_connection=False)
        change = self.store.restore(
            org,
            goal_id,
            actor=email,
            source=self.source,
            realm_id=status.realm_id,
            expected_version=expected_version,
        )
        return self._submitted(email, org, change)

    def confirm(
        self, email: str, org: str, goal_id: str, expected_version: int | None
    ) -> ChangeOutcome:
        """The editor says the ids of a goal needing review mean the same in the connected
        company: it is computed for that company from now on."""
        _, status = self.service.goal_editor(email, org)
        change = self.store.confirm(
            org,
            goal_id,
            actor=email,
            source=self.source,
            realm_id=status.realm_id,
            expected_version=expected_version,
        )
        return self._submitted(email, org, change)

    # -- previews ------------------------------------------------------------------------
    def preview(
        self, email: str, org: str, raw: Mapping[str, Any], goal_id: str | None = None
    ) -> Preview:
        """What `raw` would be in its latest periods, checked exactly as a save would be
        (GoalRefused otherwise); nothing is stored and no run is asked for."""
        _, status = self.service.goal_editor(email, org)
        catalog, _ = imported_catalog(self.settings, org, status.realm_id)
        previous = None
        if goal_id is None:
            full = self.new_raw(org, raw)
        else:
            previous = self.store.get(org, goal_id).definition
            full = self.same_goal(org, goal_id, raw)
        definition = editing.checked_definition(full, catalog, previous=previous)
        rows, note = preview_rows(self.settings, definition, status.realm_id)
        return Preview(definition, rows, note)

    # -- helpers -------------------------------------------------------------------------
    def new_raw(self, org: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """`raw` for a new goal of `org`: its organization, and an id made from its name
        when none is given."""
        full = _of_org(org, raw)
        if not full.get("id"):
            taken = {g.goal_id for g in self.store.list(org)}
            name = full.get("name")
            full["id"] = editing.goal_id_from_name(name if isinstance(name, str) else "", taken)
        return full

    def same_goal(self, org: str, goal_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """`raw` as the next definition of goal `goal_id` (whose id cannot change)."""
        full = _of_org(org, raw)
        given = full.get("id", goal_id)
        if given != goal_id:
            raise GoalRefused(
                [FieldIssue("id", f"cannot change (the goal is {goal_id!r}); create a new goal")]
            )
        full["id"] = goal_id
        return full

    def _submitted(self, email: str, org: str, change: GoalChange) -> ChangeOutcome:
        if change.event_id is None:
            return ChangeOutcome(change.goal, None, None)
        # Also for a goal that now needs a review: the run publishes its state to BI.
        submission = submit_goals_run(
            self.settings, org, event_id=change.event_id, requested_by=email, trigger=self.source
        )
        return ChangeOutcome(change.goal, change.change, submission)


def _of_org(org: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    full = dict(raw)
    given = full.get("organization", org)
    if given != org:
        raise GoalRefused(
            [
                FieldIssue(
                    "organization",
                    f"{show(given)} is not this organization; goals of {org} are created "
                    f"and changed under {org}",
                )
            ]
        )
    full["organization"] = org
    return full


__all__ = ["ChangeOutcome", "GoalChanges", "Preview"]
