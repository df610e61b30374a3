"""Intuit's OAuth 2.0 endpoints, through authlib: authorize URL, code exchange, refresh,
CompanyInfo and revoke.

Only the accounting scope is ever requested. Token values are returned in `TokenSet`,
whose repr hides them; exceptions raised here carry the OAuth error code and the HTTP
status, never a token or the client secret.

Every token endpoint answer is checked before authlib reads it (quickbooks/answers.py,
through authlib's compliance hooks), and CompanyInfo before its name is taken. An answer in
another shape raises UnexpectedIntuitAnswer, an IntuitUnavailable: like an unreachable
Intuit it stores nothing and changes no connection, and it is never read as a refused grant
(`invalid_grant` disconnects the customer; a broken answer must not). Its message names the
endpoint and the JSON path, never a value of the answer.
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

import httpx

from qb_pipeline.config import Settings
from qb_pipeline.connections.db import utcnow
from qb_pipeline.connections.errors import IntuitUnavailable
from qb_pipeline.quickbooks.answers import Where, company_info_answer, json_object, token_answer
from qb_pipeline.quickbooks.errors import UnexpectedAnswer

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
MINOR_VERSION = "75"
HTTP_TIMEOUT = httpx.Timeout(30.0)
TOKEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
    # Ask for the 5-year hard expiry as well as the rolling one (reference 1.4).
    "x-include-refresh-token-hard-expires-in": "true",
}


@cache
def _authlib() -> ModuleType:
    """authlib's httpx integration, imported at the first OAuth call rather than with this
    module: the Dagster code location imports the connections package for its sensors and
    never makes an OAuth call while loading, and authlib is 0.17 s of that load."""
    import authlib.deprecate  # noqa: F401 - installs authlib's own warning filter first

    with warnings.catch_warnings():
        # authlib 1.9 prefers the `httpx2` fork and warns when it falls back to `httpx`; the
        # project pins httpx, which that fallback supports.
        warnings.filterwarnings("ignore", message="The httpx module is deprecated")
        from authlib.integrations import httpx_client

    return httpx_client


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every call: building one reads the CA bundle (~30 ms). httpx's
    own builder, so SSL_CERT_FILE / SSL_CERT_DIR still apply."""
    return httpx.create_ssl_context()


class UnexpectedIntuitAnswer(UnexpectedAnswer, IntuitUnavailable):
    """An answer of the token endpoint (or of CompanyInfo while connecting) in a shape it
    must not have. An IntuitUnavailable, so the connect and refresh flows treat it as Intuit
    failing to answer: nothing stored, the connection as it was."""


@contextmanager
def _intuit_answer() -> Iterator[None]:
    """UnexpectedAnswer raised within, as the connection flows' UnexpectedIntuitAnswer."""
    try:
        yield
    except UnexpectedAnswer as error:
        raise UnexpectedIntuitAnswer(
            error.endpoint, error.problem, intuit_tid=error.intuit_tid, status=error.status or 200
        ) from None


def _tid(response: httpx.Response) -> str | None:
    return response.headers.get("intuit_tid") or response.headers.get("intuit-tid")


def _checked_token_answer(response: httpx.Response) -> httpx.Response:
    """authlib's compliance hook for token answers: their shape, before authlib reads them."""
    response.read()
    with _intuit_answer():
        where = Where(response.request.url.path, _tid(response))
        token_answer(response.status_code, response.content, where)
    return response


class TokenRejected(Exception):
    """The token endpoint refused the grant (`error` is the OAuth error code)."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


@dataclass(frozen=True, repr=False)
class TokenSet:
    """The token endpoint's answer, with lifetimes turned into absolute UTC times."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_expires_at={self.access_expires_at.isoformat()!r}, "
            f"refresh_expires_at={self.refresh_expires_at!r}, values=<hidden>)"
        )


def token_set(body: dict, received_at: datetime) -> TokenSet:
    """The tokens of a token endpoint answer (its shape checked by `_checked_token_answer`)."""
    received_at = received_at.replace(microsecond=0)  # stored at seconds precision
    hard = body.get("x_refresh_token_hard_expires_in")
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        access_expires_at=received_at + timedelta(seconds=body["expires_in"]),
        refresh_expires_at=received_at + timedelta(seconds=body["x_refresh_token_expires_in"]),
        refresh_hard_expires_at=received_at + timedelta(seconds=hard) if hard else None,
    )


class IntuitOAuth:
    """One Intuit app (client id and secret) on one environment's endpoints."""

    def __init__(self, settings: Settings) -> None:
        self._client_id = settings.client_id
        self._client_secret = settings.client_secret
        self.endpoints = settings.endpoints

    def __repr__(self) -> str:
        return f"IntuitOAuth(client_id={self._client_id!r}, token_url={self.endpoints.token_url!r})"

    def _client(
        self, redirect_uri: str | None = None, timeout: httpx.Timeout = HTTP_TIMEOUT
    ) -> OAuth2Client:
        client = _authlib().OAuth2Client(
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method="client_secret_basic",
            redirect_uri=redirect_uri,
            timeout=timeout,
            verify=_tls(),
        )
        client.register_compliance_hook("access_token_response", _checked_token_answer)
        client.register_compliance_hook("refresh_token_response", _checked_token_answer)
        return client

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.endpoints.authorize_url, state=state, scope=ACCOUNTING_SCOPE
            )
        return url

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        with self._client(redirect_uri) as client:
            body = self._token_call(
                lambda: client.fetch_token(
                    self.endpoints.token_url,
                    grant_type="authorization_code",
                    code=code,
                    redirect_uri=redirect_uri,
                    headers=TOKEN_HEADERS,
                )
            )
        return token_set(body, utcnow())

    def refresh(self, refresh_token: str, timeout: httpx.Timeout = HTTP_TIMEOUT) -> TokenSet:
        with self._client(timeout=timeout) as client:
            body = self._token_call(
                lambda: client.refresh_token(
                    self.endpoints.token_url, refresh_token=refresh_token, headers=TOKEN_HEADERS
                )
            )
        return token_set(body, utcnow())

    @staticmethod
    def _token_call(call) -> dict:  # noqa: ANN001 - a zero-argument callable
        try:
            return dict(call())
        except _authlib().OAuthError as error:
            raise TokenRejected(error.error, error.description) from None
        except httpx.HTTPStatusError as error:
            raise IntuitUnavailable(
                f"the QuickBooks token endpoint answered HTTP {error.response.status_code}"
            ) from None
        except httpx.HTTPError as error:
            raise IntuitUnavailable(
                f"the QuickBooks token endpoint could not be reached ({type(error).__name__})"
            ) from None
        except ValueError:
            raise IntuitUnavailable("the QuickBooks token endpoint answered without JSON") from None

    def company_name(self, access_token: str, realm_id: str) -> str:
        """CompanyInfo.CompanyName of the realm (a read-only GET)."""
        url = f"{self.endpoints.api_base}/v3/company/{realm_id}/companyinfo/{realm_id}"
        try:
            response = httpx.get(
                url,
                params={"minorversion": MINOR_VERSION},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
                verify=_tls(),
            )
        except httpx.HTTPError as error:
            raise IntuitUnavailable(
                f"QuickBooks CompanyInfo could not be read ({type(error).__name__})"
            ) from None
        if response.status_code != 200:
            raise IntuitUnavailable(
                f"QuickBooks CompanyInfo answered HTTP {response.status_code} "
                f"for company {realm_id}"
            )
        with _intuit_answer():
            where = Where(response.request.url.path, _tid(response))
            info = company_info_answer(json_object(response.content, where), where)
        return info["CompanyName"] or str(info.get("LegalName") or f"Company {realm_id}")

    def revoke(self, token: str) -> None:
        """Revoke the grant behind `token` (Intuit's JSON body, HTTP Basic client auth).

        Raises IntuitUnavailable (message without the token) when Intuit does not confirm.
        """
        try:
            response = httpx.post(
                self.endpoints.revoke_url,
                json={"token": token},
                auth=httpx.BasicAuth(self._client_id, self._client_secret),
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
                verify=_tls(),
            )
        except httpx.HTTPError as error:
            raise IntuitUnavailable(
                f"the QuickBooks revoke endpoint could not be reached ({type(error).__name__})"
            ) from None
        if response.status_code != 200:
            raise IntuitUnavailable(
                f"the QuickBooks revoke endpoint answered HTTP {response.status_code}"
            )
