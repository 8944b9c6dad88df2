"""The public register of certified products (docs/architecture.md, docs/api.md "Open
data"): one row per certificate of a verified producer (RegisterEntry), kept in step by
`index` inside the transaction of every change that alters what the register shows
(approval, suspension, reinstatement, revocation, a producer's new name or attestation),
searched by `search` (PostgreSQL full text on folded terms with pg_trgm typo correction;
LIKE on SQLite), and streamed as open data by `export`. `text` folds the region's
spellings (Cyrillic and Latin) into one. It reads the certificates' snapshots, never the
live product: a product edited after issue is shown as it was certified. Layer 2: it
imports the models and certification/core only, and the workflow's services call it."""
