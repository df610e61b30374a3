"""The emulator's OAuth 2.0 / OpenID Connect authority. No HTTP here.

It holds the registered apps, the users who can sign in, pending authorization requests,
authorization codes, grants and their tokens, and applies the rules of Intuit's OAuth 2.0
service to them (the sandbox README lists them too):

- codes are single use and live 5 minutes; a second exchange fails with `invalid_grant`
  and revokes every token issued from that code;
- access tokens live 3600 s; an old access token stays valid until its own expiry after a
  refresh, but stops at once when its grant is revoked;
- refresh tokens rotate: within the same-token window (24 h) a refresh returns the same
  refresh token with a smaller `x_refresh_token_expires_in`; after it, a new one is issued
  and the previous one is stale. The rolling lifetime (8726400 s) restarts with every new
  refresh token; the hard lifetime is 5 years from the original grant. `strict_rotation`
  issues a new refresh token on every refresh.

Every time here is emulator time: the shared `EmulatorClock` plus this server's own offset
(`advance()`), so tests can age tokens without touching the companies' clocks. The one
exception is the `id_token`, whose `iat`/`exp` are real wall-clock time because the
client verifies them against its own clock.

All state sits behind one lock: uvicorn runs handlers concurrently and rotation must be
atomic (two refreshes racing with the same token: one wins, the other gets invalid_grant).
Token values are never logged and never appear in exception messages, except for the
constant-looking first characters of an access token that Intuit itself echoes in
`Token expired: ...`.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

if TYPE_CHECKING:
    from qb_pipeline.sandbox.accounting.clock import EmulatorClock
    from qb_pipeline.sandbox.accounting.companies import Company, EmulatorBackend

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
PAYMENT_SCOPE = "com.intuit.quickbooks.payment"
# Scopes whose grants are tied to one company: the callback carries realmId only for these.
REALM_SCOPES = frozenset({ACCOUNTING_SCOPE, PAYMENT_SCOPE})
KNOWN_SCOPES = frozenset(
    {
        ACCOUNTING_SCOPE,
        PAYMENT_SCOPE,
        "openid",
        "profile",
        "email",
        "phone",
        "address",
        "com.intuit.quickbooks.payroll",
        "com.intuit.quickbooks.payroll.timetracking",
        "com.intuit.quickbooks.payroll.benefits",
        "com.intuit.quickbooks.payroll.payslip.read",
        "project-management.project",
        "app-foundations.custom-field-definitions",
        "app-foundations.custom-field-definitions.read",
        "payroll.compensation.read",
        "indirect-tax.tax-calculation.quickbooks",
        "intuit_name",
    }
)

INTUIT_ISSUER = "https://oauth.platform.intuit.com/op/v1"

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400  # 101 days, the value Intuit's own clients show
HARD_EXPIRY_SECONDS = 5 * 365 * 86_400  # 157680000: the 5-year cap from the original grant
SAME_TOKEN_WINDOW_SECONDS = 24 * 3600
CODE_SECONDS = 5 * 60
# How long a user may take between opening the authorize page and clicking Authorize.
AUTHORIZATION_REQUEST_SECONDS = 30 * 60

# Bearer tokens outside these lengths are rejected before any lookup, as Intuit does.
MIN_BEARER_LENGTH = 64
MAX_BEARER_LENGTH = 4096
# How many leading characters of an unusable access token `Token expired: ...` echoes.
# Ours start with a constant JWE header, so the echo reveals nothing secret.
TOKEN_ECHO_CHARS = 23

DEMO_CLIENT_ID = "qbp-demo-client"
DEMO_CLIENT_SECRET = "qbp-demo-secret"  # a published demo credential
DEMO_USER_EMAIL = "demo@example.com"
DEMO_USER_PASSWORD = "sandbox"  # a published demo credential

REFRESH_TOKEN_ERROR = "Incorrect or invalid refresh token"

_ALPHANUMERIC = string.ascii_letters + string.digits


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# base64url of {"enc":"A128CBC-HS256","alg":"dir"}: the header real access tokens start with.
_JWE_HEADER = _b64url(
    json.dumps({"enc": "A128CBC-HS256", "alg": "dir"}, separators=(",", ":")).encode()
)


def _new_access_token() -> str:
    """An opaque value shaped like Intuit's compact JWE (header..iv.ciphertext.tag), ~958 chars."""
    return ".".join(
        [
            _JWE_HEADER,
            "",
            secrets.token_urlsafe(16),
            secrets.token_urlsafe(648),
            secrets.token_urlsafe(16),
        ]
    )


def _new_ab11_value() -> str:
    """`AB11` + 46 random alphanumerics: the shape of Intuit refresh tokens and codes."""
    return "AB11" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(46))


def _seconds_left(until: datetime, now: datetime) -> int:
    # Rounded up so a token issued "now" reports the full lifetime despite clock jitter.
    return max(0, math.ceil((until - now).total_seconds()))


def split_scope(scope: str) -> tuple[str, ...]:
    """Space-separated scope string -> scopes in order, duplicates dropped."""
    return tuple(dict.fromkeys(scope.split()))


# -- errors ----------------------------------------------------------------------------


class OAuthError(Exception):
    """A token/revoke endpoint error: `{"error": ..., "error_description": ...}` with `status`."""

    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        if self.description:
            return {"error_description": self.description, "error": self.error}
        return {"error": self.error}


class AuthenticationError(Exception):
    """The bearer token cannot be used; `detail` is Intuit's wording for why.

    The /v3 layer answers 401 with fault code 3200 and this detail, as Intuit's gateway does.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthorizationError(Exception):
    """A live token used for a company (or an API) it was not granted.

    The /v3 layer answers 403 with code 3100 ApplicationAuthorizationFailed, Intuit's answer
    when an app calls a realm it is not authorized for (as Intuit answers such a call), rather than
    401/3201, which would tell clients to refresh a token that cannot help.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthorizePageError(Exception):
    """An authorize request that must not redirect (bad client or redirect_uri, lost request):
    the user sees an error page instead, as real OAuth servers do."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AuthorizeRedirectError(Exception):
    """An authorize request error that goes back to the client's redirect_uri."""

    def __init__(self, response: AuthorizationResponse) -> None:
        super().__init__(response.params.get("error", "error"))
        self.response = response


class FormError(Exception):
    """A user mistake on a sign-in or company page: shown on the same page again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessGrant:
    """What a valid access token allows: the /v3 layer and userinfo read this."""

    client_id: str
    realm_id: str
    scope: str
    expires_at: datetime
    user_sub: str = ""

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    # The demo app accepts any http loopback redirect (any port), so local web apps on
    # random ports can connect without registering each one.
    loopback_redirects: bool = False

    def accepts_redirect(self, uri: str) -> bool:
        return uri in self.redirect_uris or (self.loopback_redirects and is_loopback_http(uri))


def is_loopback_http(uri: str) -> bool:
    """`http://127.0.0.1[:port]/...` or `http://localhost[:port]/...`, without a fragment."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "localhost")
        and parts.username is None
        and not parts.fragment
    )


@dataclass
class User:
    email: str
    password: str
    given_name: str
    family_name: str
    sub: str
    # None means every company the emulator hosts (the demo user).
    realm_ids: frozenset[str] | None = None


@dataclass
class AuthorizationRequest:
    """One pass through the authorize pages, identified by a random transaction id that the
    pages carry in a hidden field (it never appears in a URL)."""

    id: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    expires_at: datetime
    user_sub: str | None = None


@dataclass(frozen=True)
class AuthorizationResponse:
    """Where the browser goes back to: redirect_uri plus the callback parameters, in order."""

    redirect_uri: str
    params: dict[str, str]

    def location(self) -> str:
        parts = urlsplit(self.redirect_uri)
        extra = urlencode(self.params)
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(query=query))


@dataclass
class _Code:
    value: str
    client_id: str
    redirect_uri: str
    realm_id: str
    scope: str
    user_sub: str
    issued_at: datetime
    expires_at: datetime
    used: bool = False
    grant_id: str | None = None  # set on first exchange, revoked on a second one


@dataclass
class _Grant:
    id: str
    client_id: str
    realm_id: str
    scope: str
    user_sub: str
    created_at: datetime
    hard_expires_at: datetime
    current_refresh: str = ""
    revoked: bool = False


@dataclass
class _RefreshToken:
    value: str
    grant_id: str
    issued_at: datetime
    expires_at: datetime
    stale_at: datetime | None = None


@dataclass
class _AccessToken:
    value: str
    grant_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass
class _SigningKey:
    """The RSA key that signs id_tokens (RS256, as the discovery document advertises)."""

    kid: str
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> _SigningKey:
        return cls(kid=secrets.token_hex(16), private_key=rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()

        def encode(number: int) -> str:
            return _b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))

        return {
            "kty": "RSA",
            "e": encode(numbers.e),
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
            "n": encode(numbers.n),
        }

    def sign(self, claims: dict) -> str:
        header = {"alg": "RS256", "kid": self.kid}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self.private_key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"


# -- the server ------------------------------------------------------------------------


class OAuthServer:
    """Apps, users, codes, grants and tokens of one emulator."""

    def __init__(
        self, backend: EmulatorBackend, clock: EmulatorClock, strict_rotation: bool = False
    ) -> None:
        self.backend = backend
        self.clock = clock
        # Settable at run time: every refresh issues a new refresh token, the old one dies.
        self.strict_rotation = strict_rotation
        self.same_token_window_seconds = SAME_TOKEN_WINDOW_SECONDS
        # How long a stale refresh token still works (answering with the current one).
        # 0 = rejected at once, the strict default, best for tests.
        self.stale_grace_seconds = 0
        self._offset = timedelta(0)
        self._lock = threading.RLock()
        self._apps: dict[str, OAuthApp] = {}
        self._users: dict[str, User] = {}
        self._requests: dict[str, AuthorizationRequest] = {}
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._access: dict[str, _AccessToken] = {}
        self._signing_key: _SigningKey | None = None
        self._apps[DEMO_CLIENT_ID] = OAuthApp(
            DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, [], loopback_redirects=True
        )
        self.add_user(DEMO_USER_EMAIL, DEMO_USER_PASSWORD, given_name="Demo", family_name="User")

    # -- time ----------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now() + self._offset

    def advance(self, seconds: int) -> None:
        """Move this server's time forward (token and code lifetimes), not the companies'."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    # -- registration --------------------------------------------------------------
    def register_app(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        """Add (or replace) an app; its redirect URIs must match exactly.

        ValueError for an empty client_id or secret, or a redirect URI that is not an
        absolute http(s) URL without a fragment."""
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret must not be empty")
        for uri in redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ValueError(f"redirect URI {uri!r} must be an absolute http(s) URL")
        with self._lock:
            loopback = client_id == DEMO_CLIENT_ID
            self._apps[client_id] = OAuthApp(
                client_id, client_secret, list(redirect_uris), loopback
            )

    def add_user(
        self,
        email: str,
        password: str,
        given_name: str = "",
        family_name: str = "",
        realm_ids: list[str] | None = None,
    ) -> User:
        """A user who can sign in; `realm_ids=None` gives access to every company."""
        user = User(
            email=email,
            password=password,
            given_name=given_name,
            family_name=family_name,
            # Stable per email, UUID-shaped like Intuit's `sub`.
            sub=str(uuid.uuid5(uuid.NAMESPACE_URL, f"qbo-emulator-user:{email.lower()}")),
            realm_ids=frozenset(realm_ids) if realm_ids is not None else None,
        )
        with self._lock:
            self._users[email.lower()] = user
        return user

    def authenticate_client(self, client_id: str, client_secret: str) -> OAuthApp:
        """The app, if the credentials are right; otherwise 401 invalid_client."""
        with self._lock:
            app = self._apps.get(client_id)
        if app is None or not hmac.compare_digest(
            app.client_secret.encode(), client_secret.encode()
        ):
            raise OAuthError("invalid_client", status=401)
        return app

    def companies_for(self, user_sub: str) -> list[Company]:
        """Companies the user may connect, in the backend's order."""
        user = self._user_by_sub(user_sub)
        companies = self.backend.list_companies()
        if user is None:
            return []
        if user.realm_ids is None:
            return companies
        return [c for c in companies if c.realm_id in user.realm_ids]

    def _user_by_sub(self, user_sub: str) -> User | None:
        with self._lock:
            return next((u for u in self._users.values() if u.sub == user_sub), None)

    # -- authorize (the browser side) ------------------------------------------------
    def begin_authorization(
        self,
        client_id: str | None,
        redirect_uri: str | None,
        response_type: str | None,
        scope: str | None,
        state: str | None,
    ) -> AuthorizationRequest:
        """Validate an authorize request and open a transaction for its sign-in pages."""
        if not client_id:
            raise AuthorizePageError("The request has no client_id.")
        with self._lock:
            app = self._apps.get(client_id)
        if app is None:
            raise AuthorizePageError(f"The app {client_id!r} is not registered with this emulator.")
        if not redirect_uri:
            raise AuthorizePageError("The request has no redirect_uri.")
        if not app.accepts_redirect(redirect_uri):
            raise AuthorizePageError(
                f"The redirect_uri {redirect_uri!r} is not registered for the app {client_id!r}."
            )

        def fail(error: str) -> AuthorizeRedirectError:
            params = {"error": error}
            if state is not None:
                params["state"] = state
            return AuthorizeRedirectError(AuthorizationResponse(redirect_uri, params))

        if not response_type:
            raise fail("invalid_request")
        if response_type != "code":
            raise fail("unsupported_response_type")
        scopes = split_scope(scope or "")
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            raise fail("invalid_scope")
        request = AuthorizationRequest(
            id=secrets.token_urlsafe(32),
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            state=state,
            expires_at=self.now() + timedelta(seconds=AUTHORIZATION_REQUEST_SECONDS),
        )
        with self._lock:
            self._prune_requests()
            self._requests[request.id] = request
        return request

    def authorization_request(self, request_id: str) -> AuthorizationRequest:
        """A pending request by transaction id, or an error page if it is unknown or too old."""
        with self._lock:
            request = self._requests.get(request_id)
            if request is None or self.now() >= request.expires_at:
                self._requests.pop(request_id, None)
                raise AuthorizePageError(
                    "This sign-in request has expired or was already used. "
                    "Start again from your app."
                )
            return request

    def sign_in(self, request_id: str, email: str, password: str) -> AuthorizationRequest:
        """Check the user's password and remember who is authorizing this request."""
        request = self.authorization_request(request_id)
        with self._lock:
            user = self._users.get(email.strip().lower())
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            raise FormError("The email or password you entered is incorrect.")
        with self._lock:
            request.user_sub = user.sub
        return request

    def approve(self, request_id: str, realm_id: str | None) -> AuthorizationResponse:
        """The user chose a company and clicked Authorize: issue a code and go back."""
        request = self._signed_in_request(request_id)
        allowed = {c.realm_id for c in self.companies_for(request.user_sub or "")}
        if not realm_id or realm_id not in allowed:
            raise FormError("Choose one of your companies to connect.")
        now = self.now()
        code = _Code(
            value=_new_ab11_value(),
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            realm_id=realm_id,
            scope=request.scope,
            user_sub=request.user_sub or "",
            issued_at=now,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
        with self._lock:
            self._codes[code.value] = code
            self._requests.pop(request_id, None)
        params = {"code": code.value}
        if request.state is not None:
            params["state"] = request.state
        if REALM_SCOPES & set(split_scope(request.scope)):
            params["realmId"] = realm_id
        return AuthorizationResponse(request.redirect_uri, params)

    def deny(self, request_id: str) -> AuthorizationResponse:
        """The user clicked Cancel: `error=access_denied` (plus state) goes back to the app."""
        request = self.authorization_request(request_id)
        with self._lock:
            self._requests.pop(request_id, None)
        params = {"error": "access_denied"}
        if request.state is not None:
            params["state"] = request.state
        return AuthorizationResponse(request.redirect_uri, params)

    def _signed_in_request(self, request_id: str) -> AuthorizationRequest:
        request = self.authorization_request(request_id)
        if request.user_sub is None:
            raise AuthorizePageError(
                "Sign in before choosing a company. Start again from your app."
            )
        return request

    def _prune_requests(self) -> None:
        now = self.now()
        for key in [k for k, r in self._requests.items() if now >= r.expires_at]:
            del self._requests[key]

    # -- token endpoint --------------------------------------------------------------
    def exchange_code(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        include_hard_expiry: bool = False,
        issuer: str = INTUIT_ISSUER,
    ) -> dict:
        """grant_type=authorization_code for an authenticated client."""
        with self._lock:
            record = self._codes.get(code)
            now = self.now()
            if record is None or record.client_id != client_id:
                raise OAuthError("invalid_grant")
            if record.used:
                # A replayed code poisons the grant issued from it (Intuit's documented rule).
                if record.grant_id is not None:
                    self._grants[record.grant_id].revoked = True
                raise OAuthError("invalid_grant")
            if now >= record.expires_at or record.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant")
            record.used = True
            grant = self._new_grant(client_id, record.realm_id, record.scope, record.user_sub, now)
            record.grant_id = grant.id
            return self._token_body(grant, now, include_hard_expiry, issuer, with_id_token=True)

    def refresh(
        self, client_id: str, refresh_token: str, include_hard_expiry: bool = False
    ) -> dict:
        """grant_type=refresh_token with Intuit's rotation rules."""
        with self._lock:
            now = self.now()
            record = self._refresh.get(refresh_token)
            grant = self._grants.get(record.grant_id) if record else None
            if record is None or grant is None or grant.client_id != client_id or grant.revoked:
                raise OAuthError("invalid_grant", REFRESH_TOKEN_ERROR)
            if record.stale_at is not None:
                in_grace = now < record.stale_at + timedelta(seconds=self.stale_grace_seconds)
                if self.strict_rotation or not in_grace:
                    raise OAuthError("invalid_grant", REFRESH_TOKEN_ERROR)
                record = self._refresh[grant.current_refresh]
            if now >= record.expires_at or now >= grant.hard_expires_at:
                raise OAuthError("invalid_grant", REFRESH_TOKEN_ERROR)
            window = timedelta(seconds=self.same_token_window_seconds)
            if self.strict_rotation or now - record.issued_at >= window:
                record.stale_at = now
                self._new_refresh_token(grant, now)
            return self._token_body(
                grant, now, include_hard_expiry, INTUIT_ISSUER, with_id_token=False
            )

    def issue_tokens(
        self,
        client_id: str,
        realm_id: str,
        scope: str = ACCOUNTING_SCOPE,
        include_hard_expiry: bool = False,
        issuer: str = INTUIT_ISSUER,
    ) -> dict:
        """Playground-style issuing for the demo user, without the browser pages: the exact
        token-endpoint body. Unknown client or scope -> ValueError; unknown realm -> the
        backend's EntityNotFound (a KeyError)."""
        with self._lock:
            if client_id not in self._apps:
                raise ValueError(f"{client_id!r} is not a registered app")
        self.backend.company(realm_id)
        scopes = split_scope(scope)
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if not scopes or unknown:
            raise ValueError(f"unknown scope {' '.join(unknown)!r}; known: {sorted(KNOWN_SCOPES)}")
        demo = self._users[DEMO_USER_EMAIL]
        with self._lock:
            now = self.now()
            grant = self._new_grant(client_id, realm_id, " ".join(scopes), demo.sub, now)
            return self._token_body(grant, now, include_hard_expiry, issuer, with_id_token=True)

    def _new_grant(
        self, client_id: str, realm_id: str, scope: str, user_sub: str, now: datetime
    ) -> _Grant:
        grant = _Grant(
            id=secrets.token_hex(16),
            client_id=client_id,
            realm_id=realm_id,
            scope=scope,
            user_sub=user_sub,
            created_at=now,
            hard_expires_at=now + timedelta(seconds=HARD_EXPIRY_SECONDS),
        )
        self._grants[grant.id] = grant
        self._new_refresh_token(grant, now)
        return grant

    def _new_refresh_token(self, grant: _Grant, now: datetime) -> _RefreshToken:
        # The rolling lifetime restarts with each new value but never passes the hard cap.
        expires_at = min(now + timedelta(seconds=REFRESH_TOKEN_SECONDS), grant.hard_expires_at)
        token = _RefreshToken(_new_ab11_value(), grant.id, issued_at=now, expires_at=expires_at)
        self._refresh[token.value] = token
        grant.current_refresh = token.value
        return token

    def _token_body(
        self,
        grant: _Grant,
        now: datetime,
        include_hard_expiry: bool,
        issuer: str,
        with_id_token: bool,
    ) -> dict:
        """A new access token for the grant and the token-endpoint JSON, Intuit's members."""
        access = _AccessToken(
            _new_access_token(),
            grant.id,
            issued_at=now,
            expires_at=now + timedelta(seconds=ACCESS_TOKEN_SECONDS),
        )
        self._access[access.value] = access
        refresh = self._refresh[grant.current_refresh]
        body: dict = {
            "token_type": "bearer",
            "access_token": access.value,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh.value,
            "x_refresh_token_expires_in": _seconds_left(refresh.expires_at, now),
        }
        if include_hard_expiry:
            body["x_refresh_token_hard_expires_in"] = _seconds_left(grant.hard_expires_at, now)
        if with_id_token and "openid" in grant.scope.split():
            body["id_token"] = self._id_token(grant, issuer)
        return body

    def _id_token(self, grant: _Grant, issuer: str) -> str:
        issued = int(time.time())  # wall clock: verifiers check exp/iat against their own
        claims: dict = {"sub": grant.user_sub, "aud": [grant.client_id]}
        if REALM_SCOPES & set(grant.scope.split()):
            claims["realmid"] = grant.realm_id
        claims.update(
            {
                "auth_time": issued,
                "iss": issuer,
                "exp": issued + ACCESS_TOKEN_SECONDS,
                "iat": issued,
            }
        )
        return self._key().sign(claims)

    def _key(self) -> _SigningKey:
        # Generated on first use: most emulators never issue an id_token.
        with self._lock:
            if self._signing_key is None:
                self._signing_key = _SigningKey.generate()
            return self._signing_key

    def jwks(self) -> dict:
        """The public key set id_tokens verify against."""
        return {"keys": [self._key().jwk()]}

    # -- revoke ----------------------------------------------------------------------
    def revoke(self, client_id: str, token: str) -> bool:
        """Revoke the whole grant behind a refresh or access token of this client.

        Unknown tokens are accepted silently (RFC 7009: nothing left to revoke); a token of
        another client is refused with invalid_request. Returns whether a grant was found.
        """
        with self._lock:
            grant_id = None
            if token in self._refresh:
                grant_id = self._refresh[token].grant_id
            elif token in self._access:
                grant_id = self._access[token].grant_id
            if grant_id is None:
                return False
            grant = self._grants[grant_id]
            if grant.client_id != client_id:
                raise OAuthError("invalid_request", "The token was not issued to this client")
            grant.revoked = True
            return True

    # -- bearer tokens ---------------------------------------------------------------
    def authenticate_bearer(self, bearer_token: str) -> AccessGrant:
        """The grant behind an access token, whatever company it is for."""
        token = bearer_token.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not MIN_BEARER_LENGTH <= len(token) <= MAX_BEARER_LENGTH:
            raise AuthenticationError("Malformed bearer token: too short or too long")
        with self._lock:
            record = self._access.get(token)
            # Intuit cannot tell a forged token from an expired one; neither can we.
            if record is None:
                raise AuthenticationError(f"Token expired: {token[:TOKEN_ECHO_CHARS]}")
            grant = self._grants[record.grant_id]
            if grant.revoked:
                raise AuthenticationError("Token revoked")
            if self.now() >= record.expires_at:
                raise AuthenticationError(f"Token expired: {token[:TOKEN_ECHO_CHARS]}")
            return AccessGrant(
                grant.client_id, grant.realm_id, grant.scope, record.expires_at, grant.user_sub
            )

    def authenticate(self, bearer_token: str, realm_id: str) -> AccessGrant:
        """For the /v3 data API: the token must be live, for this realm, with accounting scope."""
        grant = self.authenticate_bearer(bearer_token)
        if grant.realm_id != realm_id:
            raise AuthorizationError(f"The app is not authorized for company {realm_id}.")
        if ACCOUNTING_SCOPE not in grant.scopes:
            raise AuthorizationError(f"The token was not granted the {ACCOUNTING_SCOPE} scope.")
        return grant

    def userinfo(self, bearer_token: str) -> dict:
        """OpenID user claims; which ones depends on the granted scopes (email, profile)."""
        grant = self.authenticate_bearer(bearer_token)
        if "openid" not in grant.scopes:
            raise AuthorizationError("The token was not granted the openid scope.")
        user = self._user_by_sub(grant.user_sub)
        claims: dict = {"sub": grant.user_sub}
        if user is not None and "email" in grant.scopes:
            claims.update({"email": user.email, "emailVerified": True})
        if user is not None and "profile" in grant.scopes:
            claims.update({"givenName": user.given_name, "familyName": user.family_name})
        return claims

    # -- fault injection and inspection ----------------------------------------------
    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        """Make every live access token (of one realm, or all) expired now. Returns how many."""
        with self._lock:
            now = self.now()
            count = 0
            for token in self._access.values():
                grant = self._grants[token.grant_id]
                if (
                    realm_id not in (None, grant.realm_id)
                    or grant.revoked
                    or now >= token.expires_at
                ):
                    continue
                token.expires_at = now
                count += 1
            return count

    def revoke_refresh_tokens(self, realm_id: str | None = None) -> int:
        """Revoke every live grant (of one realm, or all), as a user disconnecting the app in
        QuickBooks would: refreshes fail with invalid_grant, access tokens with "Token revoked".
        Returns how many grants were revoked."""
        with self._lock:
            count = 0
            for grant in self._grants.values():
                if grant.revoked or realm_id not in (None, grant.realm_id):
                    continue
                grant.revoked = True
                count += 1
            return count

    def issued_tokens(self) -> list[dict]:
        """Every access and refresh token issued, in issue order, for leak scans in tests.

        status: access -> active | expired | revoked; refresh -> active | stale | expired | revoked.
        """
        with self._lock:
            now = self.now()
            rows = []
            for access in self._access.values():
                grant = self._grants[access.grant_id]
                if grant.revoked:
                    status = "revoked"
                else:
                    status = "expired" if now >= access.expires_at else "active"
                rows.append(_token_row("access", access.value, grant, access.issued_at, status))
            for refresh in self._refresh.values():
                grant = self._grants[refresh.grant_id]
                if grant.revoked:
                    status = "revoked"
                elif refresh.stale_at is not None:
                    status = "stale"
                else:
                    status = "expired" if now >= refresh.expires_at else "active"
                rows.append(_token_row("refresh", refresh.value, grant, refresh.issued_at, status))
            rows.sort(key=lambda row: row["issued_at"])
            return rows

    def issued_codes(self) -> list[dict]:
        """Every authorization code issued (also secrets worth scanning logs for)."""
        with self._lock:
            return [
                {
                    "value": c.value,
                    "client_id": c.client_id,
                    "realm_id": c.realm_id,
                    "issued_at": c.issued_at.isoformat(),
                    "used": c.used,
                }
                for c in self._codes.values()
            ]


def _token_row(kind: str, value: str, grant: _Grant, issued_at: datetime, status: str) -> dict:
    # issued_at as ISO-8601 text (emulator time, UTC) so the rows serialize as JSON unchanged.
    return {
        "kind": kind,
        "value": value,
        "client_id": grant.client_id,
        "realm_id": grant.realm_id,
        "issued_at": issued_at.isoformat(),
        "status": status,
    }
