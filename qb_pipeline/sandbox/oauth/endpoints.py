"""OAuth 2.0 / OpenID Connect wire format: Intuit's paths, bodies, headers and pages.

One origin serves what Intuit spreads over several hosts (appcenter, oauth.platform,
developer.api, accounts.platform), so the discovery documents name the emulator's own
origin, taken from the request (scheme://host:port), for every endpoint and the issuer:
`<origin>/op/v1`, mirroring Intuit's issuer path.

Pages (server-rendered, no JavaScript): GET /connect/oauth2 shows sign-in; POST
/connect/oauth2/signin shows "Choose your company"; POST /connect/oauth2/authorize
redirects back to the app. The transaction id travels in a hidden form field only.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from urllib.parse import unquote_plus

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from qb_pipeline.sandbox.oauth.backend import (
    AuthenticationError,
    AuthorizationError,
    AuthorizationRequest,
    AuthorizePageError,
    AuthorizeRedirectError,
    FormError,
    OAuthError,
    OAuthServer,
    split_scope,
)
from qb_pipeline.sandbox.server import wire

JSON_UTF8 = "application/json;charset=utf-8"
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"
FORM_TYPE = "application/x-www-form-urlencoded"

SIGN_IN_PATH = "/connect/oauth2/signin"
DECIDE_PATH = "/connect/oauth2/authorize"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# What the consent page tells the user each scope allows.
SCOPE_LABELS = {
    "com.intuit.quickbooks.accounting": "Read and write your QuickBooks accounting data",
    "com.intuit.quickbooks.payment": "Process payments",
    "openid": "Confirm your identity",
    "profile": "See your name",
    "email": "See your email address",
    "phone": "See your phone number",
    "address": "See your address",
}


def tid_headers(**extra: str) -> dict[str, str]:
    """Every OAuth response carries its own `intuit_tid`, as Intuit's hosts send."""
    return {"intuit_tid": wire.new_tid(), **extra}


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """JSON with the exact content type Intuit's OAuth hosts send, and a fresh intuit_tid."""
    return Response(
        json.dumps(body),
        status_code=status,
        media_type=JSON_UTF8,
        headers=tid_headers(**(headers or {})),
    )


def token_response(body: dict) -> Response:
    # RFC 6749 5.1: token responses must not be cached.
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def oauth_error_response(error: OAuthError, basic_used: bool = False) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if error.status == 401 and basic_used:
        headers["WWW-Authenticate"] = 'Basic realm="Intuit"'
    return json_response(error.body(), status=error.status, headers=headers)


def origin_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


# -- client authentication -----------------------------------------------------------


def basic_credentials(header: str) -> tuple[str, str]:
    """client_id and client_secret from `Basic base64(id:secret)`, or invalid_client."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", status=401)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", status=401) from None
    client_id, sep, client_secret = decoded.partition(":")
    if not sep or not client_id:
        raise OAuthError("invalid_client", status=401)
    return client_id, client_secret


def authenticate_client(oauth: OAuthServer, request: Request, form: FormData | None) -> str:
    """The client id, authenticated by HTTP Basic if present, else by form fields."""
    header = request.headers.get("authorization")
    if header:
        client_id, client_secret = basic_credentials(header)
        try:
            return oauth.authenticate_client(client_id, client_secret).client_id
        except OAuthError:
            # RFC 6749 2.3.1 form-encodes both before base64; most clients (Intuit's, authlib)
            # do not, so the raw values are tried first.
            decoded = unquote_plus(client_id), unquote_plus(client_secret)
            if decoded == (client_id, client_secret):
                raise
            return oauth.authenticate_client(*decoded).client_id
    client_id = form.get("client_id") if form else None
    client_secret = form.get("client_secret") if form else None
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise OAuthError("invalid_client", status=401)
    return oauth.authenticate_client(client_id, client_secret).client_id


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value:
        raise OAuthError("invalid_request", f"Missing parameter: {name}")
    return value


def wants_hard_expiry(request: Request) -> bool:
    return request.headers.get(HARD_EXPIRY_HEADER, "").strip().lower() == "true"


# -- pages ---------------------------------------------------------------------------


def page(request: Request, name: str, context: dict, status: int = 200) -> Response:
    headers = tid_headers(**{"Cache-Control": "no-store"})
    return templates.TemplateResponse(request, name, context, status_code=status, headers=headers)


def error_page(request: Request, error: AuthorizePageError) -> Response:
    return page(request, "oauth/error.html", {"message": error.message}, status=error.status)


def sign_in_page(
    request: Request, auth: AuthorizationRequest, error: str | None = None, email: str = ""
) -> Response:
    context = {
        "txn": auth.id,
        "client_id": auth.client_id,
        "error": error,
        "email": email,
        "action": SIGN_IN_PATH,
    }
    return page(request, "oauth/sign_in.html", context)


def company_page(
    request: Request, oauth: OAuthServer, auth: AuthorizationRequest, error: str | None = None
) -> Response:
    companies = oauth.companies_for(auth.user_sub or "")
    permissions = [SCOPE_LABELS.get(s, s) for s in split_scope(auth.scope)]
    context = {
        "txn": auth.id,
        "client_id": auth.client_id,
        "companies": companies,
        "permissions": permissions,
        "error": error,
        "action": DECIDE_PATH,
    }
    return page(request, "oauth/choose_company.html", context)


def redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=302, headers=tid_headers())


async def read_form(request: Request) -> FormData:
    return await request.form()


class OAuthEndpoints:
    """Authorize pages, token, revoke, discovery, JWKS and userinfo over one OAuthServer.

    The paths they answer on are in the emulator's route table (server/routes.py)."""

    def __init__(self, oauth: OAuthServer) -> None:
        self.oauth = oauth

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        try:
            auth = self.oauth.begin_authorization(
                client_id=query.get("client_id"),
                redirect_uri=query.get("redirect_uri"),
                response_type=query.get("response_type"),
                scope=query.get("scope"),
                state=query.get("state"),
            )
        except AuthorizePageError as error:
            return error_page(request, error)
        except AuthorizeRedirectError as error:
            return redirect(error.response.location())
        return sign_in_page(request, auth)

    async def sign_in(self, request: Request) -> Response:
        form = await read_form(request)
        txn = str(form.get("txn") or "")
        email = str(form.get("email") or "")
        try:
            auth = self.oauth.authorization_request(txn)
            self.oauth.sign_in(txn, email, str(form.get("password") or ""))
        except AuthorizePageError as error:
            return error_page(request, error)
        except FormError as error:
            return sign_in_page(request, auth, error=error.message, email=email)
        return company_page(request, self.oauth, auth)

    async def decide(self, request: Request) -> Response:
        form = await read_form(request)
        txn = str(form.get("txn") or "")
        try:
            if form.get("action") == "cancel":
                return redirect(self.oauth.deny(txn).location())
            auth = self.oauth.authorization_request(txn)
            realm_id = form.get("realm_id")
            response = self.oauth.approve(txn, realm_id if isinstance(realm_id, str) else None)
        except AuthorizePageError as error:
            return error_page(request, error)
        except FormError as error:
            return company_page(request, self.oauth, auth, error=error.message)
        return redirect(response.location())

    async def token(self, request: Request) -> Response:
        basic_used = "authorization" in request.headers
        try:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != FORM_TYPE:
                raise OAuthError("invalid_request", f"Content-Type must be {FORM_TYPE}")
            form = await read_form(request)
            client_id = authenticate_client(self.oauth, request, form)
            grant_type = form_text(form, "grant_type")
            hard = wants_hard_expiry(request)
            if grant_type == "authorization_code":
                body = self.oauth.exchange_code(
                    client_id,
                    code=form_text(form, "code"),
                    redirect_uri=form_text(form, "redirect_uri"),
                    include_hard_expiry=hard,
                    issuer=f"{origin_of(request)}/op/v1",
                )
            elif grant_type == "refresh_token":
                body = self.oauth.refresh(
                    client_id, form_text(form, "refresh_token"), include_hard_expiry=hard
                )
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as error:
            return oauth_error_response(error, basic_used)
        return token_response(body)

    async def revoke(self, request: Request) -> Response:
        header = request.headers.get("authorization")
        try:
            if not header:
                raise OAuthError("invalid_client", status=401)
            client_id = authenticate_client(self.oauth, request, None)
            token_value = await revoke_token_param(request)
            self.oauth.revoke(client_id, token_value)
        except OAuthError as error:
            return oauth_error_response(error, basic_used=bool(header))
        return Response(status_code=200, headers=tid_headers())

    async def discovery(self, request: Request) -> Response:
        return json_response(discovery_document(origin_of(request)))

    async def jwks(self, request: Request) -> Response:
        return json_response(self.oauth.jwks())

    async def userinfo(self, request: Request) -> Response:
        try:
            claims = self.oauth.userinfo(request.headers.get("authorization", ""))
        except AuthenticationError as error:
            challenge = 'Bearer realm="Intuit", error="invalid_token"'
            body = {"error": "invalid_token", "error_description": error.detail}
            return json_response(body, status=401, headers={"WWW-Authenticate": challenge})
        except AuthorizationError as error:
            challenge = 'Bearer realm="Intuit", error="insufficient_scope"'
            body = {"error": "insufficient_scope", "error_description": error.detail}
            return json_response(body, status=403, headers={"WWW-Authenticate": challenge})
        return json_response(claims)


async def revoke_token_param(request: Request) -> str:
    """`token` from Intuit's JSON body, or from a form body (RFC 7009 clients)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == FORM_TYPE:
        return form_text(await read_form(request), "token")
    try:
        payload = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_request", 'The body must be JSON: {"token": ...}') from None
    value = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(value, str) or not value:
        raise OAuthError("invalid_request", "Missing parameter: token")
    return value


def discovery_document(origin: str) -> dict:
    """Intuit's OpenID configuration document with every URL on `origin`.

    Intuit's production and sandbox documents differ only in `userinfo_endpoint`'s host;
    here both hosts are this origin, so both paths serve this one document.
    """
    return {
        "issuer": f"{origin}/op/v1",
        "authorization_endpoint": f"{origin}/connect/oauth2",
        "token_endpoint": f"{origin}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{origin}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{origin}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{origin}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }
