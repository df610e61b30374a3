"""Integration settings: everyone reads them, only admins change them."""

from __future__ import annotations

from tests.web.conftest import ORG, csrf_of, text_of

ADMIN = "admin@acme.test"
SETTINGS = f"/orgs/{ORG}/integrations/settings"
CHANGES = {
    "auto_sync": "on",
    "frequency": "hourly",
    "local_time": "05:30",
    "timezone": "Europe/Berlin",
    "history_years": "5",
}


def test_admin_changes_the_settings(web):
    client = web.signed_in(ADMIN)
    page = client.get(f"/orgs/{ORG}/integrations")
    response = client.post(SETTINGS, data={**CHANGES, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Integration settings saved." in text_of(page.text)
    assert '<option value="hourly" selected>Hourly</option>' in page.text
    assert "<option selected>Europe/Berlin</option>" in page.text
    assert f"Last changed by {ADMIN}" in text_of(page.text)
    saved = web.service.settings(ORG)
    assert (saved.auto_sync, saved.frequency, saved.local_time) == (True, "hourly", "05:30")
    assert (saved.timezone, saved.history_years) == ("Europe/Berlin", 5)


def test_unchecking_auto_sync_turns_it_off(web):
    client = web.signed_in(ADMIN)
    page = client.get(f"/orgs/{ORG}/integrations")
    changes = {k: v for k, v in CHANGES.items() if k != "auto_sync"}  # unchecked: not sent
    client.post(SETTINGS, data={**changes, "csrf_token": csrf_of(page.text)})
    assert web.service.settings(ORG).auto_sync is False


def test_invalid_values_are_refused_with_the_reason_and_nothing_is_saved(web):
    client = web.signed_in(ADMIN)
    before = web.service.settings(ORG)
    for field, value in [
        ("frequency", "weekly"),
        ("timezone", "Mars/Olympus_Mons"),
        ("local_time", "25:99"),
        ("history_years", "many"),
    ]:
        page = client.get(f"/orgs/{ORG}/integrations")
        response = client.post(
            SETTINGS, data={**CHANGES, field: value, "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == 400, field
        text = text_of(response.text)
        assert "Not saved:" in text
        assert value in text, f"the message for {field} should quote {value!r}: {text}"
        assert web.service.settings(ORG) == before


def test_viewer_and_editor_cannot_change_the_settings(web):
    before = web.service.settings(ORG)
    for email in ["viewer@acme.test", "editor@acme.test"]:
        client = web.signed_in(email)
        page = client.get(f"/orgs/{ORG}/integrations")
        response = client.post(SETTINGS, data={**CHANGES, "csrf_token": csrf_of(page.text)})
        assert response.status_code == 403
        assert "Not allowed" in text_of(response.text)
    assert web.service.settings(ORG) == before


def test_settings_without_the_csrf_token_are_refused(web):
    before = web.service.settings(ORG)
    response = web.signed_in(ADMIN).post(SETTINGS, data=CHANGES)
    assert response.status_code == 403
    assert web.service.settings(ORG) == before
