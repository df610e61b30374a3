"""No token, code, client secret, password or key in QBP_HOME's files, logs or output."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner

from qb_pipeline.cli import main
from qb_pipeline.config import DEMO_CLIENT_SECRET
from qb_pipeline.connections import ConnectionRefused, IntegrationService
from tests.connections.conftest import (
    ADMIN,
    PASSWORD,
    add_team,
    authorize,
    companies,
    complete,
    issued_tokens,
)


def test_tokens_and_secrets_never_reach_files_logs_or_output(
    make_emulator, make_settings, home, secret_key, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    running = make_emulator(strict_rotation=True, limits_enabled=False)
    env = {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": running.url,
    }
    service = IntegrationService(make_settings(running.url))
    add_team(service)
    first, second = companies(running.url)[:2]
    outputs: list[str] = []
    states: list[str] = []

    # Connect, refresh with rotation, replace a token QuickBooks ended early, re-authorize.
    callback = authorize(service, realm_id=first["realmId"])
    states.append(callback.state)
    outputs.append(repr(complete(service, callback)))
    for _ in range(3):
        outputs.append(repr(service.access_token("acme", min_valid=timedelta(hours=2))))
    old = service.access_token("acme")
    httpx.post(f"{running.url}/_emulator/oauth/expire-access-tokens").raise_for_status()
    outputs.append(repr(service.access_token("acme", rejected=old.value)))
    callback = authorize(service, realm_id=first["realmId"])
    states.append(callback.state)
    outputs.append(repr(complete(service, callback)))
    # A refused second company (its fresh tokens are revoked) and a replayed callback.
    callback = authorize(service, realm_id=second["realmId"])
    states.append(callback.state)
    with pytest.raises(ConnectionRefused) as refused:
        complete(service, callback)
    outputs.append(str(refused.value))
    with pytest.raises(Exception) as replayed:  # noqa: PT011 - any refusal; its text is scanned
        complete(service, callback)
    outputs.append(str(replayed.value))
    # The CLI's views, then disconnect.
    runner = CliRunner()
    for args in (["status", "--org", "acme"], ["status", "--org", "acme", "--json"]):
        outputs.append(runner.invoke(main, args, env=env).output)
    outputs.append(json.dumps(service.status("acme").to_dict()))
    outputs.append(repr(service.disconnect("acme", ADMIN)))
    outputs.append(json.dumps([e.to_dict() for e in service.audit_log(limit=1000)]))

    tokens = [t["value"] for t in issued_tokens(running.url)]
    codes = [c["value"] for c in running.state.oauth.issued_codes()]
    assert len(tokens) >= 10
    assert len(codes) == 3
    secrets = {
        **{f"token {t[:6]}...": t for t in tokens},
        **{f"code {c[:6]}...": c for c in codes},
        "client secret": DEMO_CLIENT_SECRET,
        "user password": PASSWORD,
        "QBP_SECRET_KEY": secret_key,
    }
    captured = capsys.readouterr()
    texts = {
        "logs": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "results and messages": "\n".join(outputs),
    }
    files = sorted(p for p in home.rglob("*") if p.is_file())
    assert any(p.name == "control.sqlite3" for p in files)

    leaks = [
        f"{name} in {where}"
        for name, value in secrets.items()
        for where, text in texts.items()
        if value in text
    ]
    leaks += [
        f"{name} in {path.relative_to(home)}"
        for path in files
        for name, value in {**secrets, **{f"state {i}": s for i, s in enumerate(states)}}.items()
        if value.encode() in path.read_bytes()
    ]
    assert leaks == []
