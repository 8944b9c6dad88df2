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
exempts a browser the account signed in with before from the per-account one, so that not
even they keep its owner out.

Nothing here reads the database: the cache is Redis in production (CACHE_URL), shared by
every worker, or each process's memory on the embedded default."""

import hashlib
import math
import time

from django.core.cache import cache

from registry.credentials import FREE_FAILURES, failure_delay

__all__ = ["FREE_FAILURES", "clock", "failed", "succeeded", "wait_seconds"]

MEMORY_SECONDS = 3600


def clock():
    """Now, in seconds (a seam for tests)."""
    return time.time()


def _key(email, address):
    account = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]
    return f"login-delay:{account}:{address}"


def wait_seconds(email, address):
    """Whole seconds before this address may try this account again; 0 when it may now."""
    failures, last = cache.get(_key(email, address), (0, 0.0))
    remaining = last + failure_delay(failures) - clock()
    return math.ceil(remaining) if remaining > 0 else 0


def failed(email, address):
    """Count a failed sign-in of the pair; returns how long it waits now."""
    key = _key(email, address)
    failures, _last = cache.get(key, (0, 0.0))
    cache.set(key, (failures + 1, clock()), MEMORY_SECONDS)
    return failure_delay(failures + 1)


def succeeded(email, address):
    cache.delete(_key(email, address))
