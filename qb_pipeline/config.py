"""Configuration from the environment (a `.env` file is fine locally).

Every Intuit URL comes from here, so the same code talks to production, Intuit's sandbox
or the bundled emulator by configuration alone. See the table in the README.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ENVIRONMENTS = ("production", "sandbox", "emulator")

# Where the Dagster webserver answers GraphQL (`dagster dev` listens on port 3000); goal
# changes and "Sync now" submit their runs there. `off`: submit nothing and let the sensors
# (run by the daemon) pick the changes up from the control DB's event log.
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
DAGSTER_URL_OFF = "off"

# The emulator's pre-registered OAuth app; only ever used with QBO_ENVIRONMENT=emulator.
DEMO_CLIENT_ID = "qbp-demo-client"
DEMO_CLIENT_SECRET = "qbp-demo-secret"  # a public demo credential of the emulator


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


# Organization slugs (connections/orgs.py) are a-z, 0-9 and '-': safe as file names, and
# checked again here because they become paths.
_ORG_SLUG = re.compile(r"[a-z0-9-]{1,64}")


def org_slug_checked(org_id: str) -> str:
    """`org_id` if it is an organization slug; ValueError naming it otherwise."""
    if not _ORG_SLUG.fullmatch(org_id or ""):
        raise ValueError(f"organization slug {org_id!r} must use a-z, 0-9 and '-' only")
    return org_id


@dataclass(frozen=True)
class IntuitEndpoints:
    """Where each Intuit service lives for one environment."""

    authorize_url: str
    token_url: str
    revoke_url: str
    api_base: str  # up to, not including, /v3/company/{realmId}
    userinfo_url: str
    discovery_url: str


def intuit_endpoints(environment: str, emulator_url: str | None = None) -> IntuitEndpoints:
    """The endpoints of `environment` (reference section 0); emulator: one origin for all."""
    if environment == "production":
        return IntuitEndpoints(
            authorize_url="https://appcenter.intuit.com/connect/oauth2",
            token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
            revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
            api_base="https://quickbooks.api.intuit.com",
            userinfo_url="https://accounts.platform.intuit.com/v1/openid_connect/userinfo",
            discovery_url="https://developer.api.intuit.com/.well-known/openid_configuration",
        )
    if environment == "sandbox":
        return IntuitEndpoints(
            authorize_url="https://appcenter.intuit.com/connect/oauth2",
            token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
            revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
            api_base="https://sandbox-quickbooks.api.intuit.com",
            userinfo_url="https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo",
            discovery_url="https://developer.api.intuit.com/.well-known/openid_sandbox_configuration",
        )
    if environment == "emulator":
        if not emulator_url:
            raise ConfigError("QBO_EMULATOR_URL must be set when QBO_ENVIRONMENT=emulator")
        base = emulator_url.rstrip("/")
        return IntuitEndpoints(
            authorize_url=f"{base}/connect/oauth2",
            token_url=f"{base}/oauth2/v1/tokens/bearer",
            revoke_url=f"{base}/v2/oauth2/tokens/revoke",
            api_base=base,
            userinfo_url=f"{base}/v1/openid_connect/userinfo",
            discovery_url=f"{base}/.well-known/openid_sandbox_configuration",
        )
    raise ConfigError(
        f"QBO_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
    )


@dataclass(frozen=True)
class SmtpSettings:
    """Where alert emails go out (QBP_SMTP_*); the password never shows in a repr."""

    host: str
    port: int = 25
    sender: str = "qb-goals@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False


@dataclass(frozen=True)
class Settings:
    home: Path
    secret_key: str | None
    client_id: str
    client_secret: str
    environment: str
    emulator_url: str | None
    redirect_uri: str | None
    dagster_url: str | None = DEFAULT_DAGSTER_URL  # None: no direct run submission
    # QBP_DATABASE_URL: None is the SQLite file under QBP_HOME; else a sqlite:/// path or a
    # postgresql:// URL (which may hold a password: never printed, see __repr__).
    database_url: str | None = None
    # QBP_WAREHOUSE_URL: None = one DuckDB file per organization under QBP_HOME; else a
    # postgresql:// URL (it holds a password: never log it, show `warehouse_url_shown`).
    warehouse_url: str | None = None
    # QBP_DAGSTER_PG_URL: None = Dagster's storage is SQLite under QBP_HOME/dagster; else a
    # postgresql+psycopg2:// URL that the instance's dagster.yaml reads from the environment
    # (it holds a password: never written to dagster.yaml, never logged).
    dagster_pg_url: str | None = None
    # QBP_SMTP_*: None = no mail server; email alerts are then recorded as failed, saying so.
    smtp: SmtpSettings | None = None

    @property
    def warehouse_on_postgres(self) -> bool:
        return self.warehouse_url is not None

    @property
    def warehouse_url_shown(self) -> str:
        """Where the warehouse is, fit for logs and messages (no password)."""
        return redacted_url(self.warehouse_url) if self.warehouse_url else str(self.home / "orgs")

    @property
    def endpoints(self) -> IntuitEndpoints:
        return intuit_endpoints(self.environment, self.emulator_url)

    @property
    def control_db_path(self) -> Path:
        """The SQLite control DB's file (QBP_DATABASE_URL's path when it names one)."""
        if self.database_url is not None and self.database_url.startswith(SQLITE_PREFIX):
            return Path(self.database_url.removeprefix(SQLITE_PREFIX)).resolve()
        return self.home / "control.sqlite3"

    @property
    def postgres_database_url(self) -> str | None:
        """QBP_DATABASE_URL when it names a Postgres database, else None."""
        if self.database_url is not None and not self.database_url.startswith(SQLITE_PREFIX):
            return self.database_url
        return None

    # One warehouse file per organization (docs/decisions.md, "One DuckDB file per
    # organization"): DuckDB allows one writing process per file, so organizations' syncs run
    # in parallel only when each writes its own file; and a file that holds one organization's
    # rows is a serving copy its BI users can have without seeing anyone else's.

    def org_dir(self, org_id: str) -> Path:
        """The folder of `org_id`'s warehouse and dlt state."""
        return self.home / "orgs" / org_slug_checked(org_id)

    def warehouse_path(self, org_id: str) -> Path:
        """The DuckDB file `org_id`'s syncs write (nobody else reads it)."""
        return self.org_dir(org_id) / "warehouse.duckdb"

    def serving_path(self, org_id: str) -> Path:
        """`org_id`'s serving copy: the read-only file its BI users and the app read."""
        return self.serving_dir / f"{org_slug_checked(org_id)}.duckdb"

    def dlt_dir(self, org_id: str) -> Path:
        """Where dlt keeps `org_id`'s pipelines' state, beside the file it loads into."""
        return self.org_dir(org_id) / "dlt"

    @property
    def serving_dir(self) -> Path:
        return self.home / "serving"

    @property
    def catalog_path(self) -> Path:
        """The operator's cross-organization catalog: a DuckDB init script that attaches
        every organization's serving copy read-only (warehouse/catalog.py)."""
        return self.home / "catalog.sql"

    def __repr__(self) -> str:
        # Never print secrets, even by accident in a traceback or a log line.
        return (
            f"Settings(home={str(self.home)!r}, environment={self.environment!r}, "
            f"client_id={self.client_id!r}, emulator_url={self.emulator_url!r})"
        )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: os.environ), applying the documented defaults."""
    env = dict(os.environ if env is None else env)
    environment = env.get("QBO_ENVIRONMENT", "emulator")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"QBO_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
        )
    client_id = env.get("QBO_CLIENT_ID") or (DEMO_CLIENT_ID if environment == "emulator" else "")
    client_secret = env.get("QBO_CLIENT_SECRET") or (
        DEMO_CLIENT_SECRET if environment == "emulator" else ""
    )
    if not client_id or not client_secret:
        raise ConfigError(
            f"QBO_CLIENT_ID and QBO_CLIENT_SECRET must be set when QBO_ENVIRONMENT={environment}"
        )
    return Settings(
        home=Path(env.get("QBP_HOME", ".qbp")).resolve(),
        secret_key=env.get("QBP_SECRET_KEY") or None,
        client_id=client_id,
        client_secret=client_secret,
        environment=environment,
        emulator_url=env.get("QBO_EMULATOR_URL") or None,
        redirect_uri=env.get("QBO_REDIRECT_URI") or None,
        dagster_url=_dagster_url(env.get("QBP_DAGSTER_URL")),
        database_url=database_url(env.get("QBP_DATABASE_URL")),
        warehouse_url=warehouse_url(env.get("QBP_WAREHOUSE_URL")),
        dagster_pg_url=dagster_pg_url(env.get(DAGSTER_PG_URL_VARIABLE)),
        smtp=smtp_settings(env),
    )


def smtp_settings(env: dict[str, str]) -> SmtpSettings | None:
    """QBP_SMTP_HOST, _PORT, _FROM, _USER, _PASSWORD, _STARTTLS checked; None without a host."""
    host = (env.get("QBP_SMTP_HOST") or "").strip()
    if not host:
        return None
    port_text = (env.get("QBP_SMTP_PORT") or "25").strip()
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"QBP_SMTP_PORT must be a port number from 1 to 65535, not {port_text!r}")
    sender = (env.get("QBP_SMTP_FROM") or f"qb-goals@{host}").strip()
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", sender):
        raise ConfigError(f"QBP_SMTP_FROM must be an email address, not {sender!r}")
    starttls = (env.get("QBP_SMTP_STARTTLS") or "false").strip().lower()
    if starttls not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"QBP_SMTP_STARTTLS must be true or false, not {starttls!r}")
    user = (env.get("QBP_SMTP_USER") or "").strip() or None
    password = env.get("QBP_SMTP_PASSWORD") or None
    if password and not user:
        raise ConfigError("QBP_SMTP_PASSWORD is set but QBP_SMTP_USER is not")
    return SmtpSettings(
        host=host,
        port=int(port_text),
        sender=sender,
        user=user,
        password=password,
        starttls=starttls in ("true", "1", "yes"),
    )


def _dagster_url(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return DEFAULT_DAGSTER_URL
    if text.lower() == DAGSTER_URL_OFF:
        return None
    if not text.startswith(("http://", "https://")):
        raise ConfigError(
            f"QBP_DAGSTER_URL must be the Dagster webserver's http(s) URL or 'off', not {text!r}"
        )
    return text.rstrip("/")


# Postgres URLs as libpq reads them: postgresql://user:password@host:port/database.
POSTGRES_SCHEMES = ("postgresql", "postgres")
# A SQLite control DB by URL, SQLAlchemy's spelling: sqlite:///relative or sqlite:////absolute.
SQLITE_PREFIX = "sqlite:///"

# user:password@ in a URL, up to the last '@' before the host (a password may hold an '@').
_CREDENTIALS = re.compile(r"([^:/@\s]*):[^/\s]*@")


def redacted_url(url: str) -> str:
    """`url` with its password (if any) replaced by `***`, for messages and logs; also for a
    value that is not a well-formed URL."""
    return _CREDENTIALS.sub(r"\1:***@", url)


def postgres_url_problem(text: str) -> str | None:
    """What is wrong with `text` as a Postgres URL naming one database, or None."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError when not a number in range
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    database = parts.path.strip("/")
    if parts.scheme not in POSTGRES_SCHEMES:
        return "must start with postgresql://"
    if not parts.hostname:
        return "names no host"
    if not database or "/" in database:
        return "must name one database (postgresql://user:password@host:port/database)"
    if not parts.username:
        return "names no user"
    return None


def database_url(value: str | None) -> str | None:
    """QBP_DATABASE_URL checked: None (unset or empty: the SQLite file under QBP_HOME), a
    sqlite:///path, or a Postgres URL. The error shows the value with its password hidden."""
    text = (value or "").strip()
    if not text:
        return None
    if text.startswith(SQLITE_PREFIX) and len(text) > len(SQLITE_PREFIX):
        return text
    problem = postgres_url_problem(text)
    if problem is not None:
        raise ConfigError(
            f"QBP_DATABASE_URL {problem} (or sqlite:///path; unset for the SQLite file under"
            f" QBP_HOME): {redacted_url(text)}"
        )
    return text


def warehouse_url(value: str | None) -> str | None:
    """QBP_WAREHOUSE_URL checked: None (unset or empty: DuckDB files under QBP_HOME) or a
    postgresql://user:password@host[:port]/database URL. The error shows the value with its
    password hidden."""
    text = (value or "").strip()
    if not text:
        return None
    problem = postgres_url_problem(text)
    if problem is not None:
        raise ConfigError(
            f"QBP_WAREHOUSE_URL {problem} (unset it for DuckDB files under QBP_HOME):"
            f" {redacted_url(text)}"
        )
    return text


# The Dagster instance's Postgres storage (dagster-postgres); dagster.yaml names the variable,
# never its value (defs/instance.py). Dagster hands the URL to SQLAlchemy as it is, and
# SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which is not installed (dagster-postgres
# brings psycopg2): so the URL names its driver.
DAGSTER_PG_URL_VARIABLE = "QBP_DAGSTER_PG_URL"
DAGSTER_PG_SCHEME = "postgresql+psycopg2"


def dagster_pg_url(value: str | None) -> str | None:
    """QBP_DAGSTER_PG_URL checked: None (unset or empty: SQLite under QBP_HOME/dagster) or a
    postgresql+psycopg2://user:password@host[:port]/database URL. The error hides the
    password."""
    text = (value or "").strip()
    if not text:
        return None
    scheme, _, rest = text.partition("://")
    if scheme in POSTGRES_SCHEMES:
        problem = f"must name the psycopg2 driver: {DAGSTER_PG_SCHEME}://{rest and '...'}"
    elif scheme != DAGSTER_PG_SCHEME:
        problem = f"must start with {DAGSTER_PG_SCHEME}://"
    else:
        problem = postgres_url_problem(f"postgresql://{rest}")
    if problem is not None:
        raise ConfigError(
            f"{DAGSTER_PG_URL_VARIABLE} {problem} (unset it for SQLite under"
            f" QBP_HOME/dagster): {redacted_url(text)}"
        )
    return text
