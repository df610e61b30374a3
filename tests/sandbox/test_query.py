"""The QBO query language, exercised on a hand-built company (no HTTP)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qb_pipeline.sandbox.accounting.clock import EmulatorClock
from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.entities import QUERYABLE_ENTITIES
from qb_pipeline.sandbox.accounting.query import QueryError, execute_query, parse_query

LA = ZoneInfo("America/Los_Angeles")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=LA)


def new_company() -> Company:
    return Company(
        realm_id="9130000000000001",
        name="Query Test Co",
        fiscal_year_start_month=1,
        home_currency="USD",
        timezone="America/Los_Angeles",
        clock=EmulatorClock(date(2026, 11, 15)),
    )


def account(name: str, active: bool = True, **extra: object) -> dict:
    return {
        "Name": name,
        "FullyQualifiedName": name,
        "Active": active,
        "Classification": "Asset",
        "AccountType": "Bank",
        "AccountSubType": "Checking",
        **extra,
    }


@pytest.fixture
def company() -> Company:
    c = new_company()
    # Ids 1..6; LastUpdatedTime one day apart starting T0.
    c.add("Account", account("Checking"), at=T0)
    c.add("Account", account("Savings"), at=T0 + timedelta(days=1))
    c.add("Account", account("Old Bank (deleted)", active=False), at=T0 + timedelta(days=2))
    c.add("Account", account("Amy's Fund", AcctNum="1010"), at=T0 + timedelta(days=3))
    c.add(
        "Account",
        account("Petty_Cash", SubAccount=True, ParentRef={"value": "1"}),
        at=T0 + timedelta(days=4),
    )
    c.add("Account", account("checking reserve", active=False), at=T0 + timedelta(days=5))
    # Estimates: transactions that post nothing, so no ledger accounts are needed.
    estimates = [
        ("1", 100.0, "2026-01-10"),
        ("2", 250.5, "2026-02-01"),
        ("1", 99.99, "2026-02-15"),
        ("3", 1000, "2026-03-01"),
    ]
    for i, (customer, amount, txn_date) in enumerate(estimates):
        c.add(
            "Estimate",
            {
                "DocNumber": f"10{i}",
                "TxnDate": txn_date,
                "CustomerRef": {"value": customer, "name": f"Customer {customer}"},
                "TotalAmt": amount,
                "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail"}],
            },
            at=T0 + timedelta(hours=i),
        )
    c.add("CompanyInfo", {"Id": "1", "CompanyName": "Query Test Co", "Country": "US"}, at=T0)
    c.add("Preferences", {"Id": "1", "CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}}, at=T0)
    return c


def run(company: Company, text: str) -> dict:
    return execute_query(parse_query(text), company)


def names(result: dict, entity: str = "Account") -> list[str]:
    return [row["Name"] for row in result.get(entity, [])]


def ids(result: dict, entity: str) -> list[str]:
    return [row["Id"] for row in result.get(entity, [])]


def fault(company: Company, text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        run(company, text)
    return caught.value


# --- selecting and the envelope ------------------------------------------------------


def test_select_star_returns_active_accounts_in_id_order(company):
    result = run(company, "SELECT * FROM Account")
    assert names(result) == ["Checking", "Savings", "Amy's Fund", "Petty_Cash"]
    assert result["startPosition"] == 1
    assert result["maxResults"] == 4
    assert list(result) == ["Account", "startPosition", "maxResults"]
    assert result["Account"][0]["MetaData"]["LastUpdatedTime"] == "2026-01-05T09:00:00-08:00"


def test_keywords_entity_and_property_names_ignore_case(company):
    result = run(company, "select * from ACCOUNT where name = 'Savings' orderby NAME asc")
    assert names(result) == ["Savings"]


def test_count_returns_only_the_total(company):
    assert run(company, "SELECT COUNT(*) FROM Account") == {"totalCount": 4}
    assert run(company, "select count(*) from estimate where TotalAmt > 100") == {"totalCount": 2}


def test_count_ignores_paging_and_answers_zero_when_nothing_matches(company):
    assert run(company, "SELECT COUNT(*) FROM Account STARTPOSITION 3 MAXRESULTS 1") == {
        "totalCount": 4
    }
    assert run(company, "SELECT COUNT(*) FROM Account WHERE Name = 'Nope'") == {"totalCount": 0}
    assert run(company, "SELECT COUNT(*) FROM PurchaseOrder") == {"totalCount": 0}


def test_no_match_answers_an_empty_response(company):
    assert run(company, "SELECT * FROM Account WHERE Name = 'Nope'") == {}


def test_projection_keeps_named_fields_plus_id_and_marks_sparse(company):
    result = run(company, "SELECT Name, acctnum FROM Account WHERE Id = '4'")
    assert result["Account"] == [
        {
            "Name": "Amy's Fund",
            "AcctNum": "1010",
            "Id": "4",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": True,
        }
    ]


def test_select_star_with_extra_fields_returns_whole_records(company):
    result = run(company, "SELECT *, Sku FROM Account WHERE Id = '1'")
    assert result["Account"][0]["AccountType"] == "Bank"
    assert result["Account"][0]["sparse"] is False


def test_singletons_are_queryable(company):
    info = run(company, "SELECT * FROM CompanyInfo")
    assert info["CompanyInfo"][0]["CompanyName"] == "Query Test Co"
    assert info["maxResults"] == 1
    prefs = run(company, "select * from preferences")
    assert prefs["Preferences"][0]["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"


@pytest.mark.parametrize(
    "entity",
    [
        e
        for e in QUERYABLE_ENTITIES
        if e not in ("Account", "Estimate", "CompanyInfo", "Preferences")
    ],
)
def test_queryable_entity_without_records_answers_empty(company, entity):
    assert run(company, f"SELECT * FROM {entity}") == {}
    assert (
        run(company, f"SELECT * FROM {entity} WHERE MetaData.LastUpdatedTime > '2020-01-01'") == {}
    )


def test_unknown_entity_is_a_validation_fault_naming_it(company):
    error = fault(company, "SELECT * FROM Spaceship")
    assert error.code == "4001"
    assert error.fault_type == "ValidationFault"
    assert "Spaceship" in error.detail
    assert error.detail.startswith("QueryValidationError:")


def test_results_are_copies_the_caller_may_change(company):
    row = run(company, "SELECT * FROM Account WHERE Id = '1'")["Account"][0]
    row["Name"] = "Hacked"
    row.pop("MetaData")
    assert company.get("Account", "1")["Name"] == "Checking"
    assert "MetaData" in company.get("Account", "1")


# --- WHERE ---------------------------------------------------------------------------


def test_string_equality_with_escaped_apostrophe(company):
    assert names(run(company, r"SELECT * FROM Account WHERE Name = 'Amy\'s Fund'")) == [
        "Amy's Fund"
    ]


def test_text_comparisons_ignore_case(company):
    assert names(run(company, "SELECT * FROM Account WHERE Name = 'SAVINGS'")) == ["Savings"]
    assert names(run(company, "SELECT * FROM Account WHERE Name IN ('savings', 'CHECKING')")) == [
        "Checking",
        "Savings",
    ]


def test_numbers_compare_numerically(company):
    def docs(text: str) -> list[str]:
        return [row["DocNumber"] for row in run(company, text).get("Estimate", [])]

    assert docs("SELECT * FROM Estimate WHERE TotalAmt > 100") == ["101", "103"]
    assert docs("SELECT * FROM Estimate WHERE TotalAmt >= 100") == ["100", "101", "103"]
    assert docs("SELECT * FROM Estimate WHERE TotalAmt < 100") == ["102"]
    assert docs("SELECT * FROM Estimate WHERE TotalAmt <= 100.0") == ["100", "102"]
    assert docs("SELECT * FROM Estimate WHERE TotalAmt = '250.50'") == ["101"]
    assert docs("SELECT * FROM Estimate WHERE TotalAmt IN (1000, 99.99)") == ["102", "103"]


def test_in_list_matches_any_member(company):
    result = run(company, "SELECT * FROM Account WHERE AcctNum IN ('1010', '9999')")
    assert names(result) == ["Amy's Fund"]


def test_like_supports_only_the_percent_wildcard(company):
    def like(pattern: str) -> list[str]:
        query = f"SELECT * FROM Account WHERE Name LIKE '{pattern}' AND Active IN (true, false)"
        return names(run(company, query))

    assert like("Check%") == ["Checking", "checking reserve"]
    assert like("%Bank%") == ["Old Bank (deleted)"]
    assert like("%s") == ["Savings"]
    assert like("Petty_Cash") == ["Petty_Cash"]
    assert like("Petty_Cas_") == []  # underscore is a literal character, not a wildcard
    assert like("Savings") == ["Savings"]
    assert like("%") == [
        "Checking",
        "Savings",
        "Old Bank (deleted)",
        "Amy's Fund",
        "Petty_Cash",
        "checking reserve",
    ]


def test_ref_properties_compare_by_their_value(company):
    def docs(text: str) -> list[str]:
        return [row["DocNumber"] for row in run(company, text).get("Estimate", [])]

    assert docs("SELECT * FROM Estimate WHERE CustomerRef = '1'") == ["100", "102"]
    assert docs("SELECT * FROM Estimate WHERE customerref IN ('2', '3')") == ["101", "103"]
    assert docs("SELECT * FROM Estimate WHERE CustomerRef = 3") == ["103"]
    assert names(run(company, "SELECT * FROM Account WHERE ParentRef = '1'")) == ["Petty_Cash"]


def test_null_literal_matches_records_without_the_property(company):
    result = run(company, "SELECT * FROM Account WHERE ParentRef = ' '")
    assert names(result) == ["Checking", "Savings", "Amy's Fund"]


def test_booleans_are_bare_or_quoted(company):
    assert names(run(company, "SELECT * FROM Account WHERE SubAccount = true")) == ["Petty_Cash"]
    assert names(run(company, "SELECT * FROM Account WHERE SubAccount = 'TRUE'")) == ["Petty_Cash"]


@pytest.mark.parametrize(
    "path", ["MetaData.LastUpdatedTime", "Metadata.LastUpdatedTime", "METADATA.lastupdatedtime"]
)
def test_metadata_paths_work_in_any_capitalisation(company, path):
    result = run(company, f"SELECT * FROM Account WHERE {path} >= '2026-01-08T09:00:00-08:00'")
    assert names(result) == ["Amy's Fund", "Petty_Cash"]


def test_date_times_compare_as_instants_whatever_the_offset(company):
    # 2026-01-06T09:00-08:00 is 17:00Z: "Savings" was updated exactly then.
    assert names(
        run(
            company, "SELECT * FROM Account WHERE MetaData.LastUpdatedTime = '2026-01-06T17:00:00Z'"
        )
    ) == ["Savings"]
    assert names(
        run(
            company,
            "SELECT * FROM Account WHERE MetaData.LastUpdatedTime > '2026-01-06T12:00:00-05:00'",
        )
    ) == ["Amy's Fund", "Petty_Cash"]


def test_records_stamped_in_other_offsets_sort_by_instant():
    c = new_company()
    c.add("Class", {"Name": "utc", "Active": True}, at=datetime(2026, 3, 1, 16, 0, tzinfo=UTC))
    c.add("Class", {"Name": "la", "Active": True}, at=datetime(2026, 3, 1, 9, 0, tzinfo=LA))
    # As text "...T09:00:00-08:00" sorts before "...T16:00:00+00:00", but 09:00 in Los
    # Angeles is 17:00Z, an hour after the other record.
    result = run(c, "SELECT * FROM Class ORDER BY MetaData.LastUpdatedTime")
    assert names(result, "Class") == ["utc", "la"]
    result = run(c, "SELECT * FROM Class WHERE MetaData.LastUpdatedTime > '2026-03-01T16:30:00Z'")
    assert names(result, "Class") == ["la"]


def test_date_only_and_naive_literals_are_read_in_the_company_zone(company):
    # "Amy's Fund" was updated 2026-01-08 09:00 LA; a bare date is midnight LA.
    query = "SELECT * FROM Account WHERE MetaData.LastUpdatedTime >= '{}'"
    assert names(run(company, query.format("2026-01-08"))) == ["Amy's Fund", "Petty_Cash"]
    assert names(run(company, query.format("2026-01-08T09:00:01"))) == ["Petty_Cash"]
    assert names(run(company, query.format("2026-01-08T09:00:00"))) == ["Amy's Fund", "Petty_Cash"]


def test_dates_compare_as_dates(company):
    def docs(text: str) -> list[str]:
        return [row["DocNumber"] for row in run(company, text).get("Estimate", [])]

    assert docs("SELECT * FROM Estimate WHERE TxnDate >= '2026-02-01'") == ["101", "102", "103"]
    assert docs("SELECT * FROM Estimate WHERE TxnDate < '2026-02-01'") == ["100"]
    assert docs(
        "SELECT * FROM Estimate WHERE TxnDate >= '2026-02-01' AND TxnDate <= '2026-02-15'"
    ) == ["101", "102"]
    # A date-time literal against a date property compares its date part.
    assert docs("SELECT * FROM Estimate WHERE TxnDate = '2026-02-15T23:00:00-08:00'") == ["102"]


def test_conditions_joined_by_and_all_apply(company):
    result = run(
        company,
        "SELECT * FROM Estimate WHERE CustomerRef = '1' AND TotalAmt > 99.99 "
        "AND TxnDate < '2026-12-31'",
    )
    assert [row["DocNumber"] for row in result["Estimate"]] == ["100"]


def test_id_supports_equality_and_in(company):
    assert names(run(company, "SELECT * FROM Account WHERE Id = '2'")) == ["Savings"]
    assert names(run(company, "SELECT * FROM Account WHERE Id = 2")) == ["Savings"]
    assert names(run(company, "SELECT * FROM Account WHERE Id IN ('4', '1', '999')")) == [
        "Checking",
        "Amy's Fund",
    ]
    assert run(company, "SELECT * FROM Account WHERE Id = 'abc'") == {}


def test_id_lookup_still_hides_inactive_list_records(company):
    assert run(company, "SELECT * FROM Account WHERE Id = '3'") == {}
    result = run(company, "SELECT * FROM Account WHERE Id = '3' AND Active = false")
    assert names(result) == ["Old Bank (deleted)"]


def test_id_lookup_honours_order_by(company):
    result = run(company, "SELECT * FROM Account WHERE Id IN ('1', '2', '4') ORDER BY Name DESC")
    assert names(result) == ["Savings", "Checking", "Amy's Fund"]


@pytest.mark.parametrize("condition", ["Id > '1'", "Id <= '3'", "Id LIKE '1%'", "id >= 2"])
def test_id_refuses_other_operators(company, condition):
    error = fault(company, f"SELECT * FROM Account WHERE {condition}")
    assert error.code == "4001"
    assert "Id" in error.detail


# --- list entities and Active ----------------------------------------------------------


def test_inactive_list_records_hidden_unless_asked(company):
    assert "Old Bank (deleted)" not in names(run(company, "SELECT * FROM Account"))
    assert names(run(company, "SELECT * FROM Account WHERE Active = false")) == [
        "Old Bank (deleted)",
        "checking reserve",
    ]
    assert len(run(company, "SELECT * FROM Account WHERE Active IN (true, false)")["Account"]) == 6
    assert names(run(company, "SELECT * FROM Account WHERE Active = true")) == names(
        run(company, "SELECT * FROM Account")
    )


def test_deleted_list_record_becomes_an_inactive_result(company):
    company.delete("Account", "2")
    assert "Savings (deleted)" not in names(run(company, "SELECT * FROM Account"))
    assert names(run(company, "SELECT * FROM Account WHERE Active = false AND Id = '2'")) == [
        "Savings (deleted)"
    ]


def test_transactions_are_not_filtered_by_active(company):
    assert run(company, "SELECT COUNT(*) FROM Estimate") == {"totalCount": 4}


# --- ORDER BY --------------------------------------------------------------------------


def test_order_by_and_orderby_both_sort(company):
    spaced = run(company, "SELECT * FROM Account ORDER BY Name")
    joined = run(company, "SELECT * FROM Account ORDERBY Name ASC")
    assert names(spaced) == names(joined) == ["Amy's Fund", "Checking", "Petty_Cash", "Savings"]


def test_order_by_descending(company):
    result = run(company, "SELECT * FROM Account ORDER BY MetaData.LastUpdatedTime DESC")
    assert names(result) == ["Petty_Cash", "Amy's Fund", "Savings", "Checking"]


def test_order_by_several_keys_breaks_ties_in_id_order():
    c = new_company()
    for name, kind in [
        ("b", "Bank"),
        ("a", "Expense"),
        ("c", "Bank"),
        ("a", "Bank"),
        ("b", "Bank"),
    ]:
        c.add("Account", account(name, AccountType=kind), at=T0)
    result = run(c, "SELECT * FROM Account ORDER BY AccountType DESC, Name ASC")
    assert [(r["AccountType"], r["Name"], r["Id"]) for r in result["Account"]] == [
        ("Expense", "a", "2"),
        ("Bank", "a", "4"),
        ("Bank", "b", "1"),
        ("Bank", "b", "5"),
        ("Bank", "c", "3"),
    ]
    # Equal keys keep ascending Id order, in either direction.
    result = run(c, "SELECT * FROM Account ORDER BY MetaData.LastUpdatedTime DESC")
    assert ids(result, "Account") == ["1", "2", "3", "4", "5"]


def test_records_without_the_sort_property_come_first_ascending(company):
    result = run(company, "SELECT * FROM Account ORDER BY AcctNum")
    assert names(result)[-1] == "Amy's Fund"
    result = run(company, "SELECT * FROM Account ORDER BY AcctNum DESC")
    assert names(result)[0] == "Amy's Fund"


def test_order_by_unknown_property_is_a_validation_fault(company):
    assert fault(company, "SELECT * FROM Account ORDER BY Colour").code == "4001"


# --- paging ----------------------------------------------------------------------------


def many_classes(count: int) -> Company:
    c = new_company()
    for i in range(count):
        # Three records share each timestamp so that ties must be broken consistently.
        c.add("Class", {"Name": f"C{i:04d}", "Active": True}, at=T0 + timedelta(minutes=i // 3))
    return c


def test_start_position_is_one_based_and_max_results_counts_the_page(company):
    result = run(company, "SELECT * FROM Account STARTPOSITION 2 MAXRESULTS 2")
    assert names(result) == ["Savings", "Amy's Fund"]
    assert result["startPosition"] == 2
    assert result["maxResults"] == 2
    last = run(company, "SELECT * FROM Account STARTPOSITION 4 MAXRESULTS 10")
    assert names(last) == ["Petty_Cash"]
    assert last["maxResults"] == 1


def test_paging_past_the_end_answers_empty(company):
    assert run(company, "SELECT * FROM Account STARTPOSITION 5") == {}


def test_maxresults_may_come_before_startposition(company):
    result = run(company, "SELECT * FROM Account MAXRESULTS 1 STARTPOSITION 2")
    assert names(result) == ["Savings"]


def test_start_position_zero_reads_as_one(company):
    result = run(company, "SELECT * FROM Account STARTPOSITION 0 MAXRESULTS 1")
    assert names(result) == ["Checking"]
    assert result["startPosition"] == 1


def test_default_page_is_100_records():
    c = many_classes(150)
    result = run(c, "SELECT * FROM Class")
    assert result["maxResults"] == 100
    assert result["Class"][-1]["Name"] == "C0099"


def test_max_results_of_1000_is_allowed_and_more_is_refused():
    c = many_classes(1005)
    assert run(c, "SELECT * FROM Class MAXRESULTS 1000")["maxResults"] == 1000
    error = fault(c, "SELECT * FROM Class MAXRESULTS 1001")
    assert error.code == "4001"
    assert error.message == "Invalid query"
    assert "1001" in error.detail
    assert "1000" in error.detail


def test_max_results_zero_is_refused(company):
    assert fault(company, "SELECT * FROM Account MAXRESULTS 0").code == "4001"


@pytest.mark.parametrize(
    "order",
    [
        "",
        "ORDER BY MetaData.LastUpdatedTime",
        "ORDER BY MetaData.LastUpdatedTime DESC",
        "ORDERBY Name DESC",
    ],
)
def test_paging_never_repeats_or_skips(order):
    c = many_classes(257)
    seen: list[str] = []
    start = 1
    while True:
        page = run(c, f"SELECT * FROM Class {order} STARTPOSITION {start} MAXRESULTS 50")
        if not page:
            break
        seen.extend(ids(page, "Class"))
        start += page["maxResults"]
    assert sorted(seen, key=int) == [str(i) for i in range(1, 258)]
    assert seen == ids(run(c, f"SELECT * FROM Class {order} MAXRESULTS 1000"), "Class")


def test_pipeline_window_query_pages_through_inactive_records_too():
    c = many_classes(30)
    for record_id in ("5", "6", "7"):
        c.update("Class", record_id, {"Active": False}, at=T0 + timedelta(hours=5))
    query = (
        "SELECT * FROM Class WHERE Metadata.LastUpdatedTime > '2026-01-05T09:03:00-08:00' "
        "AND Metadata.LastUpdatedTime <= '2026-01-05T14:00:00-08:00' "
        "AND Active IN (true, false) ORDER BY Metadata.LastUpdatedTime ASC "
        "STARTPOSITION {} MAXRESULTS 10"
    )
    pages = [run(c, query.format(start)) for start in (1, 11, 21, 31)]
    assert [page.get("maxResults") for page in pages] == [10, 10, 1, None]
    got = [record_id for page in pages for record_id in ids(page, "Class")]
    # Records 13..30 fall in the window by creation time; 5, 6 and 7 by their update.
    assert got == [str(i) for i in range(13, 31)] + ["5", "6", "7"]


# --- caching stays correct -------------------------------------------------------------


def test_changes_show_up_in_the_next_query(company):
    query = "SELECT * FROM Account ORDER BY MetaData.LastUpdatedTime DESC MAXRESULTS 1"
    assert names(run(company, query)) == ["Petty_Cash"]
    company.update("Account", "1", {"Name": "Main Checking"}, at=T0 + timedelta(days=30))
    assert names(run(company, query)) == ["Main Checking"]
    company.add("Account", account("Brand New"), at=T0 + timedelta(days=31))
    assert names(run(company, query)) == ["Brand New"]
    company.delete("Estimate", "1")
    assert run(company, "SELECT COUNT(*) FROM Estimate") == {"totalCount": 3}


def test_records_written_straight_into_the_store_are_seen(company):
    # The activity generator stores new records without bumping the version counter.
    run(company, "SELECT * FROM Estimate")
    record = dict(company.get("Estimate", "1"), Id="99", DocNumber="999")
    company.store["Estimate"]["99"] = record
    assert run(company, "SELECT * FROM Estimate WHERE DocNumber = '999'")["maxResults"] == 1


def test_account_balances_follow_the_ledger():
    c = new_company()
    c.add("Account", account("Checking"), at=T0)
    c.add("Account", account("Sales", Classification="Revenue", AccountType="Income"), at=T0)
    query = "SELECT * FROM Account WHERE CurrentBalance > 0"
    assert run(c, query) == {}
    c.add(
        "JournalEntry",
        {
            "TxnDate": "2026-01-06",
            "Line": [
                {
                    "Amount": 50.0,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {"PostingType": side, "AccountRef": {"value": ref}},
                }
                for side, ref in (("Debit", "1"), ("Credit", "2"))
            ],
        },
        at=T0,
    )
    result = run(c, query)
    assert [(row["Name"], row["CurrentBalance"]) for row in result["Account"]] == [
        ("Checking", 50.0),
        ("Sales", 50.0),
    ]


def test_each_company_answers_from_its_own_records(company):
    other = new_company()
    other.add("Account", account("Elsewhere"), at=T0)
    query = "SELECT * FROM Account WHERE Name LIKE '%e%'"
    assert names(run(other, query)) == ["Elsewhere"]
    assert "Elsewhere" not in names(run(company, query))


def test_range_and_order_agree_with_a_brute_force_filter():
    """Binary search over sorted keys must give exactly what a plain scan gives."""
    rng = random.Random(11)
    c = new_company()
    zones = [UTC, LA, ZoneInfo("Asia/Kolkata")]
    for _ in range(400):
        moment = (T0 + timedelta(minutes=rng.randrange(0, 3000))).astimezone(rng.choice(zones))
        body: dict = {"TxnDate": (date(2026, 1, 1) + timedelta(days=rng.randrange(60))).isoformat()}
        if rng.random() < 0.9:
            body["TotalAmt"] = rng.choice([5, 10, 10, 20.5, 40, 80])
        c.add("Estimate", body, at=moment)
    records = c.records("Estimate")

    def instant(record: dict) -> datetime:
        return datetime.fromisoformat(record["MetaData"]["LastUpdatedTime"])

    bounds = [T0 + timedelta(minutes=m) for m in (0, 700, 1500, 2999, 4000)]
    ops = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "=": lambda a, b: a == b,
    }
    for op, check in ops.items():
        for bound in [*bounds, instant(records[17])]:
            literal = bound.astimezone(UTC).isoformat().replace("+00:00", "Z")
            for direction in ("ASC", "DESC"):
                query = (
                    f"SELECT * FROM Estimate WHERE MetaData.LastUpdatedTime {op} '{literal}' "
                    f"ORDER BY MetaData.LastUpdatedTime {direction} MAXRESULTS 1000"
                )
                expected = sorted(
                    (r for r in records if check(instant(r), bound)),
                    key=lambda r: (instant(r), int(r["Id"])),
                )
                if direction == "DESC":
                    expected = sorted(expected, key=instant, reverse=True)
                assert ids(run(c, query), "Estimate") == [r["Id"] for r in expected], query
    for op, check in ops.items():
        for value in (0, 10, 20.5, 100):
            for direction in ("ASC", "DESC"):
                query = (
                    f"SELECT * FROM Estimate WHERE TotalAmt {op} {value} "
                    f"ORDER BY TotalAmt {direction} MAXRESULTS 1000"
                )
                matching = [r for r in records if "TotalAmt" in r and check(r["TotalAmt"], value)]
                expected = sorted(
                    matching, key=lambda r: r["TotalAmt"], reverse=direction == "DESC"
                )
                assert ids(run(c, query), "Estimate") == [r["Id"] for r in expected], query


# --- validation faults (4001) ----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM Account WHERE Colour = 'red'",
        "SELECT * FROM Account WHERE MetaData.Birthday > '2020-01-01'",
        "SELECT Colour FROM Account",
        "SELECT * FROM Estimate WHERE VendorRef = '1'",
    ],
)
def test_unknown_property_is_a_validation_fault(company, query):
    error = fault(company, query)
    assert error.code == "4001"
    assert error.message == "Invalid query"
    assert error.detail.startswith("QueryValidationError: Property ")
    assert "not found for Entity" in error.detail


def test_documented_property_no_record_carries_just_matches_nothing(company):
    assert run(company, "SELECT * FROM Estimate WHERE ExpirationDate < '2030-01-01'") == {}


def test_line_is_not_queryable(company):
    error = fault(company, "SELECT * FROM Estimate WHERE Line = '1'")
    assert error.code == "4001"
    assert "'Line' is not queryable" in error.detail


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("SELECT * FROM Estimate WHERE TotalAmt = 'lots'", "not a valid number"),
        ("SELECT * FROM Estimate WHERE TotalAmt > true", "not a valid number"),
        ("SELECT * FROM Account WHERE MetaData.LastUpdatedTime > 'yesterday'", "date-time"),
        ("SELECT * FROM Account WHERE Active = 'maybe'", "boolean"),
        ("SELECT * FROM Estimate WHERE TotalAmt LIKE '1%'", "LIKE"),
    ],
)
def test_values_of_the_wrong_type_are_validation_faults(company, query, words):
    error = fault(company, query)
    assert error.code == "4001"
    assert words in error.detail


# --- syntax faults (4000) --------------------------------------------------------------

MALFORMED = {
    "empty": "",
    "missing FROM": "SELECT * Account",
    "missing entity": "SELECT * FROM",
    "missing select list": "SELECT FROM Account",
    "not a select": "DELETE FROM Account",
    "bad operator !=": "SELECT * FROM Account WHERE Name != 'x'",
    "bad operator <>": "SELECT * FROM Account WHERE Name <> 'x'",
    "bad operator ==": "SELECT * FROM Account WHERE Name == 'x'",
    "missing value": "SELECT * FROM Account WHERE Name =",
    "missing operator": "SELECT * FROM Account WHERE Name 'x'",
    "unterminated string": "SELECT * FROM Account WHERE Name = 'abc",
    "escaped closing quote": "SELECT * FROM Account WHERE Name = 'abc\\'",
    "double quotes": 'SELECT * FROM Account WHERE Name = "abc"',
    "OR": "SELECT * FROM Account WHERE Name = 'a' OR Name = 'b'",
    "JOIN": "SELECT * FROM Account JOIN Customer",
    "two entities": "SELECT * FROM Account, Customer",
    "GROUP BY": "SELECT * FROM Account GROUP BY AccountType",
    "LIMIT": "SELECT * FROM Account LIMIT 5",
    "trailing junk": "SELECT * FROM Account MAXRESULTS 5 please",
    "trailing semicolon": "SELECT * FROM Account;",
    "non-number MAXRESULTS": "SELECT * FROM Account MAXRESULTS ten",
    "quoted MAXRESULTS": "SELECT * FROM Account MAXRESULTS '10'",
    "decimal MAXRESULTS": "SELECT * FROM Account MAXRESULTS 10.5",
    "negative STARTPOSITION": "SELECT * FROM Account STARTPOSITION -1",
    "missing STARTPOSITION number": "SELECT * FROM Account STARTPOSITION",
    "repeated MAXRESULTS": "SELECT * FROM Account MAXRESULTS 5 MAXRESULTS 6",
    "paging before ORDER BY": "SELECT * FROM Account MAXRESULTS 5 ORDER BY Name",
    "ORDER without BY": "SELECT * FROM Account ORDER Name",
    "ORDER BY nothing": "SELECT * FROM Account ORDER BY",
    "empty IN": "SELECT * FROM Account WHERE Id IN ()",
    "unclosed IN": "SELECT * FROM Account WHERE Id IN ('1', '2'",
    "LIKE without quotes": "SELECT * FROM Account WHERE Name LIKE 5",
    "COUNT of a column": "SELECT COUNT(Id) FROM Account",
    "COUNT with more": "SELECT COUNT(*), Name FROM Account",
    "dangling AND": "SELECT * FROM Account WHERE Name = 'a' AND",
    "WHERE without condition": "SELECT * FROM Account WHERE ORDER BY Name",
    "empty path part": "SELECT * FROM Account WHERE MetaData. = '1'",
    "NOT": "SELECT * FROM Account WHERE NOT Active = true",
    "IS NULL": "SELECT * FROM Account WHERE ParentRef IS NULL",
    "stray character": "SELECT * FROM Account WHERE Name = 'a' & Active = true",
    "expression": "SELECT * FROM Estimate WHERE TotalAmt > 1 + 2",
}


@pytest.mark.parametrize("query", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_queries_are_parser_faults(query):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    error = caught.value
    assert error.code == "4000"
    assert error.message == "Error parsing query"
    assert error.fault_type == "ValidationFault"
    assert error.detail.startswith("QueryParserError: ")
    assert "line 1, column " in error.detail


def test_parser_fault_names_the_token_and_its_position():
    with pytest.raises(QueryError) as caught:
        parse_query("SELECT * FROM Account WHERE Name = 'a' OR Name = 'b'")
    detail = caught.value.detail
    assert '"OR' in detail
    assert "line 1, column 40" in detail
    assert "OR is not supported" in detail


def test_parser_fault_counts_lines():
    with pytest.raises(QueryError) as caught:
        parse_query("SELECT *\nFROM Account\nWHERE Name = 'a' GROUP BY Name")
    assert "line 3, column 18" in caught.value.detail


def test_unterminated_string_is_a_lexical_fault_pointing_at_the_end():
    with pytest.raises(QueryError) as caught:
        parse_query("SELECT * FROM Account WHERE Name = 'abc")
    detail = caught.value.detail
    assert "Lexical error at line 1, column 40" in detail
    assert "<EOF>" in detail
    assert "not closed" in detail


# --- the parsed form -------------------------------------------------------------------


def test_parsed_query_records_every_clause():
    query = parse_query(
        "select Id, MetaData.LastUpdatedTime from invoice where TotalAmt >= 10 "
        "and CustomerRef in ('1', 2) and Active = true and DocNumber like '10%' "
        "order by TxnDate desc, Id startposition 3 maxresults 7"
    )
    assert query.entity == "Invoice"
    assert query.count is False
    assert query.fields == (("Id",), ("MetaData", "LastUpdatedTime"))
    assert [(c.path, c.op) for c in query.where] == [
        (("TotalAmt",), ">="),
        (("CustomerRef",), "in"),
        (("Active",), "="),
        (("DocNumber",), "like"),
    ]
    assert [(v.kind, v.value) for v in query.where[1].values] == [
        ("string", "1"),
        ("number", "2"),
    ]
    assert query.where[2].values[0].value is True
    assert [(k.path, k.descending) for k in query.order_by] == [
        (("TxnDate",), True),
        (("Id",), False),
    ]
    assert (query.start_position, query.max_results) == (3, 7)


def test_query_error_codes_carry_their_fault_types():
    processing = QueryError("4002", "QueryProcessingError: timed out")
    assert processing.fault_type == "Service"
    assert processing.message == "Error processing query"
    assert QueryError("4001", "x").fault_type == "ValidationFault"


SOUP = (
    "SELECT select * COUNT(*) ( ) , FROM Account Estimate Customer Foo WHERE AND OR Id Name "
    "Active MetaData.LastUpdatedTime CustomerRef TotalAmt TxnDate Line = < > <= >= != IN LIKE "
    "'x' '2026-01-01' '2026-01-01T00:00:00Z' '%a%' 5 -3 1.5 true false ORDER BY ORDERBY ASC "
    "DESC STARTPOSITION MAXRESULTS 1000 1001 0 ' \\' ; MetaData. ."
)


def test_random_token_soup_only_ever_raises_query_errors(company):
    """Whatever arrives in ?query=, the answer is a result or a QueryError, never a crash."""
    pieces = [*SOUP.split(), "' '"]
    rng = random.Random(5)
    outcomes: list[str] = []
    for _ in range(3000):
        head = ["SELECT", rng.choice(["*", "COUNT(*)", "Id, Name"]), "FROM", "Account"]
        tail = [rng.choice(pieces) for _ in range(rng.randrange(0, 8))]
        text = " ".join((head if rng.random() < 0.6 else []) + tail)
        try:
            run(company, text)
            outcomes.append("ok")
        except QueryError as error:
            outcomes.append(error.code)
    assert set(outcomes) == {"ok", "4000", "4001"}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # Statements exactly as python-quickbooks builds them (all, filter, choose, where, count).
        ("SELECT * FROM Account MAXRESULTS 100", {"totalCount": 4}),
        ("SELECT * FROM Account WHERE Active = True AND SubAccount = True ", {"totalCount": 1}),
        ("SELECT * FROM Account WHERE Id in ('1', '2')", {"totalCount": 2}),
        ("SELECT * FROM Account WHERE Name = 'Amy\\'s Fund' ORDERBY Name DESC", {"totalCount": 1}),
        ("SELECT * FROM Account  STARTPOSITION 0 MAXRESULTS 2", {"totalCount": 2}),
        ("SELECT COUNT(*) FROM Account ", {"totalCount": 4}),
    ],
)
def test_statements_built_by_python_quickbooks(company, statement, expected):
    result = run(company, statement)
    assert {"totalCount": result.get("totalCount", result.get("maxResults"))} == expected
