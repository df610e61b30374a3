"""AlertService: subscriptions, endpoints and the delivery log for the CLI and the web app,
and `alert_run`, what the Dagster step calls after a run published its goal values.

Roles are checked here: any member manages their own subscriptions; only admins add or
remove webhook endpoints and read the delivery log. Sending never raises: every failure is
an attempt in the delivery log, so alerts can never fail the sync they follow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from qb_pipeline.alerts import deliveries, digest, email, subscriptions, webhooks
from qb_pipeline.alerts.changes import Change, Observation, observe
from qb_pipeline.alerts.deliveries import Attempt, Delivery, RetryPolicy
from qb_pipeline.alerts.subscriptions import Endpoint, NewEndpoint, Subscription
from qb_pipeline.config import Settings
from qb_pipeline.connections import orgs
from qb_pipeline.connections.crypto import cipher_from_settings
from qb_pipeline.connections.db import Connection, control_db_of, open_db, prepare
from qb_pipeline.goals.store import ARCHIVED, GoalStore

log = logging.getLogger(__name__)
LOG_ACTION = "read the alert delivery log"


@dataclass
class RunAlerts:
    """What the alert step of one run did."""

    org_slug: str
    run_id: str
    changes: list[Change] = field(default_factory=list)
    planned: int = 0
    sent: int = 0
    failed: int = 0
    digest_existed: bool = False
    note: str | None = None  # why nothing was looked at, if so


class AlertService:
    """Alerts of every organization in the control DB that `settings` name."""

    def __init__(self, settings: Settings, policy: RetryPolicy | None = None) -> None:
        self.config = settings
        self.db = control_db_of(settings)
        self.policy = policy or RetryPolicy()
        self._cipher = cipher_from_settings(settings)
        settings.home.mkdir(parents=True, exist_ok=True)
        prepare(self.db)

    def __repr__(self) -> str:
        return f"AlertService(home={str(self.config.home)!r})"

    def _db(self) -> AbstractContextManager[Connection]:
        return open_db(self.db)

    # -- endpoints (admins) -----------------------------------------------------------------
    def add_endpoint(self, actor: str, org_slug: str, name: str, url: str) -> NewEndpoint:
        """A new endpoint; its signing secret is in the result, and nowhere else readable."""
        with self._db() as conn:
            return subscriptions.add_endpoint(
                conn, actor, org_slug, name, url, self._cipher.encrypt
            )

    def remove_endpoint(self, actor: str, org_slug: str, name: str) -> Endpoint:
        with self._db() as conn:
            return subscriptions.remove_endpoint(conn, actor, org_slug, name)

    def endpoints(self, actor: str, org_slug: str) -> list[Endpoint]:
        with self._db() as conn:
            return subscriptions.endpoints(conn, actor, org_slug)

    # -- subscriptions (every member, their own) ---------------------------------------------
    def subscribe(
        self,
        actor: str,
        org_slug: str,
        goal_id: str | None,
        channel: str = subscriptions.EMAIL,
        endpoint: str | None = None,
    ) -> Subscription:
        store = GoalStore(self.db)

        def exists(goal: str) -> bool:
            found = store.find(org_slug, goal)
            return found is not None and found.state != ARCHIVED

        with self._db() as conn:
            return subscriptions.subscribe(
                conn, actor, org_slug, goal_id, channel, endpoint, exists
            )

    def unsubscribe(self, actor: str, org_slug: str, subscription_id: int) -> Subscription:
        with self._db() as conn:
            return subscriptions.unsubscribe(conn, actor, org_slug, subscription_id)

    def subscriptions(self, actor: str, org_slug: str) -> list[Subscription]:
        with self._db() as conn:
            return subscriptions.subscriptions(conn, actor, org_slug)

    # -- the delivery log (admins) ---------------------------------------------------------------
    def delivery_log(
        self, actor: str, org_slug: str, limit: int = 100
    ) -> list[tuple[Delivery, list[Attempt]]]:
        with self._db() as conn:
            membership = orgs.require_role(conn, actor, org_slug, "admin", LOG_ACTION)
            return deliveries.log(conn, membership.organization.id, limit)

    # -- after a run ------------------------------------------------------------------------
    def alert_published(self, org_slug: str, run_id: str) -> RunAlerts:
        """The alert step of run `run_id`: the organization's goal values as published (the
        serving copy, what the app and BI read) against the last observations."""
        # Imported here: DuckDB is needed only once a step reads the values.
        from qb_pipeline.goals import values
        from qb_pipeline.warehouse.serving import serving_copy

        with self._db() as conn:
            row = conn.execute(
                "SELECT c.realm_id FROM quickbooks_connections c"
                " JOIN organizations o ON o.id = c.org_id WHERE o.slug = ?",
                (org_slug,),
            ).fetchone()
        realm_id = row["realm_id"] if row else None
        names = watched_goal_names(GoalStore(self.db), org_slug, realm_id)
        with serving_copy(self.config, org_slug) as serving:
            if serving.con is None:
                return RunAlerts(org_slug, run_id, note=serving.note)
            latest = values.latest(serving.con, org_slug, realm_id)
        return self.alert_run(org_slug, realm_id, run_id, observations_from(latest, names))

    def alert_run(
        self,
        org_slug: str,
        realm_id: str | None,
        run_id: str,
        observations: Mapping[str, Observation],
    ) -> RunAlerts:
        """Record the run's digest (once) and send every pending delivery of the
        organization: this run's, and any an earlier step planned and never started."""
        outcome = RunAlerts(org_slug, run_id)
        if realm_id is None:
            outcome.note = "no QuickBooks company connected: no goal values to watch"
            return outcome
        with self._db() as conn:
            org = orgs.org_by_slug(conn, org_slug)
            found = digest.record_run(conn, org.id, org_slug, realm_id, run_id, observations)
            outcome.changes, outcome.planned = found.changes, found.planned
            outcome.digest_existed = found.existed
            deliveries.give_up_interrupted(conn, org.id)
            for delivery in deliveries.claim_pending(conn, org.id):
                status = self._deliver(conn, org.name, delivery)
                if status == deliveries.SENT:
                    outcome.sent += 1
                else:
                    outcome.failed += 1
        return outcome

    def _deliver(self, conn: Connection, org_name: str, delivery: Delivery) -> str:
        row = conn.execute(
            "SELECT realm_id, run_id, changes FROM alert_digests WHERE id = ?",
            (delivery.digest_id,),
        ).fetchone()
        wanted = set(delivery.goal_ids)
        changes = [Change.from_dict(c) for c in json.loads(row["changes"])]
        changes = [c for c in changes if c.goal_id in wanted]
        send = self._sender(conn, org_name, delivery, row["realm_id"], row["run_id"], changes)
        status = deliveries.send_with_retries(conn, delivery, send, self.policy)
        log.info(
            "alert delivery %s (%s) to %s: %s",
            delivery.delivery_key,
            delivery.channel,
            delivery.recipient,
            status,
        )
        return status

    def _sender(
        self,
        conn: Connection,
        org_name: str,
        delivery: Delivery,
        realm_id: str,
        run_id: str,
        changes: list[Change],
    ) -> Callable[[float], deliveries.AttemptResult]:
        if delivery.channel == subscriptions.EMAIL:
            smtp = self.config.smtp
            sender = smtp.sender if smtp else "qb-goals@localhost"
            mail = email.message(
                sender,
                delivery.recipient,
                org_name,
                delivery.org_slug,
                delivery.delivery_key,
                changes,
            )
            return lambda timeout: email.send_once(smtp, mail, timeout)
        endpoint = conn.execute(
            "SELECT url, secret_encrypted, disabled_at FROM webhook_endpoints WHERE id = ?",
            (delivery.endpoint_id,),
        ).fetchone()
        if endpoint is None or endpoint["disabled_at"] is not None:
            return lambda _timeout: deliveries.AttemptResult(
                deliveries.GAVE_UP, None, "the endpoint was removed before the delivery"
            )
        secret = self._cipher.decrypt(endpoint["secret_encrypted"])
        data = webhooks.payload(delivery.delivery_key, delivery.org_slug, realm_id, run_id, changes)
        body = webhooks.body_of(data)
        signed_headers = webhooks.headers(
            delivery.delivery_key, data["sent_at"], webhooks.signature(secret, body)
        )
        url = endpoint["url"]
        return lambda timeout: webhooks.post_once(url, body, signed_headers, timeout)


def observations_from(
    latest: Mapping[str, object], names: Mapping[str, str]
) -> dict[str, Observation]:
    """The observations of the goals in `names` (id -> name: the goals alerts watch) from
    their latest published values (goals.values.latest)."""
    return {
        goal_id: observe(value, names[goal_id])
        for goal_id, value in latest.items()
        if goal_id in names
    }


def watched_goal_names(store: GoalStore, org_slug: str, realm_id: str | None) -> dict[str, str]:
    """Id -> name of the goals whose values alerts watch: every goal of the company that is
    not archived (an archived goal's values are frozen)."""
    return {
        g.goal_id: g.definition.name
        for g in store.list(org_slug)
        if g.state != ARCHIVED and g.realm_id == realm_id
    }
