"""Password hashing with argon2id (memory-hard), via argon2-cffi.

Parameters: OWASP's argon2id configuration (19 MiB, 2 passes, 1 lane), about 80 ms per
hash on a 2-core machine. argon2-cffi's default (64 MiB, 3 passes, 4 lanes) took ~0.6 s
here, which makes every sign-in slow without a matching gain for this application. Stored
hashes carry their parameters, so raising them later keeps old hashes verifiable.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qb_pipeline.connections.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # argon2id


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs as much time as a
    wrong password and response times do not tell which emails exist."""
    return _hasher.hash("not a real password; only used to spend time")


def check_password_rules(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password for {email} is too short: use at least {MIN_PASSWORD_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown user) spends the same time, False."""
    try:
        ok = _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
