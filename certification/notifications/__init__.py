"""Telling people and systems what changed, at least once and never lost: domain events
written to the outbox in the transaction of the change (``outbox``), fanned out into one
delivery per recipient and sent under a lease with backoff (``dispatch``), as emails in the
recipient's language (``emails``) or signed webhook POSTs (``webhooks``), and the daily
expiry jobs that record ended certificates and remind holders (``expiry``)."""
