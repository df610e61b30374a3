"""`qb-pipeline web`: serve the web app."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def web(host: str, port: int) -> None:
    """Serve the web app: sign-in and the Integrations area."""
    import logging

    import uvicorn

    from qb_pipeline.config import ConfigError, load_settings
    from qb_pipeline.web.app import create_app

    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=log_format)
    try:
        app = create_app(load_settings())
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"qb-goals web app on http://{host}:{port}")
    # uvicorn's access log prints query strings (the OAuth code); the app logs requests itself.
    uvicorn.run(app, host=host, port=port, access_log=False, proxy_headers=True)
