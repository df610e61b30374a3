""" "Sync now" requests in the control DB: a request is queued until the sync log has an entry
that started at or after it, then that entry's status is the organization's sync state; the
gate refuses non-admins (audited), unconnected organizations and a second sync while one is
queued or running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qb_pipeline.connections import IntegrationService, NotConnected, PermissionDenied
from qb_pipeline.connections.sync_requests import SyncBusy
from tests.connections.conftest import ADMIN, EDITOR, add_team, connect_company


@pytest.fixture
def connected(emulator, make_settings) -> IntegrationService:
    service = IntegrationService(make_settings(emulator.url))
    add_team(service)
    connect_company(service)
    return service


def test_a_request_is_queued_until_a_sync_starts_after_it(connected):
    realm = connected.status("acme").realm_id
    earlier = datetime.now(UTC) - timedelta(hours=1)
    connected.record_sync("acme", realm, earlier, earlier + timedelta(minutes=1), "succeeded")
    assert connected.sync_activity("acme").state == "succeeded"

    request = connected.record_sync_request("acme", ADMIN, realm, "run-1", None)

    activity = connected.sync_activity("acme")
    assert (activity.state, activity.busy, activity.request) == ("queued", True, request)
    with pytest.raises(SyncBusy, match="a sync of acme is queued already since"):
        connected.sync_requester(ADMIN, "acme")

    run = connected.record_sync("acme", realm, request.requested_at, None, "running")
    assert connected.sync_activity("acme").state == "running"
    connected.record_sync(
        "acme", realm, run.started_at, run.started_at + timedelta(seconds=9), "failed", "boom",
        run_id=run.id,
    )  # fmt: skip
    finished = connected.sync_activity("acme")
    assert (finished.state, finished.busy, finished.run.message) == ("failed", False, "boom")
    connected.sync_requester(ADMIN, "acme")  # free to sync again


def test_a_request_dagster_did_not_take_is_not_submitted_and_does_not_block(connected):
    realm = connected.status("acme").realm_id
    connected.record_sync_request("acme", ADMIN, realm, None, "Dagster is down")
    activity = connected.sync_activity("acme")
    assert (activity.state, activity.busy) == ("not_submitted", False)
    assert activity.request.problem == "Dagster is down"
    connected.sync_requester(ADMIN, "acme")
    entry = connected.audit_log("acme")[0]
    assert (entry.action, entry.outcome, entry.detail["problem"]) == (
        "sync requested",
        "failed",
        "Dagster is down",
    )


def test_only_admins_of_a_connected_organization_may_sync_now(connected):
    with pytest.raises(PermissionDenied, match="may not sync QuickBooks now for acme"):
        connected.sync_requester(EDITOR, "acme")
    assert connected.audit_log("acme")[0].outcome == "forbidden"
    connected.disconnect("acme", ADMIN)
    with pytest.raises(NotConnected, match="acme cannot sync now: QuickBooks is disconnected"):
        connected.sync_requester(ADMIN, "acme")


def test_the_last_syncs_are_the_newest_first_of_every_company(connected):
    realm = connected.status("acme").realm_id
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for day in range(12):
        moment = base + timedelta(days=day)
        connected.record_sync("acme", realm if day % 2 else "other", moment, moment, "succeeded")
    recent = connected.recent_syncs("acme", 10)
    assert [r.started_at.day for r in recent] == list(range(12, 2, -1))
    assert {r.realm_id for r in recent} == {realm, "other"}
