"""Injected faults and rate limits: the real bodies, per realm and path, and recovery."""

from __future__ import annotations

import asyncio
import threading
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from qb_pipeline.sandbox.oauth.backend import DEMO_CLIENT_ID
from qb_pipeline.sandbox.server.faults import FaultQueue
from qb_pipeline.sandbox.server.limits import RateLimiter
from qb_pipeline.sandbox.server.runner import RunningEmulator

NS = {"q": "http://schema.intuit.com/finance/v3"}
THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def realms(running: RunningEmulator) -> list[str]:
    return [c.realm_id for c in running.state.backend.list_companies()]


def client_for(running: RunningEmulator, realm: str, accept: str = "application/json"):
    token = httpx.post(
        f"{running.url}/_emulator/tokens", json={"client_id": DEMO_CLIENT_ID, "realmId": realm}
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{running.url}/v3/company/{realm}",
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
    )


def add_fault(running: RunningEmulator, **spec) -> dict:
    response = httpx.post(f"{running.url}/_emulator/faults", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def log(running: RunningEmulator) -> list[dict]:
    return httpx.get(f"{running.url}/_emulator/requests").json()


def assert_throttle_json(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["intuit_tid"]
    body = response.json()
    assert body == {
        "Fault": {
            "Error": [
                {
                    "Message": THROTTLE_MESSAGE,
                    "Detail": "The request limit was reached.",
                    "code": "3001",
                }
            ],
            "type": "SERVICE",
        },
        "time": body["time"],
    }


def assert_throttle_xml(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    root = ET.fromstring(response.content)
    assert root.tag == "{http://schema.intuit.com/finance/v3}IntuitResponse"
    assert root.attrib["time"]
    fault = root.find("q:Fault", NS)
    assert fault.attrib == {"type": "SERVICE"}
    error = fault.find("q:Error", NS)
    assert error.attrib == {"code": "3001"}
    assert error.find("q:Message", NS).text == THROTTLE_MESSAGE
    assert error.find("q:Detail", NS).text.startswith("The request limit was reached.")


@pytest.fixture
def quiet(make_emulator):
    """A private emulator with limits off, and a JSON client for its demo company."""
    running = make_emulator(limits_enabled=False)
    with client_for(running, realms(running)[0]) as client:
        yield running, client


@pytest.fixture
def limited(make_emulator):
    """A private emulator enforcing the real limits."""
    running = make_emulator(limits_enabled=True)
    with client_for(running, realms(running)[0]) as client:
        yield running, client


# --- the fault queue without HTTP --------------------------------------------------------------
def test_fault_queue_serves_matching_faults_first_in_first_out():
    queue = FaultQueue()
    queue.add(status=500, count=1, realm_id="1", path_prefix="query")
    queue.add(status=503, count=2, realm_id=None, path_prefix="/v3/company/2/reports/")
    assert queue.take("2", "/v3/company/2/query") is None
    assert queue.take("1", "/v3/company/1/reports/BalanceSheet") is None
    assert queue.take("1", "/v3/company/1/query").status == 500
    assert queue.take("1", "/v3/company/1/query") is None
    assert queue.take("2", "/v3/company/2/reports/ProfitAndLoss").status == 503
    assert [spec.count for spec in queue.pending()] == [1]
    assert queue.clear() == 1
    assert queue.take("2", "/v3/company/2/reports/ProfitAndLoss") is None


# --- injected faults over HTTP ------------------------------------------------------------------
def test_injected_429_serves_the_json_throttle_body_with_retry_after(quiet):
    running, client = quiet
    add_fault(running, status=429, count=2, retry_after=60)
    for _ in range(2):
        response = client.get("preferences")
        assert_throttle_json(response)
        assert response.headers["retry-after"] == "60"
    assert client.get("preferences").status_code == 200


def test_injected_429_without_retry_after_sends_no_header(quiet):
    running, client = quiet
    add_fault(running, status=429)
    response = client.get("preferences")
    assert_throttle_json(response)
    assert "retry-after" not in response.headers


def test_injected_xml_throttle_is_served_even_to_json_clients(quiet):
    running, client = quiet
    add_fault(running, status=429, format="xml")
    assert_throttle_xml(client.get("query", params={"query": "select * from Term"}))


def test_injected_401_is_the_expired_token_body(quiet):
    running, client = quiet
    add_fault(running, status=401)
    response = client.get("preferences")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    error = response.json()["fault"]["error"][0]
    assert error["code"] == "3200"
    assert error["detail"].startswith("Token expired: ")
    # Only the answer was faked: the token itself still works.
    assert client.get("preferences").status_code == 200


def test_injected_401_can_be_xml(quiet):
    running, client = quiet
    add_fault(running, status=401, format="xml")
    response = client.get("preferences")
    error = ET.fromstring(response.content).find("q:Fault/q:Error", NS)
    assert error.attrib["code"] == "3200"


def test_injected_500_is_the_system_fault(quiet):
    running, client = quiet
    add_fault(running, status=500)
    response = client.get("preferences")
    assert response.status_code == 500
    body = response.json()
    assert body["Fault"]["type"] == "SystemFault"
    assert body["Fault"]["Error"][0]["code"] == "10000"
    assert body["Fault"]["Error"][0]["Message"] == (
        "An application error has occurred while processing your request"
    )


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (502, "502 Bad Gateway"),
        (503, "503 Service Temporarily Unavailable"),
        (504, "504 Gateway Time-out"),
    ],
)
def test_injected_gateway_errors_are_html_pages(quiet, status, title):
    running, client = quiet
    add_fault(running, status=status)
    response = client.get("reports/ProfitAndLoss")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"<title>{title}</title>" in response.text
    assert response.headers["intuit_tid"]


def test_slow_fault_delays_then_answers_normally(quiet):
    running, client = quiet
    add_fault(running, status="slow", delay_ms=300)
    started = time.perf_counter()
    response = client.get("preferences")
    assert time.perf_counter() - started >= 0.3
    assert response.status_code == 200
    assert "Preferences" in response.json()


def test_faults_apply_only_to_their_realm_and_path(quiet):
    running, client = quiet
    first, second = realms(running)[:2]
    add_fault(running, status=503, realmId=second)
    add_fault(running, status=500, realmId=first, path_prefix="reports/")
    assert client.get("preferences").status_code == 200
    assert client.get("reports/BalanceSheet").status_code == 500
    with client_for(running, second) as other:
        assert other.get("reports/BalanceSheet").status_code == 503
        assert other.get("reports/BalanceSheet").status_code != 503


def test_faults_are_recorded_in_the_request_log(quiet):
    running, client = quiet
    add_fault(running, status=502)
    client.get("preferences")
    client.get("preferences")
    statuses = [(entry["path"].rsplit("/", 1)[1], entry["status"]) for entry in log(running)]
    assert statuses == [("preferences", 502), ("preferences", 200)]


# --- the rate limiter without HTTP -------------------------------------------------------------
def test_limiter_allows_ten_per_second_then_recovers_after_the_window():
    clock = FakeClock()
    limiter = RateLimiter(enabled=lambda: True, clock=clock)
    admitted = [limiter.admit("app", "1") for _ in range(11)]
    assert all(admitted[:10])
    assert admitted[10] is None
    for admission in admitted[:10]:
        admission.release()
    clock.advance(0.5)
    assert limiter.admit("app", "1") is None
    clock.advance(0.6)
    assert limiter.admit("app", "1") is not None


def test_limiter_allows_500_per_rolling_minute():
    clock = FakeClock()
    limiter = RateLimiter(enabled=lambda: True, clock=clock)
    for _ in range(500):
        admission = limiter.admit("app", "1")
        assert admission is not None
        admission.release()
        clock.advance(0.11)  # 9 per second, under the per-second limit
    assert limiter.admit("app", "1") is None
    # Another app, or another realm, has its own budget.
    assert limiter.admit("other-app", "1") is not None
    assert limiter.admit("app", "2") is not None
    clock.advance(60 - 500 * 0.11 + 0.2)  # the first admissions leave the window
    assert limiter.admit("app", "1") is not None


def test_limiter_allows_ten_in_flight():
    limiter = RateLimiter(enabled=lambda: True, per_second=1000)
    in_flight = [limiter.admit("app", "1") for _ in range(10)]
    assert limiter.admit("app", "1") is None
    in_flight[0].release()
    in_flight[0].release()  # releasing twice gives back one slot only
    assert limiter.admit("app", "1") is not None
    assert limiter.admit("app", "1") is None


def test_limiter_allows_40_batches_per_minute():
    clock = FakeClock()
    limiter = RateLimiter(enabled=lambda: True, clock=clock)
    for _ in range(40):
        limiter.admit("app", "1", batch=True).release()
        clock.advance(0.2)
    assert limiter.admit("app", "1", batch=True) is None
    assert limiter.admit("app", "1") is not None  # plain requests still pass
    clock.advance(60)
    assert limiter.admit("app", "1", batch=True) is not None


def test_limiter_lets_everything_through_while_disabled_and_can_be_switched_on():
    enabled = {"on": False}
    limiter = RateLimiter(enabled=lambda: enabled["on"])
    assert all(limiter.admit("app", "1") is not None for _ in range(50))
    enabled["on"] = True
    assert sum(limiter.admit("app", "1") is not None for _ in range(20)) == 10


def test_limiter_is_exact_under_concurrent_callers():
    limiter = RateLimiter(enabled=lambda: True, per_second=10_000, concurrent=10_000)
    admitted: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        results = [limiter.admit("app", "1") is not None for _ in range(100)]
        with lock:
            admitted.extend(results)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 500


# --- limits over HTTP ------------------------------------------------------------------------
def test_eleventh_request_in_a_second_gets_the_throttle_body_and_later_recovers(limited):
    running, client = limited
    statuses = [client.get("preferences").status_code for _ in range(10)]
    assert statuses == [200] * 10
    throttled = client.get("preferences")
    assert_throttle_json(throttled)
    deadline = time.monotonic() + 3
    while (recovered := client.get("preferences")).status_code == 429:
        assert time.monotonic() < deadline, "the limiter never recovered"
        time.sleep(0.05)
    assert recovered.status_code == 200
    assert 429 in [entry["status"] for entry in log(running)]


def test_throttled_xml_clients_get_the_xml_body(limited):
    running, _ = limited
    with client_for(running, realms(running)[0], accept="application/xml") as client:
        responses = [client.get("preferences") for _ in range(11)]
    assert [r.status_code for r in responses[:10]] == [200] * 10
    assert_throttle_xml(responses[10])


def test_limits_are_per_realm(limited):
    running, client = limited
    for _ in range(10):
        client.get("preferences")
    assert client.get("preferences").status_code == 429
    with client_for(running, realms(running)[1]) as other:
        assert other.get("preferences").status_code == 200


def test_limits_can_be_switched_off_and_on_at_run_time(limited):
    running, client = limited
    assert httpx.put(f"{running.url}/_emulator/limits", json={"enabled": False}).status_code == 200
    assert {client.get("preferences").status_code for _ in range(25)} == {200}
    httpx.put(f"{running.url}/_emulator/limits", json={"enabled": True})
    statuses = [client.get("preferences").status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


def test_500_requests_per_minute_over_http(limited):
    running, client = limited
    clock = FakeClock()
    running.state.limiter = RateLimiter(
        enabled=lambda: running.state.settings.limits_enabled, clock=clock
    )
    for _ in range(500):
        assert client.get("preferences").status_code == 200
        clock.advance(0.11)
    assert_throttle_json(client.get("preferences"))
    clock.advance(6)
    assert client.get("preferences").status_code == 200


def test_40_batches_per_minute_over_http(limited):
    running, client = limited
    clock = FakeClock()
    running.state.limiter = RateLimiter(
        enabled=lambda: running.state.settings.limits_enabled, clock=clock
    )
    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    for _ in range(40):
        assert client.post("batch", json=batch).status_code == 200
        clock.advance(0.2)
    assert_throttle_json(client.post("batch", json=batch))
    assert client.get("preferences").status_code == 200


def test_eleventh_concurrent_request_is_throttled(limited):
    running, client = limited
    running.state.limiter = RateLimiter(
        enabled=lambda: running.state.settings.limits_enabled, per_second=1000
    )
    add_fault(running, status="slow", delay_ms=800, count=11)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            base_url=str(client.base_url), headers=dict(client.headers), timeout=10
        ) as session:
            responses = await asyncio.gather(*(session.get("preferences") for _ in range(11)))
        return sorted(r.status_code for r in responses)

    assert asyncio.run(burst()) == [200] * 10 + [429]
    # Once they finished, requests are admitted again.
    httpx.delete(f"{running.url}/_emulator/faults")
    assert client.get("preferences").status_code == 200
