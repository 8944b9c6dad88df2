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
else in Django's cache (the embedded default: each process's memory). On Redis one script
reads, judges and counts, atomically, in one round trip, through redis-py directly (through
Django's cache API the same work costs five round trips, and a new client object for each).

``allow_all`` judges a request by several throttles at once and counts it in all of them
only when every one lets it through: the short way of the verify endpoint
(certification.api.fastpath) uses it, and leaves a refused request to DRF, which then
counts it exactly as on every other endpoint."""

import functools
import math

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.throttling import SimpleRateThrottle

from registry.models import User


class CacheCounters:
    """Counters in a Django cache (each process's memory on the embedded default)."""

    def __init__(self, cache):
        self.cache = cache

    def allow(self, throttles):
        found = self.cache.get_many([key for t in throttles for key in (t.key, t.previous_key)])
        verdicts = [t.judge(found.get(t.key, 0), found.get(t.previous_key, 0)) for t in throttles]
        if not all(verdicts):
            return False
        for throttle in throttles:
            if not self.cache.add(throttle.key, 1, timeout=throttle.keep):
                try:
                    self.cache.incr(throttle.key)
                except ValueError:  # expired between add and incr
                    self.cache.add(throttle.key, 1, timeout=throttle.keep)
        return True


class RedisCounters:
    """Counters in Redis, judged and counted in one round trip, atomically: concurrent
    requests of one caller can never both take the last place."""

    prefix = "mca:"

    # KEYS: per throttle, this period's and the previous period's counter. ARGV: per
    # throttle, the previous period's weight, the rate and the timeout of a new counter.
    # The verdict is SlidingWindowThrottle.judge's; returns it (1 or 0) and the counts read.
    _ALLOW = """
        local counts, allowed = {}, 1
        for i = 1, #KEYS / 2 do
            local current = tonumber(redis.call("GET", KEYS[2 * i - 1]) or "0")
            local previous = tonumber(redis.call("GET", KEYS[2 * i]) or "0")
            counts[2 * i - 1], counts[2 * i] = current, previous
            if previous * tonumber(ARGV[3 * i - 2]) + current + 1 > tonumber(ARGV[3 * i - 1]) then
                allowed = 0
            end
        end
        if allowed == 1 then
            for i = 1, #KEYS / 2 do
                if redis.call("INCR", KEYS[2 * i - 1]) == 1 then
                    redis.call("EXPIRE", KEYS[2 * i - 1], ARGV[3 * i])
                end
            end
        end
        table.insert(counts, 1, allowed)
        return counts
    """

    def __init__(self, url):
        import redis

        self.client = redis.Redis.from_url(url)
        self._allow = self.client.register_script(self._ALLOW)

    def allow(self, throttles):
        keys, args = [], []
        for throttle in throttles:
            keys += [self.prefix + throttle.key, self.prefix + throttle.previous_key]
            args += [repr(throttle.weight), throttle.num_requests, math.ceil(throttle.keep)]
        allowed, *counts = self._allow(keys=keys, args=args)
        for index, throttle in enumerate(throttles):
            throttle.judge(counts[2 * index], counts[2 * index + 1])  # for wait()
        return allowed == 1


@functools.cache
def _counters(url):
    return RedisCounters(url) if url else CacheCounters(default_cache)


class SlidingWindowThrottle(SimpleRateThrottle):
    counters = None  # the store; None: Redis at CACHE_URL, else Django's cache

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
