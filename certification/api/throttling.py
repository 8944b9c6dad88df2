"""Throttles per address (every caller) and per token (authenticated callers); customs get
a generous per-token rate because bulk verification is their norm; auth/ endpoints are
stricter per address.

The rates are DRF's (``DEFAULT_THROTTLE_RATES``, ``"6000/min"``), the counting is ours.
DRF's SimpleRateThrottle keeps the time of every request of the last period in one cache
entry, read and written whole on every request: a customs token at its 6000 a minute costs
a 6000-element list each time, and two workers can overwrite each other's update. Here each
caller has two counters, this period's and the previous one's, and the rate is judged on a
sliding window: the previous period's count weighted by how much of it still lies within
the last period, plus this period's count. Counting is an atomic increment.

Counters live in Redis when ``CACHE_URL`` names one (production: shared by every worker),
else in the process's memory (MemoryCounters; the embedded default). On Redis a worker
leases places in batches (RedisCounters): one script reads, judges and counts atomically,
through redis-py directly (through Django's cache API the same work costs five round trips,
and a new client object for each), once per batch rather than once per request.

``allow_all`` judges a request by several throttles at once and counts it in all of them
only when every one lets it through: the short way of the verify endpoint
(certification.api.fastpath) uses it, and leaves a refused request to DRF, which then
counts it exactly as on every other endpoint."""

import functools
import math
import os
import threading

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from certification.core import login_guard
from registry.models import User


class MemoryCounters:
    """Counters in this process's memory: the embedded default, where one process serves."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}  # counter key: [count, when it may be forgotten]

    def allow(self, throttles):
        with self._lock:
            counts = self._counts
            verdicts = [
                throttle.judge(
                    counts.get(throttle.key, _NONE)[0], counts.get(throttle.previous_key, _NONE)[0]
                )
                for throttle in throttles
            ]
            if not all(verdicts):
                return False
            for throttle in throttles:
                entry = counts.get(throttle.key)
                if entry is None:
                    counts[throttle.key] = [1, throttle.now + throttle.keep]
                else:
                    entry[0] += 1
            if len(counts) > 10_000:
                now = throttles[0].now
                self._counts = {key: entry for key, entry in counts.items() if entry[1] > now}
            return True

    def clear(self):
        with self._lock:
            self._counts = {}


_NONE = (0, 0.0)


class RedisCounters:
    """Counters in Redis, shared by every worker, with permits leased in batches.

    A worker asks Redis for several places at once for a caller (a lease: up to a hundredth
    of the rate, at most ``lease_limit``; one at a time for rates under 200 a period), then
    spends them without asking again: one round trip per lease instead of per request. The
    script grants only places that fit the sliding window, atomically, so the rate is never
    exceeded, whatever the number of workers; places a worker leased and did not use before
    the period ends are lost to that caller (at most ``lease_limit - 1`` per worker and
    period), so it may get slightly fewer than its rate, never more."""

    prefix = "mca:"
    lease_limit = 50

    # KEYS: per throttle, this period's and the previous period's counter. ARGV: per
    # throttle, the previous period's weight, the rate, the timeout of a new counter and
    # the places wanted. Returns per throttle the places granted (0: refused; the verdict
    # of SlidingWindowThrottle.judge), and the two counts read.
    _LEASE = """
        local result = {}
        for i = 1, #KEYS / 2 do
            local current = tonumber(redis.call("GET", KEYS[2 * i - 1]) or "0")
            local previous = tonumber(redis.call("GET", KEYS[2 * i]) or "0")
            local room = tonumber(ARGV[4 * i - 2]) - previous * tonumber(ARGV[4 * i - 3]) - current
            local granted = math.max(0, math.min(tonumber(ARGV[4 * i]), math.floor(room)))
            if granted > 0 and redis.call("INCRBY", KEYS[2 * i - 1], granted) == granted then
                redis.call("EXPIRE", KEYS[2 * i - 1], ARGV[4 * i - 1])
            end
            table.insert(result, granted)
            table.insert(result, current)
            table.insert(result, previous)
        end
        return result
    """

    def __init__(self, url):
        import redis

        self.client = redis.Redis.from_url(url)
        self._lease = self.client.register_script(self._LEASE)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._leased = {}  # counter key (its period included): places this process holds

    def allow(self, throttles):
        with self._lock:
            if self._pid != os.getpid():  # a forked worker holds none of its parent's places
                self._pid, self._leased = os.getpid(), {}
            wanting = [t for t in throttles if self._leased.get(t.key, 0) < 1]
            if wanting:
                self._ask(wanting)
            if any(self._leased.get(t.key, 0) < 1 for t in throttles):
                return False  # places leased for the other throttles are kept for later
            for throttle in throttles:
                self._leased[throttle.key] -= 1
            return True

    def _ask(self, throttles):
        if len(self._leased) > 10_000:  # mostly keys of periods gone by
            self._leased = {key: n for key, n in self._leased.items() if n > 0}
        keys, args = [], []
        for throttle in throttles:
            keys += [self.prefix + throttle.key, self.prefix + throttle.previous_key]
            size = min(self.lease_limit, max(1, throttle.num_requests // 100))
            args += [repr(throttle.weight), throttle.num_requests, math.ceil(throttle.keep), size]
        result = self._lease(keys=keys, args=args)
        for index, throttle in enumerate(throttles):
            granted, current, previous = result[3 * index : 3 * index + 3]
            throttle.judge(current, previous)  # for wait()
            if granted:
                self._leased[throttle.key] = self._leased.get(throttle.key, 0) + granted


@functools.cache
def _counters(url):
    return RedisCounters(url) if url else MemoryCounters()


def forget_counts():
    """Start every caller afresh in this process (tests; Redis counters are left alone)."""
    counters = _counters(getattr(settings, "CACHE_URL", ""))
    if isinstance(counters, MemoryCounters):
        counters.clear()


class SlidingWindowThrottle(SimpleRateThrottle):
    counters = None  # the store; None: Redis at CACHE_URL, else this process's memory

    def get_counters(self):
        return self.counters or _counters(getattr(settings, "CACHE_URL", ""))

    def applies(self, request, view=None):
        """Whether this throttle judges this request; if so, sets the counters it is judged
        on: this period's (key) and the previous one's (previous_key), weighted by the part
        of the previous period still within the last period."""
        if self.rate is None:
            return False
        caller = self.get_cache_key(request, view)
        if caller is None:
            return False
        self.now = self.timer()
        period = math.floor(self.now / self.duration)
        self.elapsed = self.now - period * self.duration
        self.weight = 1 - self.elapsed / self.duration
        self.key = f"{caller}:{period}"
        self.previous_key = f"{caller}:{period - 1}"
        self.keep = 2 * self.duration  # the next period weighs this one
        return True

    def judge(self, current, previous):
        """With the two counts read: may this request go through? This request included,
        no more than the rate within the last period."""
        self.current, self.previous = current, previous
        return previous * self.weight + current + 1 <= self.num_requests

    def allow_request(self, request, view):
        return allow_all([self], request, view)

    def wait(self):
        """Seconds until the sliding window lets a request through again."""
        room, period = self.num_requests - 1, self.duration  # for the others
        if self.current <= room and self.previous:
            # Within this period, once enough of the previous one has slid out.
            wait = period * (1 - (room - self.current) / self.previous) - self.elapsed
        else:
            # In the next period, where this period's count is the one that slides out.
            wait = period - self.elapsed
            if self.current > room and self.current:
                wait += period * (1 - room / self.current)
        return max(wait, 1.0)


def allow_all(throttles, request, view=None):
    """Judge a request by several throttles at once: True when every one lets it through,
    and it is then counted by all; False when one does not, and nothing is counted. One
    round trip on Redis."""
    applying = [throttle for throttle in throttles if throttle.applies(request, view)]
    return not applying or applying[0].get_counters().allow(applying)


class AddressThrottle(SlidingWindowThrottle):
    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(SlidingWindowThrottle):
    scope = "token"

    def applies(self, request, view=None):
        user = request.user
        if user is not None and user.is_authenticated and user.role == User.Role.CUSTOMS:
            self.scope = "customs"
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().applies(request, view)

    def get_cache_key(self, request, view):
        if request.user is None or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AuthThrottle(AddressThrottle):
    scope = "auth"


# --- Signing in (the pages' sign-in and the API's auth/token/) ----------------------------


class LoginAddressThrottle(AddressThrottle):
    """Sign-in attempts from one address, whatever the account (THROTTLE_LOGIN)."""

    scope = "login"


class LoginAccountThrottle(AddressThrottle):
    """Counts attempts on one account, from wherever they come (THROTTLE_LOGIN_ACCOUNT). The
    email is hashed: the counter's key holds no address."""

    scope = "login_account"

    def __init__(self, email):
        super().__init__()
        self.ident = login_guard.account_digest(email)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def sign_in_wait(request, email, throttles):
    """Seconds to wait before this sign-in attempt may be checked, or 0: it may, and it is
    counted by `throttles`. First the growing delay of the account and this address
    (core/login_guard.py, which counts failures only, through its own calls), then the
    throttles, judged and counted together."""
    delayed = login_guard.wait_seconds(email, client_address(request))
    if delayed:
        return delayed
    if allow_all(throttles, request):
        return 0
    waits = [throttle.wait() for throttle in throttles if hasattr(throttle, "current")]
    return math.ceil(max(waits, default=60))


def client_address(request):
    """The address the throttles count a request by (TRUSTED_PROXIES hops back)."""
    return AddressThrottle().get_ident(request)
