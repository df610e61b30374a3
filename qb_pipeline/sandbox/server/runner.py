"""Run the emulator with uvicorn, in the foreground (CLI) or in a thread (tests, demo)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import uvicorn

from qb_pipeline.sandbox.server.app import create_app
from qb_pipeline.sandbox.server.state import EmulatorSettings, EmulatorState, build_state


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago on `host` (loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class RunningEmulator:
    """An emulator serving on loopback in a background thread."""

    url: str
    state: EmulatorState
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _config(state: EmulatorState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # The real API allows 10 concurrent requests per realm; leave room for more clients.
        limit_concurrency=None,
    )


def start_in_thread(
    settings: EmulatorSettings, host: str = "127.0.0.1", port: int | None = None
) -> RunningEmulator:
    """Start an emulator and return once it accepts connections."""
    state = build_state(settings)
    port = port or free_port(host)
    server = uvicorn.Server(_config(state, host, port))
    thread = threading.Thread(target=server.run, name=f"emulator:{port}", daemon=True)
    thread.start()
    started = threading.Event()

    def wait_started() -> None:
        while not server.started and thread.is_alive():
            started.wait(0.01)

    wait_started()
    if not server.started:
        raise RuntimeError(f"emulator failed to start on {host}:{port}")
    return RunningEmulator(url=f"http://{host}:{port}", state=state, server=server, thread=thread)


def serve_forever(settings: EmulatorSettings, host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    state = build_state(settings)
    uvicorn.Server(_config(state, host, port)).run()
