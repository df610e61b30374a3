"""The emulator's route table: every path it answers, and which handler answers it.

One origin serves what Intuit spreads over several hosts (appcenter, oauth.platform,
developer.api, accounts.platform, quickbooks.api), so one base URL replaces all of them.
In order: OAuth and OpenID Connect, the control API under `/_emulator/` (not part of
Intuit's surface), then the v3 data API, whose requests pass through the middleware
(auth, limits, faults) before `DataApi.dispatch` sees them.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from qb_pipeline.sandbox.oauth.endpoints import DECIDE_PATH, SIGN_IN_PATH, OAuthEndpoints
from qb_pipeline.sandbox.server.control import ControlApi, guarded
from qb_pipeline.sandbox.server.data_api import DataApi
from qb_pipeline.sandbox.server.state import EmulatorState

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def oauth_routes(state: EmulatorState) -> list[BaseRoute]:
    """Authorize pages, token, revoke, discovery, JWKS and userinfo."""
    oauth = OAuthEndpoints(state.oauth)
    discovery = oauth.discovery
    return [
        Route("/connect/oauth2", oauth.authorize, methods=["GET"]),
        Route(SIGN_IN_PATH, oauth.sign_in, methods=["POST"]),
        Route(DECIDE_PATH, oauth.decide, methods=["POST"]),
        Route("/oauth2/v1/tokens/bearer", oauth.token, methods=["POST"]),
        Route("/v2/oauth2/tokens/revoke", oauth.revoke, methods=["POST"]),
        Route("/.well-known/openid_configuration", discovery, methods=["GET"]),
        Route("/.well-known/openid_configuration/", discovery, methods=["GET"]),
        Route("/.well-known/openid_sandbox_configuration", discovery, methods=["GET"]),
        Route("/.well-known/openid_sandbox_configuration/", discovery, methods=["GET"]),
        Route("/op/v1/jwks", oauth.jwks, methods=["GET"]),
        Route("/v1/openid_connect/userinfo", oauth.userinfo, methods=["GET"]),
    ]


def control_routes(state: EmulatorState) -> list[BaseRoute]:
    """The control API (control.py documents each route's body and answer)."""
    api = ControlApi(state)
    company = "/_emulator/companies/{realm_id}"
    table = [
        ("POST", "/_emulator/apps", api.register_app),
        ("GET", "/_emulator/companies", api.list_companies),
        ("POST", "/_emulator/tokens", api.issue_tokens),
        ("GET", "/_emulator/tokens", api.list_tokens),
        ("GET", "/_emulator/requests", api.list_requests),
        ("DELETE", "/_emulator/requests", api.clear_requests),
        ("GET", "/_emulator/faults", api.list_faults),
        ("POST", "/_emulator/faults", api.add_fault),
        ("DELETE", "/_emulator/faults", api.clear_faults),
        ("GET", "/_emulator/limits", api.get_limits),
        ("PUT", "/_emulator/limits", api.set_limits),
        ("POST", company + "/clock", api.advance_clock),
        ("POST", company + "/activity", api.simulate_activity),
        ("POST", company + "/entities/{entity}", api.create_entity),
        ("PATCH", company + "/entities/{entity}/{record_id}", api.update_entity),
        ("DELETE", company + "/entities/{entity}/{record_id}", api.delete_entity),
        ("POST", "/_emulator/oauth/expire-access-tokens", api.expire_access_tokens),
        ("POST", "/_emulator/oauth/revoke-refresh-tokens", api.revoke_refresh_tokens),
        ("PUT", "/_emulator/oauth/rotation", api.set_rotation),
    ]
    return [Route(path, guarded(handler), methods=[method]) for method, path, handler in table]


def data_api_routes(state: EmulatorState) -> list[BaseRoute]:
    """Everything under /v3: one dispatcher, which answers unknown resources itself with
    QuickBooks' own faults rather than a router's 404/405."""
    return [Route("/v3/{rest:path}", DataApi(state).dispatch, methods=ALL_METHODS)]


def routes(state: EmulatorState) -> list[BaseRoute]:
    return [*oauth_routes(state), *control_routes(state), *data_api_routes(state)]
