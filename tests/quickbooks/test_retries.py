"""Throttling, server errors and network failures are retried with backoff; they give up
after `max_attempts` with a typed error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from qb_pipeline.quickbooks import (
    NetworkError,
    QuickBooksClient,
    ReportRangeTooWide,
    ServerError,
    ThrottledError,
)
from qb_pipeline.quickbooks.retry import RetryPolicy, parse_retry_after
from tests.quickbooks.conftest import RecordedSleeps, fast_policy, inject, request_log

REPORT = {"start_date": "2026-01-01", "end_date": "2026-03-31"}


def statuses(url: str, realm_id: str) -> list[int]:
    return [entry["status"] for entry in request_log(url, realm_id)]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429},
        {"status": 429, "format": "xml"},
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"status": 504},
    ],
    ids=["429-json", "429-xml", "500", "502", "503", "504"],
)
def test_a_transient_fault_is_retried_until_success(private_emulator, connect, fault):
    qb = connect(private_emulator)
    inject(private_emulator.url, count=3, path_prefix="companyinfo", **fault)

    info = qb.client.company_info()

    assert info["Id"] == "1"
    assert statuses(qb.url, qb.realm_id) == [fault["status"]] * 3 + [200]
    assert qb.client.requests_made == 4
    assert qb.client.responses_by_status == {fault["status"]: 3, 200: 1}
    assert len(qb.sleeps.waits) == 3


def test_backoff_grows_with_full_jitter(private_emulator, connect):
    sleeps = RecordedSleeps()
    policy = fast_policy(sleeps, base_delay=1.0, max_delay=3.0, random=lambda: 1.0)
    qb = connect(private_emulator, retry_policy=policy)
    inject(private_emulator.url, status=503, count=4)
    qb.client.company_info()
    assert sleeps.waits == [1.0, 2.0, 3.0, 3.0]  # the ceilings: 1, 2, 4 -> capped at 3


def test_a_throttle_without_retry_after_backs_off_from_the_throttle_base(private_emulator, connect):
    sleeps = RecordedSleeps()
    policy = fast_policy(
        sleeps, throttle_base_delay=5.0, throttle_max_delay=60.0, random=lambda: 0.5
    )
    qb = connect(private_emulator, retry_policy=policy)
    inject(private_emulator.url, status=429, count=2)
    qb.client.company_info()
    assert sleeps.waits == [2.5, 5.0]


def test_retry_after_is_honoured(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=429, retry_after=7, count=2)
    inject(private_emulator.url, status=429, retry_after=0)
    qb.client.company_info()
    assert qb.sleeps.waits == [7.0, 7.0, 0.0]


def test_retry_after_as_an_http_date():
    now = datetime(2026, 11, 15, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(header, now=now) == 42.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None
    # Never longer than the policy allows, whatever the server says.
    assert RetryPolicy(max_retry_after=300).delay(1, throttled=True, retry_after=9999) == 300


def test_gives_up_on_throttling_after_max_attempts(private_emulator, connect):
    qb = connect(private_emulator, max_attempts=3)
    inject(private_emulator.url, status=429, count=5)
    with pytest.raises(ThrottledError) as caught:
        qb.client.company_info()
    error = caught.value
    assert (error.status, error.code) == (429, "3001")
    assert "ThrottleExceeded" in error.message
    assert error.intuit_tid
    assert statuses(qb.url, qb.realm_id) == [429, 429, 429]


def test_gives_up_on_an_xml_throttle_with_its_code(private_emulator, connect):
    qb = connect(private_emulator, max_attempts=2)
    inject(private_emulator.url, status=429, count=2, format="xml")
    with pytest.raises(ThrottledError) as caught:
        qb.client.count("Account")
    assert (caught.value.code, caught.value.fault_type) == ("3001", "SERVICE")


def test_gives_up_on_server_errors_after_max_attempts(private_emulator, connect):
    qb = connect(private_emulator, max_attempts=4)
    inject(private_emulator.url, status=500, count=2)
    inject(private_emulator.url, status=502, count=2)
    with pytest.raises(ServerError) as caught:
        qb.client.company_info()
    assert caught.value.status == 502
    assert statuses(qb.url, qb.realm_id) == [500, 500, 502, 502]


def test_a_system_fault_keeps_its_code_when_retries_run_out(private_emulator, connect):
    qb = connect(private_emulator, max_attempts=1)
    inject(private_emulator.url, status=500)
    with pytest.raises(ServerError) as caught:
        qb.client.company_info()
    assert (caught.value.code, caught.value.fault_type) == ("10000", "SystemFault")


def test_a_timeout_is_retried(private_emulator, connect):
    qb = connect(private_emulator, timeout=0.3)
    inject(private_emulator.url, status="slow", delay_ms=1500)
    info = qb.client.company_info()
    assert info["Id"] == "1"
    assert qb.client.network_errors == 1
    assert len(qb.sleeps.waits) == 1


def test_an_unreachable_server_gives_up_with_a_network_error():
    from qb_pipeline.sandbox import free_port

    sleeps = RecordedSleeps()
    client = QuickBooksClient(
        "123",
        f"http://127.0.0.1:{free_port()}",
        lambda rejected: "token",
        max_attempts=3,
        retry_policy=fast_policy(sleeps),
    )
    with client, pytest.raises(NetworkError) as caught:
        client.company_info()
    assert "3 attempts" in str(caught.value)
    assert client.network_errors == 3
    assert len(sleeps.waits) == 2


def test_a_report_that_times_out_again_is_too_wide(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=504, count=2, path_prefix="reports/")
    with pytest.raises(ReportRangeTooWide) as caught:
        qb.client.report("ProfitAndLoss", REPORT)
    assert caught.value.status == 504
    assert statuses(qb.url, qb.realm_id) == [504, 504]


def test_a_report_survives_one_gateway_timeout(private_emulator, connect):
    qb = connect(private_emulator)
    inject(private_emulator.url, status=504, path_prefix="reports/")
    report = qb.client.report("ProfitAndLoss", REPORT)
    assert report["Header"]["ReportName"] == "ProfitAndLoss"


def test_a_truncated_report_is_too_wide(make_emulator, connect):
    # Past 400,000 cells a report stops with the marker row: the medium company's whole
    # general ledger is about 750,000 cells.
    qb = connect(make_emulator(size="medium", limits_enabled=False))
    with pytest.raises(ReportRangeTooWide, match="reduce the date range"):
        qb.client.report("GeneralLedger", {"start_date": "2022-01-01", "end_date": "2026-11-15"})
