"""QBP_WAREHOUSE_URL and the Postgres schema names: a bad URL is refused naming the variable
and never its password; each organization's schemas are its own, whatever the slugs."""

from __future__ import annotations

import itertools

import pytest

from qb_pipeline.config import ConfigError, load_settings
from qb_pipeline.warehouse.dialect import (
    POSTGRES_DLT_STAGING_LAYOUT,
    UnfitOrganizationName,
    postgres_schemas,
    qualified_sql,
)

BASE = {"QBO_ENVIRONMENT": "emulator", "QBO_EMULATOR_URL": "http://x"}


def test_unset_is_duckdb_and_a_postgres_url_is_kept():
    assert load_settings({**BASE, "QBP_WAREHOUSE_URL": ""}).warehouse_url is None
    url = "postgresql://loader:s3cret@db.internal:6432/warehouse"
    settings = load_settings({**BASE, "QBP_WAREHOUSE_URL": url})
    assert settings.warehouse_url == url
    assert settings.warehouse_url_shown == "postgresql://loader:***@db.internal:6432/warehouse"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("mysql://loader:s3cret@db/warehouse", "must start with postgresql://"),
        ("loader:s3cret@db/warehouse", "must start with postgresql://"),
        ("postgresql://loader:s3cret@db:99999/warehouse", "port"),
        ("postgresql://loader:s3cret@db/", "must name one database"),
        ("postgresql://loader:s3cret@/warehouse", "names no host"),
        ("postgresql://db/warehouse", "names no user"),
        ("postgresql://loader:s3@cret@db:x/warehouse", "port"),
    ],
)
def test_a_bad_url_names_the_variable_and_hides_the_password(value, problem):
    with pytest.raises(ConfigError) as raised:
        load_settings({**BASE, "QBP_WAREHOUSE_URL": value})
    message = str(raised.value)
    assert message.startswith("QBP_WAREHOUSE_URL ")
    assert problem in message
    assert "s3" not in message.replace("s3cret", "")  # no part of it either
    assert "cret" not in message


def test_each_organization_has_its_own_schemas_and_dlts_staging_is_none_of_them():
    slugs = [
        "acme", "acme-raw", "raw-acme", "qbo-acme", "acme-qbo", "marts", "a-b", "load-raw",
        "goals", "goals-acme", "acme-goals",
    ]  # fmt: skip
    names = []
    for slug in slugs:
        schemas = postgres_schemas(slug)
        names += [*schemas.values(), POSTGRES_DLT_STAGING_LAYOUT % schemas["qbo_raw"]]
    assert len(names) == len(set(names))
    assert postgres_schemas("east-coast") == {
        "qbo_raw": "raw_east_coast",
        "qbo": "qbo_east_coast",
        "marts": "marts_east_coast",
        "goals": "goals_east_coast",
    }


@pytest.mark.parametrize("slug", ["a--b", "acme-", "x" * 40 + "-"])
def test_slugs_dlt_would_rename_are_refused(slug):
    with pytest.raises(UnfitOrganizationName, match=repr(slug)):
        postgres_schemas(slug)


def test_the_longest_slug_fits_postgres_names():
    schemas = postgres_schemas("x" * 40)
    assert all(len(name) <= 63 for name in schemas.values())


def test_qualified_sql_moves_layer_references_only():
    sql = (
        "SELECT a.org_id, qbo.x FROM qbo_raw.account AS a JOIN qbo.accounts AS q ON q.id = a.id"
        " JOIN marts.pnl_monthly AS m ON m.qbo = a.marts"
    )
    schemas = postgres_schemas("acme")
    assert qualified_sql(sql, schemas) == (
        'SELECT a.org_id, "qbo_acme".x FROM "raw_acme".account AS a JOIN "qbo_acme".accounts AS q'
        ' ON q.id = a.id JOIN "marts_acme".pnl_monthly AS m ON m.qbo = a.marts'
    )
    assert qualified_sql(sql, {}) == sql


def test_prefixes_are_prefix_free():
    prefixes = ["raw_", "qbo_", "marts_", "goals_", POSTGRES_DLT_STAGING_LAYOUT.replace("%s", "")]
    for one, other in itertools.permutations(prefixes, 2):
        assert not other.startswith(one)
