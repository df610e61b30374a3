"""Email alerts over STARTTLS with a login: a real SMTP server on loopback that offers
STARTTLS (a certificate made in the test) and AUTH PLAIN/LOGIN only once encrypted, the real
control DB (both engines) and AlertService. The client upgrades and logs in when QBP_SMTP_*
says so; a refused login or an untrusted certificate is a clear, final error in the delivery
log; the password is in no log line, delivery log row or message, and never sent in clear."""

from __future__ import annotations

import base64
import json
import logging
from datetime import date

import pytest

from qb_pipeline.alerts.deliveries import RetryPolicy
from qb_pipeline.alerts.service import AlertService, observations_from
from qb_pipeline.connections import IntegrationService
from qb_pipeline.goals.compute import LatestValue
from tests.alerts.certificates import self_signed, server_context
from tests.alerts.receivers import SmtpReceiver
from tests.connections.conftest import ADMIN, VIEWER, add_team, rows

ORG, REALM, GOAL = "acme", "9130", "revenue"
USER, PASSWORD = "alerts-sender", "s3cret-Pa55-for-smtp"
FAST = RetryPolicy(attempts=3, base_delay=0.01, timeout=5)
# Every form the password could take on the wire (AUTH LOGIN, AUTH PLAIN).
PASSWORD_FORMS = (
    PASSWORD,
    base64.b64encode(PASSWORD.encode()).decode(),
    base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
)


@pytest.fixture
def certificate(tmp_path):
    return self_signed(tmp_path / "tls")


@pytest.fixture
def start_smtp(certificate):
    started: list[SmtpReceiver] = []

    def factory(mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")) -> SmtpReceiver:
        server = SmtpReceiver(server_context(*certificate), {USER: PASSWORD}, mechanisms)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def trust(certificate, monkeypatch):
    """The client trusts the test's certificate (and only it) through OpenSSL's
    SSL_CERT_FILE, which ssl.create_default_context() reads."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def alerts_for(make_settings, server: SmtpReceiver, **smtp: str) -> AlertService:
    settings = make_settings(
        QBP_SMTP_HOST="127.0.0.1",
        QBP_SMTP_PORT=str(server.port),
        QBP_SMTP_FROM="alerts@acme.example",
        **smtp,
    )
    add_team(IntegrationService(settings), ORG)
    service = AlertService(settings, FAST)
    # A subscription to every goal: no goal in the store is needed for it.
    service.subscribe(VIEWER, ORG, None, "email")
    return service


def observed(status: str):
    value = LatestValue(
        GOAL, date(2026, 11, 1), date(2026, 11, 30), 80.0, 100.0, status, "USD", False, None
    )
    return observations_from({GOAL: value}, {GOAL: "Revenue"})


def change_status(service: AlertService):
    service.alert_run(ORG, REALM, "run-1", observed("on_track"))
    return service.alert_run(ORG, REALM, "run-2", observed("off_track"))


def assert_no_password(home, caplog, *texts: str) -> None:
    tables = ("alert_deliveries", "alert_attempts", "alert_digests", "audit_log")
    dumped = json.dumps([rows(home, f"SELECT * FROM {t}") for t in tables], default=str)
    everything = "\n".join([dumped, caplog.text, *texts])
    for form in PASSWORD_FORMS:
        assert form not in everything


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_the_client_upgrades_to_tls_then_logs_in(
    make_settings, home, start_smtp, trust, caplog, mechanism
):
    caplog.set_level(logging.DEBUG)
    server = start_smtp((mechanism,))
    service = alerts_for(
        make_settings,
        server,
        QBP_SMTP_STARTTLS="true",
        QBP_SMTP_USER=USER,
        QBP_SMTP_PASSWORD=PASSWORD,
    )

    outcome = change_status(service)

    assert (outcome.sent, outcome.failed) == (1, 0)
    with server.received:
        assert server.received.wait_for(lambda: len(server.messages) == 1, timeout=10)
    [session] = server.sessions
    assert session.tls
    assert (session.user, session.mechanism) == (USER, mechanism)
    # Nothing but the greeting and the upgrade in clear text; the login came after it.
    assert [c.split(" ")[0] for c in session.before_tls] == ["ehlo", "STARTTLS"]
    assert any(c.startswith(f"AUTH {mechanism}") for c in session.after_tls)
    assert server.messages[0]["To"] == VIEWER
    assert "1 goal change" in server.messages[0]["Subject"]
    [(delivery, attempts)] = service.delivery_log(ADMIN, ORG)
    assert (delivery.status, [a.outcome for a in attempts]) == ("sent", ["ok"])
    assert_no_password(home, caplog, server.messages[0].as_string(), repr(service.config))


def test_a_wrong_password_is_a_clear_final_error_without_the_password(
    make_settings, home, start_smtp, trust, caplog
):
    caplog.set_level(logging.DEBUG)
    server = start_smtp()
    wrong = "not-" + PASSWORD
    service = alerts_for(
        make_settings,
        server,
        QBP_SMTP_STARTTLS="true",
        QBP_SMTP_USER=USER,
        QBP_SMTP_PASSWORD=wrong,
    )

    outcome = change_status(service)

    assert (outcome.sent, outcome.failed) == (0, 1)
    assert server.messages == []
    assert [s.refused_user for s in server.sessions] == [USER]  # one attempt: not retried
    [(delivery, [attempt])] = service.delivery_log(ADMIN, ORG)
    assert delivery.status == "failed"
    assert (attempt.outcome, attempt.code) == ("failed", 535)
    assert attempt.error == (
        "SMTP 535 5.7.8 Authentication credentials invalid (login as QBP_SMTP_USER "
        "'alerts-sender' refused: check QBP_SMTP_USER and QBP_SMTP_PASSWORD)"
    )
    assert delivery.last_error == attempt.error
    wrong_forms = (
        wrong,
        base64.b64encode(wrong.encode()).decode(),
        base64.b64encode(f"\0{USER}\0{wrong}".encode()).decode(),
    )
    dumped = json.dumps(
        [rows(home, f"SELECT * FROM {t}") for t in ("alert_deliveries", "alert_attempts")],
        default=str,
    )
    for form in wrong_forms:
        assert form not in dumped
        assert form not in caplog.text
    assert wrong not in repr(service.config)


def test_an_untrusted_certificate_stops_before_the_login(make_settings, home, start_smtp, caplog):
    """Without trusting the test's certificate, verification fails: no login is tried and
    nothing is sent, in one final attempt."""
    caplog.set_level(logging.DEBUG)
    server = start_smtp()
    service = alerts_for(
        make_settings,
        server,
        QBP_SMTP_STARTTLS="true",
        QBP_SMTP_USER=USER,
        QBP_SMTP_PASSWORD=PASSWORD,
    )

    outcome = change_status(service)

    assert (outcome.sent, outcome.failed) == (0, 1)
    [(_, [attempt])] = service.delivery_log(ADMIN, ORG)
    assert attempt.outcome == "failed"
    assert attempt.error.startswith("the mail server's certificate is not trusted (")
    assert "no login attempted" in attempt.error
    assert all(s.user is None and s.mechanism is None for s in server.sessions)
    assert not any(c.startswith("AUTH") for s in server.sessions for c in s.before_tls)
    assert_no_password(home, caplog)


def test_without_starttls_the_password_is_never_sent_in_clear(
    make_settings, home, start_smtp, caplog
):
    """QBP_SMTP_STARTTLS=false against a server that offers AUTH only after STARTTLS: the
    client does not log in over plain text, and the log says why."""
    caplog.set_level(logging.DEBUG)
    server = start_smtp()
    service = alerts_for(make_settings, server, QBP_SMTP_USER=USER, QBP_SMTP_PASSWORD=PASSWORD)

    outcome = change_status(service)

    assert (outcome.sent, outcome.failed) == (0, 1)
    [(_, [attempt])] = service.delivery_log(ADMIN, ORG)
    assert attempt.outcome == "failed"
    assert attempt.error == (
        f"SMTP AUTH extension not supported by server. (127.0.0.1:{server.port} with "
        "QBP_SMTP_STARTTLS=false, QBP_SMTP_USER 'alerts-sender')"
    )
    [session] = server.sessions
    assert not session.tls
    assert not any(c.upper().startswith("AUTH") for c in session.before_tls)
    assert_no_password(home, caplog, "\n".join(session.before_tls))
