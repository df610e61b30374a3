"""The goal alerts page over real HTTP: a real web app and control DB (tests/web/conftest.py).
Members manage their own subscriptions; only admins add and remove webhook endpoints (the
signing secret shown once, on the answer to the form) and read the delivery log."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from qb_pipeline.alerts.changes import Observation
from qb_pipeline.alerts.deliveries import RetryPolicy
from qb_pipeline.alerts.service import AlertService, observations_from
from qb_pipeline.goals.compute import LatestValue
from qb_pipeline.goals.definition import GoalDefinition
from qb_pipeline.goals.store import GoalStore
from tests.alerts.receivers import WebhookReceiver
from tests.web.conftest import ORG, WebApp, csrf_of, text_of
from tests.web.goal_data import CHECKING_BALANCE, INCOME_MONTHLY

ADMIN, EDITOR, VIEWER = "admin@acme.test", "editor@acme.test", "viewer@acme.test"
PAGE = f"/orgs/{ORG}/alerts"
REALM = "4620816365"


@pytest.fixture
def alerts_web(web: WebApp) -> WebApp:
    """acme with two goals in its goal store (values are not needed to subscribe)."""
    store = GoalStore(web.service.db)
    for raw in (INCOME_MONTHLY, CHECKING_BALANCE):
        store.create(GoalDefinition.model_validate(raw), actor=EDITOR, source="web", realm_id=REALM)
    return web


def post(client, path: str, **fields: str):
    page = client.get(PAGE)
    return client.post(path, data={"csrf_token": csrf_of(page.text), **fields})


def subscriptions_text(html: str) -> str:
    return text_of(html.split('id="subscriptions"')[1].split("<h3>")[0])


def test_the_navigation_leads_to_the_alerts_page_of_the_first_organization(alerts_web):
    client = alerts_web.signed_in(VIEWER)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert '<a href="/alerts">Alerts</a>' in page.text
    assert client.get("/alerts").headers["location"] == PAGE
    assert "You get no goal alerts" in text_of(page.text)
    # A viewer sees the endpoints, not the forms that change them, nor the delivery log.
    assert "Only admins can add or remove webhook endpoints. Your role: viewer." in text_of(
        page.text
    )
    assert f'action="{PAGE}/endpoints"' not in page.text
    assert f"{PAGE}/deliveries" not in page.text


def test_headings_are_in_order(alerts_web):
    admin = alerts_web.signed_in(ADMIN)
    for path in (PAGE, f"{PAGE}/deliveries"):
        levels = [int(level) for level in re.findall(r"<h([1-6])", admin.get(path).text)]
        assert levels[0] == 1
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), path


def test_a_member_subscribes_and_unsubscribes_themselves(alerts_web):
    viewer = alerts_web.signed_in(VIEWER)
    every = post(viewer, f"{PAGE}/subscriptions", goal="*", deliver_to="email")
    assert every.status_code == 303
    one = post(viewer, f"{PAGE}/subscriptions", goal="income-monthly", deliver_to="email")
    assert one.status_code == 303
    page = viewer.get(PAGE)
    assert "Subscribed to alerts of goal income-monthly by email." in text_of(page.text)
    listed = subscriptions_text(page.text)
    assert f"Every goal Email to {VIEWER}" in listed
    assert f"Monthly income (income-monthly) Email to {VIEWER}" in listed
    # Twice the same: still one subscription.
    post(viewer, f"{PAGE}/subscriptions", goal="*", deliver_to="email")
    assert subscriptions_text(viewer.get(PAGE).text).count("Every goal") == 1

    # Another member sees only their own, and cannot end someone else's.
    mine = AlertService(alerts_web.settings).subscriptions(VIEWER, ORG)
    editor = alerts_web.signed_in(EDITOR)
    assert "You get no goal alerts" in text_of(editor.get(PAGE).text)
    theirs = post(editor, f"{PAGE}/subscriptions/{mine[0].id}/delete")
    assert theirs.status_code == 404
    assert f"Subscription {mine[0].id}: {EDITOR} has no such subscription" in text_of(theirs.text)
    assert len(AlertService(alerts_web.settings).subscriptions(VIEWER, ORG)) == 2

    ended = post(viewer, f"{PAGE}/subscriptions/{mine[0].id}/delete")
    assert ended.status_code == 303
    page = viewer.get(PAGE)
    assert "Unsubscribed from alerts of every goal (email)." in text_of(page.text)
    assert "Every goal" not in subscriptions_text(page.text)
    assert [s.goal_id for s in AlertService(alerts_web.settings).subscriptions(VIEWER, ORG)] == [
        "income-monthly"
    ]


def test_bad_subscription_input_is_a_form_error_naming_the_field_and_value(alerts_web):
    viewer = alerts_web.signed_in(VIEWER)
    unknown = post(viewer, f"{PAGE}/subscriptions", goal="no-such-goal", deliver_to="email")
    assert unknown.status_code == 400
    assert "Not subscribed: Goal 'no-such-goal': acme has no active goal with that id." in (
        text_of(unknown.text)
    )
    assert '<option value="no-such-goal"' not in unknown.text  # not offered as a choice
    sms = post(viewer, f"{PAGE}/subscriptions", goal="*", deliver_to="sms")
    assert sms.status_code == 400
    assert "Send to 'sms' is not a choice" in text_of(sms.text)
    missing = post(viewer, f"{PAGE}/subscriptions", goal="*", deliver_to="webhook:nope")
    assert missing.status_code == 400
    assert "Endpoint 'nope': acme has no active webhook endpoint of that name." in text_of(
        missing.text
    )
    assert AlertService(alerts_web.settings).subscriptions(VIEWER, ORG) == []


def test_forms_without_the_csrf_token_change_nothing(alerts_web):
    viewer = alerts_web.signed_in(VIEWER)
    forged = viewer.post(f"{PAGE}/subscriptions", data={"goal": "*", "deliver_to": "email"})
    assert forged.status_code == 403
    assert "Form not accepted" in forged.text
    admin = alerts_web.signed_in(ADMIN)
    wrong = admin.post(
        f"{PAGE}/endpoints",
        data={"name": "ops", "url": "https://example.com/x", "csrf_token": "not-the-token"},
    )
    assert wrong.status_code == 403
    assert AlertService(alerts_web.settings).subscriptions(VIEWER, ORG) == []
    assert AlertService(alerts_web.settings).endpoints(ADMIN, ORG) == []


@pytest.mark.parametrize("email", [EDITOR, VIEWER])
def test_only_admins_manage_endpoints_and_read_the_delivery_log(alerts_web, email):
    AlertService(alerts_web.settings).add_endpoint(ADMIN, ORG, "ops", "https://example.com/x")
    client = alerts_web.signed_in(email)
    role = email.split("@")[0]
    added = post(client, f"{PAGE}/endpoints", name="mine", url="https://example.com/y")
    assert added.status_code == 403
    assert "needs the admin role" in text_of(added.text)
    # A bad value from a non-admin is still a 403: the role is checked first.
    assert post(client, f"{PAGE}/endpoints", name="Bad Name", url="ftp://x").status_code == 403
    removed = post(client, f"{PAGE}/endpoints/ops/delete")
    assert removed.status_code == 403
    log = client.get(f"{PAGE}/deliveries")
    assert log.status_code == 403
    assert "read the alert delivery log" in text_of(log.text)
    assert [e.name for e in AlertService(alerts_web.settings).endpoints(ADMIN, ORG)] == ["ops"]
    page = client.get(PAGE)
    assert "https://example.com/x" in text_of(page.text)
    assert f"Your role: {role}." in text_of(page.text)
    assert f"{PAGE}/endpoints/ops/delete" not in page.text


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(alerts_web):
    admin = alerts_web.signed_in(ADMIN)
    answer = post(admin, f"{PAGE}/endpoints", name="ops", url="https://hooks.example/qbp")
    assert answer.status_code == 200
    secret = re.search(r'id="endpoint-secret" readonly size="60" value="([^"]+)"', answer.text)
    assert secret, text_of(answer.text)
    secret = secret.group(1)
    assert secret.startswith("whsec_")
    assert "shown only on this page, never again" in text_of(answer.text)
    assert answer.headers["cache-control"] == "no-store"  # not kept by the browser's cache
    assert "secret" not in (answer.headers.get("set-cookie") or "").lower()
    assert secret not in (answer.headers.get("set-cookie") or "")
    # Never again: not on the page, not in another member's page, not in the log page.
    for client in (admin, alerts_web.signed_in(VIEWER)):
        page = client.get(PAGE)
        assert secret not in page.text
        assert "ops" in text_of(page.text.split('id="endpoints"')[1])
    assert secret not in admin.get(f"{PAGE}/deliveries").text
    # The same name again is a form error; the secret is not shown again.
    again = post(admin, f"{PAGE}/endpoints", name="ops", url="https://hooks.example/other")
    assert again.status_code == 400
    assert "Not saved: Name 'ops': acme has a webhook endpoint of that name." in text_of(again.text)
    assert secret not in again.text

    # Members can now subscribe by that endpoint; removing it ends those subscriptions.
    viewer = alerts_web.signed_in(VIEWER)
    assert 'value="webhook:ops"' in viewer.get(PAGE).text
    made = post(viewer, f"{PAGE}/subscriptions", goal="checking-balance", deliver_to="webhook:ops")
    assert made.status_code == 303
    assert "Checking balance (checking-balance) Webhook ops" in subscriptions_text(
        viewer.get(PAGE).text
    )
    gone = post(admin, f"{PAGE}/endpoints/ops/delete")
    assert gone.status_code == 303
    assert "Webhook endpoint ops removed; its subscriptions ended." in text_of(admin.get(PAGE).text)
    assert AlertService(alerts_web.settings).subscriptions(VIEWER, ORG) == []
    assert AlertService(alerts_web.settings).endpoints(ADMIN, ORG) == []


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        ("ops", "ftp://example.com/x", "Url 'ftp://example.com/x' is not allowed"),
        ("ops", "https://user:pw@example.com/x", "must not hold a user or password"),
        ("Bad Name", "https://example.com/x", "Name 'Bad Name' is not allowed"),
        ("ops", "https://example.com:99999/x", "(its port is not a number)"),
    ],
)
def test_bad_endpoint_input_is_a_form_error_naming_the_field_and_value(
    alerts_web, name, url, expected
):
    admin = alerts_web.signed_in(ADMIN)
    answer = post(admin, f"{PAGE}/endpoints", name=name, url=url)
    assert answer.status_code == 400
    assert expected in text_of(answer.text)
    assert 'id="endpoint-secret"' not in answer.text
    assert "user:pw" not in answer.text  # a URL with credentials is not shown back
    assert AlertService(alerts_web.settings).endpoints(ADMIN, ORG) == []


def test_the_admin_reads_deliveries_with_their_attempts(alerts_web):
    """A real delivery to a real receiver on loopback (a 500, then a 200), on the page."""
    receiver = WebhookReceiver(failures_first=1)
    try:
        alerts = AlertService(alerts_web.settings, RetryPolicy(attempts=3, base_delay=0.01))
        new = alerts.add_endpoint(ADMIN, ORG, "ops", receiver.url)
        alerts.subscribe(EDITOR, ORG, None, "webhook", "ops")
        alerts.subscribe(VIEWER, ORG, "income-monthly", "email")  # no SMTP: failed, logged

        def seen(status: str) -> dict[str, Observation]:
            value = LatestValue(
                "income-monthly", date(2026, 8, 1), date(2026, 8, 31), 2170.0, 1500.0, status,
                "USD", False, None,
            )  # fmt: skip
            return observations_from({"income-monthly": value}, {"income-monthly": "Income"})

        alerts.alert_run(ORG, REALM, "run-1", seen("on_track"))
        outcome = alerts.alert_run(ORG, REALM, "run-2", seen("off_track"))
    finally:
        receiver.stop()
    assert (outcome.sent, outcome.failed) == (1, 1)
    page = alerts_web.signed_in(ADMIN).get(f"{PAGE}/deliveries")
    assert page.status_code == 200
    text = text_of(page.text)
    assert f"Webhook to {receiver.url}: sent" in text
    assert f"Email to {VIEWER}: failed" in text
    assert "email is not configured: set QBP_SMTP_HOST" in text
    webhook = text_of(page.text.split(f"Webhook to {receiver.url}")[1].split("</article>")[0])
    assert re.search(r"1 .* retry 500 HTTP 500 Internal Server Error \d+ ms", webhook), webhook
    assert re.search(r"2 .* ok 200 — \d+ ms", webhook), webhook
    assert f"{ORG}:run-2:webhook:" in webhook
    assert new.secret not in page.text
