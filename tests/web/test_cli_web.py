"""`qb-pipeline web` serves the app; a whole connect/disconnect leaves no secret in its output,
its pages or the files under QBP_HOME."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.fernet import Fernet

from qb_pipeline.config import DEMO_CLIENT_SECRET, load_settings
from qb_pipeline.connections.service import IntegrationService
from qb_pipeline.sandbox import free_port
from tests.web.conftest import (
    ORG,
    PASSWORDS,
    authorize_at_intuit,
    csrf_of,
    seed_org,
    sign_in,
    text_of,
)

ADMIN = "admin@acme.test"


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"qb-pipeline web exited with {process.returncode}")
        try:
            httpx.get(f"{url}/sign-in", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # polling a port that is not open yet; no condition to wait on
    raise AssertionError(f"qb-pipeline web did not answer on {url} within {timeout}s")


def test_cli_serves_the_connect_flow_and_no_secret_leaks(tmp_path, make_emulator):
    emulator = make_emulator(limits_enabled=False)
    home = tmp_path / "home"
    secret_key = Fernet.generate_key().decode()
    env = {
        "QBP_HOME": str(home),
        "QBP_SECRET_KEY": secret_key,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emulator.url,
        # QBO_REDIRECT_URI unset: the app's own /integrations/quickbooks/callback is used.
    }
    seed_org(IntegrationService(load_settings(env)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "qb-pipeline"), "web", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pages: list[str] = []
    try:
        wait_until_serving(url, process)
        with httpx.Client(base_url=url, timeout=30.0) as client:
            sign_in(client, ADMIN, PASSWORDS[ADMIN])
            page = client.get(f"/orgs/{ORG}/integrations")
            started = client.post(
                f"/orgs/{ORG}/integrations/quickbooks/connect",
                data={"csrf_token": csrf_of(page.text)},
            )
            query = parse_qs(urlsplit(started.headers["location"]).query)
            assert query["redirect_uri"] == [f"{url}/integrations/quickbooks/callback"]
            callback = authorize_at_intuit(started.headers["location"])
            code = parse_qs(urlsplit(callback).query)["code"][0]
            finished = client.get(callback)
            connected = client.get(finished.headers["location"])
            assert "Connected to" in text_of(connected.text)
            confirm = client.get(f"/orgs/{ORG}/integrations/quickbooks/disconnect")
            done = client.post(
                f"/orgs/{ORG}/integrations/quickbooks/disconnect",
                data={"csrf_token": csrf_of(confirm.text)},
            )
            after = client.get(done.headers["location"])
            assert "Not connected" in text_of(after.text)
            pages = [page.text, connected.text, confirm.text, after.text]
            pages += [r.text for r in (started, finished, done)]
            cookies = list(client.cookies.values())
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)

    assert "GET /integrations/quickbooks/callback 303" in output  # our access log, no query
    issued = httpx.get(f"{emulator.url}/_emulator/tokens").json()
    secrets = {t["value"] for t in issued} | {code, DEMO_CLIENT_SECRET, secret_key}
    secrets |= set(PASSWORDS.values())
    assert len(issued) >= 2
    for secret in secrets:
        assert secret not in output, "a secret reached the server's output"
        for text in pages + cookies:
            assert secret not in text, "a secret reached a page or a cookie"
    for path in home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in content, f"{secret[:4]}... in plaintext in {path}"


def test_cli_without_a_secret_key_exits_with_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QBP_", "QBO_"))}
    env["QBP_HOME"] = str(tmp_path / "home")
    command = [str(Path(sys.executable).parent / "qb-pipeline"), "web", "--port", "1"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "QBP_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
