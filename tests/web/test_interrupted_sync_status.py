"""The integration page tells a sync that was killed: "Last sync failed: interrupted ...", once
the run whose process is gone has been found (by the daemon's sensor, the next sync or
`qb-pipeline status`), instead of "Running" for good."""

from __future__ import annotations

from qb_pipeline.defs.instance import open_instance
from tests.defs.killed_run import killed_run
from tests.web.conftest import ORG, connect, text_of

ADMIN = "admin@acme.test"
PAGE = f"/orgs/{ORG}/integrations"


def test_a_killed_sync_shows_as_interrupted_once_it_is_found(connectable_web):
    web = connectable_web
    client = web.signed_in(ADMIN)
    connect(client)
    env = {
        "QBP_HOME": str(web.settings.home),
        "QBP_SECRET_KEY": web.settings.secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": web.emulator.url,
    }
    killed_run("STARTED", entry=True, org=ORG, env=env)
    assert "Sync status Running" in text_of(client.get(PAGE).text)

    # What the abandoned-runs sensor, the next sync and `qb-pipeline status` do.
    with open_instance(web.settings, web.service):
        pass

    text = text_of(client.get(PAGE).text)
    assert "Sync status Last sync failed: interrupted: the qb-pipeline sync process (pid " in text
    assert "stopped before it finished" in text
    assert "Running" not in text
