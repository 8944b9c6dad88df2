"""A growing delay after failed sign-ins, per account and address (docs/operations.md,
"Accounts and sign-in").

Each pair of an account (its email, hashed) and the address trying it counts its failures
in the cache: the first FREE_FAILURES cost nothing (typing mistakes), then each further try
waits twice as long as the one before, from one second up to LOGIN_DELAY_MAX_SECONDS. A
success clears the pair; failures are forgotten an hour after the last one.

Because the pair includes the address, someone guessing a reviewer's password slows down
their own address only: the reviewer, signing in from elsewhere, is not held up by it. The
per-address and per-account throttles (certification/api/throttling.py, THROTTLE_LOGIN and
THROTTLE_LOGIN_ACCOUNT) bound what many addresses together can try; portal/accounts.py
exempts a browser the account signed in with before from the per-account one, so that
they do not keep its owner out of its usual browser (they can hold up other browsers and
auth/token/: docs/operations.md).

Nothing here reads the database: the cache is Redis in production (CACHE_URL), shared by
every worker, or each process's memory on the embedded default."""

import hashlib
import math
import time

from django.core.cache import cache

from registry.credentials import FREE_FAILURES, failure_delay

__all__ = ["FREE_FAILURES", "account_digest", "clock", "failed", "succeeded", "wait_seconds"]

MEMORY_SECONDS = 3600


def clock():
    """Now, in seconds (a seam for tests)."""
    return time.time()


def account_digest(email):
    """What a counter's key holds of an account's email: its SHA-256 (of the email trimmed
    and in lower case), 32 hex digits. The sign-in throttles' per-account key uses it too."""
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def _keys(email, address):
    """The pair's failure count and the time of its last failure: two keys, so that the
    count is raised in one atomic step of the cache."""
    pair = f"{account_digest(email)}:{address}"
    return f"login-failures:{pair}", f"login-failed-at:{pair}"


def wait_seconds(email, address):
    """Whole seconds before this address may try this account again; 0 when it may now."""
    count_key, last_key = _keys(email, address)
    found = cache.get_many([count_key, last_key])
    remaining = found.get(last_key, 0.0) + failure_delay(found.get(count_key, 0)) - clock()
    return math.ceil(remaining) if remaining > 0 else 0


def failed(email, address):
    """Count a failed sign-in of the pair. Failures at the same moment, in other workers,
    are all counted: the count is created if missing (add) and raised (incr), never read
    and written back."""
    count_key, last_key = _keys(email, address)
    cache.set(last_key, clock(), MEMORY_SECONDS)
    if not cache.add(count_key, 1, MEMORY_SECONDS):
        try:
            cache.incr(count_key)
        except ValueError:  # expired between the two: this failure starts it again
            cache.add(count_key, 1, MEMORY_SECONDS)
        cache.touch(count_key, MEMORY_SECONDS)  # forgotten an hour after the last failure


def succeeded(email, address):
    cache.delete_many(_keys(email, address))
