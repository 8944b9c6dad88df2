"""Proof that a certificate is genuine and what it says now: each authority's Ed25519 keys
on disk, the signed token and the JWK Set (``signing``), and the read path shared by the
customs API, its short way and the public verification page (``lookup``: a number in, the
verify object out, in one query)."""
