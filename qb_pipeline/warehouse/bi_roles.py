"""BI credentials on a Postgres warehouse: one login role per organization that reads that
organization's marts and nothing else.

On DuckDB the serving copy is the credential (a file holding one organization's rows). On
Postgres all organizations share a database, so each one's BI users get a role of their own,
`qbp_bi_<org>`, with USAGE on the schema `marts_<org>` and SELECT on its views (and, through
default privileges, on views created there later), its search_path set to that schema. The
views read the organization's staging and raw schemas with their owner's rights, so the role
needs (and has) no right on those. PUBLIC's default rights that would let any role do more
than read its grants are revoked: CONNECT and TEMP on the database (each BI role is granted
CONNECT) and CREATE on the public schema (already so on Postgres 15).

The password is given or generated, and sent to the server only as a SCRAM-SHA-256
verifier computed here (libpq's PQencryptPasswordConn), so it never appears in the server's
statement log either.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from qb_pipeline.config import org_slug_checked
from qb_pipeline.warehouse.dialect import postgres_schemas
from qb_pipeline.warehouse.postgres import connect

ROLE_PREFIX = "qbp_bi_"
PASSWORD_BYTES = 24  # token_urlsafe: 32 characters


@dataclass(frozen=True)
class BiRole:
    """What an organization's BI users connect with; `password` is shown once."""

    role: str
    password: str
    schema: str
    host: str
    port: int
    database: str

    def __repr__(self) -> str:  # never the password
        return f"BiRole(role={self.role!r}, schema={self.schema!r}, database={self.database!r})"


def bi_role_name(org_id: str) -> str:
    """`qbp_bi_<org>`, '-' as '_' (roles are global to the Postgres cluster)."""
    return ROLE_PREFIX + org_slug_checked(org_id).replace("-", "_")


def grant_bi_role(warehouse_url: str, org_id: str, password: str | None = None) -> BiRole:
    """Create `org_id`'s BI role (or give the existing one a new password) with read access
    to its marts schema only; the password is `password` or a generated one. The URL's user
    needs CREATEROLE and must own the warehouse's schemas (it is the one the syncs use)."""
    role = bi_role_name(org_id)
    marts = postgres_schemas(org_id)["marts"]
    password = password or secrets.token_urlsafe(PASSWORD_BYTES)
    parts = urlsplit(warehouse_url)
    database = parts.path.strip("/")
    connection = connect(warehouse_url)
    try:
        cursor = connection.cursor()
        verifier = encrypt_password(password, role, connection, "scram-sha-256")
        cursor.execute("BEGIN")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        names = {
            "role": sql.Identifier(role),
            "schema": sql.Identifier(marts),
            "database": sql.Identifier(database),
        }
        statements = [
            # Read only: no superuser, no role or database creation, no replication.
            (
                verb + " ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                " PASSWORD %s",
                [verifier],
            ),
            ("REVOKE ALL ON DATABASE {database} FROM PUBLIC", None),
            ("REVOKE CREATE ON SCHEMA public FROM PUBLIC", None),
            ("GRANT CONNECT ON DATABASE {database} TO {role}", None),
            # Before the first sync too, so the grants hold from the start.
            ("CREATE SCHEMA IF NOT EXISTS {schema}", None),
            ("GRANT USAGE ON SCHEMA {schema} TO {role}", None),
            ("GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}", None),
            # Marts created later by this user (the syncs' user) are readable at once.
            ("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}", None),
            ("ALTER ROLE {role} SET search_path = {schema}", None),
        ]
        for text, params in statements:
            cursor.execute(sql.SQL(text).format(**names), params)
        cursor.execute("COMMIT")
    except BaseException:
        # Nothing half-granted stays: the statements ran in one transaction.
        with contextlib.suppress(psycopg2.Error):
            connection.cursor().execute("ROLLBACK")
        raise
    finally:
        connection.close()
    return BiRole(
        role=role,
        password=password,
        schema=marts,
        host=parts.hostname or "",
        port=parts.port or 5432,
        database=database,
    )
