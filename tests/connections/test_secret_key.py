"""QBP_SECRET_KEY: missing, malformed or wrong gives a clear error and never a silent reset."""

from __future__ import annotations

import logging
import stat

import pytest
from cryptography.fernet import Fernet

from qb_pipeline.config import ConfigError
from qb_pipeline.connections import IntegrationService, SecretKeyError
from qb_pipeline.connections.crypto import ensure_demo_secret_key
from tests.connections.conftest import connect_company, tuples


def stored_tokens(home) -> list[tuple]:
    return tuples(
        home,
        "SELECT access_token_encrypted, refresh_token_encrypted, status"
        " FROM quickbooks_connections",
    )


def test_a_missing_key_names_the_variable_and_how_to_make_one(make_settings):
    with pytest.raises(ConfigError) as raised:
        IntegrationService(make_settings(QBP_SECRET_KEY=None))

    message = str(raised.value)
    assert "QBP_SECRET_KEY is not set" in message
    assert "Fernet.generate_key()" in message


def test_a_malformed_key_is_a_clear_configuration_error(make_settings):
    with pytest.raises(ConfigError, match="QBP_SECRET_KEY is not a valid Fernet key"):
        IntegrationService(make_settings(QBP_SECRET_KEY="not-a-fernet-key"))


def test_a_wrong_key_stops_the_service_and_leaves_the_tokens_untouched(
    emulator, make_settings, service, home
):
    connect_company(service)
    before = stored_tokens(home)

    with pytest.raises(SecretKeyError) as raised:
        IntegrationService(
            make_settings(emulator.url, QBP_SECRET_KEY=Fernet.generate_key().decode())
        )

    assert "QBP_SECRET_KEY does not match the key the tokens were encrypted with" in str(
        raised.value
    )
    assert stored_tokens(home) == before
    # With the right key everything still works.
    assert IntegrationService(make_settings(emulator.url)).access_token("acme").value


def test_a_new_key_is_fine_while_no_tokens_are_stored(make_settings):
    IntegrationService(make_settings()).create_org("acme", "Acme Inc")

    other = IntegrationService(make_settings(QBP_SECRET_KEY=Fernet.generate_key().decode()))

    assert other.get_org("acme").name == "Acme Inc"


def test_the_demo_key_is_generated_once_into_qbp_home_with_a_warning(make_settings, home, caplog):
    settings = make_settings(QBP_SECRET_KEY=None)
    caplog.set_level(logging.WARNING)

    with_key = ensure_demo_secret_key(settings)

    key_file = home / "secret.key"
    assert with_key.secret_key == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "QBP_SECRET_KEY is not set" in caplog.text
    assert with_key.secret_key not in caplog.text
    assert ensure_demo_secret_key(settings).secret_key == with_key.secret_key
    IntegrationService(with_key)  # a valid key


def test_the_demo_helper_keeps_a_key_that_is_set(make_settings, home, secret_key):
    assert ensure_demo_secret_key(make_settings()).secret_key == secret_key
    assert not (home / "secret.key").exists()
