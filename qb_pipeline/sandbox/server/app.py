"""The emulator's ASGI application: the route table behind the request middleware."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from qb_pipeline.sandbox.server.middleware import EmulatorMiddleware
from qb_pipeline.sandbox.server.routes import routes
from qb_pipeline.sandbox.server.state import EmulatorState


def create_app(state: EmulatorState) -> Starlette:
    """One origin serving every Intuit host's paths (routes.py), /v3 wrapped in the
    middleware that authenticates, limits and injects faults (middleware.py)."""
    app = Starlette(routes=routes(state), middleware=[Middleware(EmulatorMiddleware, state=state)])
    app.state.emulator = state
    return app
