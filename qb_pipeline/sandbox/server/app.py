"""The emulator's ASGI application: one origin serving every Intuit host's paths."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from qb_pipeline.sandbox.oauth import routes as oauth_routes
from qb_pipeline.sandbox.server import control as control_routes
from qb_pipeline.sandbox.server import data_api as api_routes
from qb_pipeline.sandbox.server.faults import EmulatorMiddleware
from qb_pipeline.sandbox.server.state import EmulatorState


def create_app(state: EmulatorState) -> Starlette:
    """Route table: OAuth and discovery, the control API, then the v3 data API."""
    routes = [
        *oauth_routes.routes(state),
        *control_routes.routes(state),
        *api_routes.routes(state),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(EmulatorMiddleware, state=state)])
    app.state.emulator = state
    return app
