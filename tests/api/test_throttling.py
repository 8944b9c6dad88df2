"""The sliding-window throttles (certification.api.throttling): the rate holds over any
period, not only within a calendar minute; waiting the time given is enough; counts are
shared and exact across workers on Redis."""

import threading
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache

from certification.api.throttling import (
    AddressThrottle,
    CacheCounters,
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
    return CacheCounters(LocMemCache(f"throttle-{uuid.uuid4()}", {}))


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

    def pair(address_rate, token_rate):
        return [
            _throttle(counters, clock, address_rate),
            _throttle(counters, clock, token_rate, kind=TokenThrottle),
        ]

    assert [allow_all(pair("5/min", "2/min"), reviewer) for _ in range(3)] == [True, True, False]
    # The refused request was counted by neither throttle.
    address, token = pair("5/min", "2/min")
    assert allow_all([address, token], reviewer) is False
    assert (address.current, token.current) == (2, 2)
    # An anonymous caller from the same address is judged by the address alone.
    assert allow_all(pair("3/min", "1/min"), Caller()) is True
    assert allow_all(pair("3/min", "1/min"), Caller()) is False


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
