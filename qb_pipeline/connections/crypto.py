"""Encryption of tokens at rest with QBP_SECRET_KEY (a Fernet key).

A missing or malformed key is a configuration error that names the variable and says how to
make a key; a key that cannot decrypt stored tokens is a SecretKeyError. Nothing here ever
replaces or erases a stored token: with the wrong key the service stops, it does not reset.
"""

from __future__ import annotations

import binascii
import dataclasses
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from qb_pipeline.config import ConfigError, Settings
from qb_pipeline.connections.errors import SecretKeyError

log = logging.getLogger(__name__)

MAKE_KEY_HINT = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)
WRONG_KEY_MESSAGE = (
    "QBP_SECRET_KEY does not match the key the tokens were encrypted with; set the original "
    "key (the stored tokens are kept untouched)"
)
DEMO_KEY_FILE = "secret.key"


class TokenCipher:
    """Encrypts and decrypts token strings; repr shows nothing of the key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError, binascii.Error):
            raise ConfigError(
                "QBP_SECRET_KEY is not a valid Fernet key (32 bytes, url-safe base64, "
                f"44 characters); {MAKE_KEY_HINT}"
            ) from None

    def __repr__(self) -> str:
        return "TokenCipher(<key hidden>)"

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(WRONG_KEY_MESSAGE) from None


def cipher_from_settings(settings: Settings) -> TokenCipher:
    """The cipher for settings.secret_key; ConfigError naming QBP_SECRET_KEY when unset."""
    if not settings.secret_key:
        raise ConfigError(
            f"QBP_SECRET_KEY is not set; it encrypts the QuickBooks tokens at rest; {MAKE_KEY_HINT}"
        )
    return TokenCipher(settings.secret_key)


def ensure_demo_secret_key(settings: Settings) -> Settings:
    """For the demo only: settings with a secret key, generated into QBP_HOME if none is set.

    The generated key lives in QBP_HOME/secret.key (mode 0600) and is reused on the next
    demo run, so tokens stored by one run stay readable by the next.
    """
    if settings.secret_key:
        return settings
    path = Path(settings.home) / DEMO_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode("ascii")
    try:
        # O_EXCL: never overwrite a key file (an earlier run's, or another process's).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        log.warning(
            "QBP_SECRET_KEY is not set: generated a demo key into %s. Outside the demo set "
            "QBP_SECRET_KEY yourself (and keep it: without it the stored tokens are lost).",
            path,
        )
    return dataclasses.replace(settings, secret_key=key)
