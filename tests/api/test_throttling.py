"""The sliding-window throttles (certification.api.throttling): the rate holds over any
period, not only within a calendar minute; waiting the time given is enough; counts are
shared and exact across workers on Redis."""

import threading
import uuid

import pytest

from certification.api.throttling import (
    AddressThrottle,
    MemoryCounters,
    RedisCounters,
    TokenThrottle,
    allow_all,
)
from tests.factories import ReviewerFactory

MINUTE = 60.0
START = 1_000_000 * MINUTE  # the beginning of a period
REDIS_URL = "redis://127.0.0.1:6379/13"


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Caller:
    def __init__(self, address="203.0.113.7", user=None):
        self.META = {"REMOTE_ADDR": address}
        self.headers = {}
        self.user = user


def _throttle(counters, clock, rate="10/min", kind=AddressThrottle):
    throttle = kind()
    throttle.counters = counters
    throttle.timer = clock
    throttle.rate = rate
    throttle.num_requests, throttle.duration = throttle.parse_rate(rate)
    return throttle


def _allowed(counters, clock, count, caller=None, rate="10/min"):
    caller = caller or Caller()
    return [_throttle(counters, clock, rate).allow_request(caller, None) for _ in range(count)]


@pytest.fixture
def memory():
    return MemoryCounters()


@pytest.fixture
def redis_counters():
    counters = RedisCounters(REDIS_URL)
    counters.prefix = f"test-{uuid.uuid4()}:"
    try:
        counters.client.ping()
    except Exception as error:  # noqa: BLE001 - any connection failure means no Redis here
        pytest.skip(f"needs Redis on 127.0.0.1:6379 ({error}); CI runs it")
    yield counters
    for key in counters.client.scan_iter(f"{counters.prefix}*"):
        counters.client.delete(key)


@pytest.fixture(params=["memory", "redis"])
def counters(request):
    return request.getfixturevalue("memory" if request.param == "memory" else "redis_counters")


def test_the_rate_holds_within_a_period_and_per_caller(counters):
    clock = Clock(START + 30)
    assert _allowed(counters, clock, 11) == [True] * 10 + [False]
    assert _allowed(counters, clock, 1, Caller("198.51.100.1")) == [True]


def test_the_previous_period_counts_for_the_part_still_in_the_window(counters):
    clock = Clock(START + 50)
    assert _allowed(counters, clock, 10) == [True] * 10
    # 40 s into the next period a third of the previous one is still in the last minute:
    # 10 * (1 - 40/60) = 3.3 are counted, so 6 more fit (9.3), not 10.
    clock.now = START + MINUTE + 40
    assert _allowed(counters, clock, 7) == [True] * 6 + [False]
    # A burst at the end of one period and the start of the next is not twice the rate.
    clock.now = START + 2 * MINUTE + 1
    assert sum(_allowed(counters, clock, 10)) < 10


def test_waiting_the_time_given_is_enough(counters):
    clock = Clock(START + 10)
    _allowed(counters, clock, 10)
    denied = _throttle(counters, clock)
    assert denied.allow_request(Caller(), None) is False
    wait = denied.wait()
    assert 0 < wait <= 2 * MINUTE
    clock.now += wait
    assert _throttle(counters, clock).allow_request(Caller(), None) is True


def test_allow_all_counts_all_or_nothing(counters, db):
    clock = Clock(START + 30)
    reviewer = Caller(user=ReviewerFactory())

    def pair(address_rate="5/min", token_rate="2/min"):
        return [
            _throttle(counters, clock, address_rate),
            _throttle(counters, clock, token_rate, kind=TokenThrottle),
        ]

    verdicts = [allow_all(pair(), reviewer) for _ in range(5)]
    assert verdicts == [True, True, False, False, False]
    # The refused requests took nothing of the address's rate: an anonymous caller from the
    # same address (judged by the address alone) has the 3 places left.
    assert [allow_all(pair(), Caller()) for _ in range(4)] == [True, True, True, False]


def test_counts_on_redis_are_exact_across_concurrent_workers(redis_counters):
    """Eight workers counting at once lose no request (DRF's list in one key would)."""
    clock = Clock(START + 30)
    rate = "100000/min"

    def work():
        for _ in range(50):
            assert _throttle(redis_counters, clock, rate).allow_request(Caller(), None)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    throttle = _throttle(redis_counters, clock, rate)
    assert throttle.allow_request(Caller(), None)
    assert throttle.current == 400  # counted before this one


def test_concurrent_requests_never_both_take_the_last_place_on_redis(redis_counters):
    clock = Clock(START + 30)
    verdicts = []

    def work():
        verdicts.extend(_allowed(redis_counters, clock, 10, rate="25/min"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(verdicts) == 25


def test_a_counter_on_redis_expires_after_two_periods(redis_counters):
    throttle = _throttle(redis_counters, Clock(START + 30))
    assert throttle.allow_request(Caller(), None)
    assert throttle.allow_request(Caller(), None)
    name = redis_counters.prefix + throttle.key
    assert int(redis_counters.client.get(name)) == 2
    assert 0 < redis_counters.client.ttl(name) <= 2 * MINUTE


def _worker(redis_counters):
    """Another worker process: its own client and places, the same Redis counters."""
    other = RedisCounters(REDIS_URL)
    other.prefix = redis_counters.prefix
    return other


def test_a_worker_asks_redis_once_per_lease(redis_counters, monkeypatch):
    asked = []
    lease = redis_counters._lease
    monkeypatch.setattr(redis_counters, "_lease", lambda **kw: asked.append(1) or lease(**kw))
    clock = Clock(START + 30)
    # 6000 a minute: places leased 50 at a time (a hundredth of the rate, at most 50).
    assert all(_allowed(redis_counters, clock, 120, rate="6000/min"))
    assert len(asked) == 3
    throttle = _throttle(redis_counters, clock, "6000/min")
    assert throttle.applies(Caller())
    assert int(redis_counters.client.get(redis_counters.prefix + throttle.key)) == 150


def test_workers_together_never_exceed_the_rate(redis_counters):
    clock = Clock(START + 30)
    workers = [redis_counters, _worker(redis_counters), _worker(redis_counters)]
    # 300 a minute: leases of 3; the three workers take turns, 400 requests in all.
    verdicts = [
        _throttle(workers[n % 3], clock, "300/min").allow_request(Caller(), None)
        for n in range(400)
    ]
    # Never more than the rate; at most two places per worker left unused in their leases.
    assert 300 - 3 * 2 <= sum(verdicts) <= 300


def test_a_forked_worker_holds_none_of_its_parents_places(redis_counters):
    clock = Clock(START + 30)
    assert _allowed(redis_counters, clock, 1, rate="6000/min") == [True]
    assert sum(redis_counters._leased.values()) == 49
    redis_counters._pid = -1  # as seen from a child after fork
    assert _allowed(redis_counters, clock, 1, rate="6000/min") == [True]
    assert sum(redis_counters._leased.values()) == 49  # a lease of its own, the old one gone
