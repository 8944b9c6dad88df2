"""What every other part of certification/ relies on, with no workflow of its own:
certificate numbers and their check digits (``numbering``), validity dates and the status
derived from them when read (``lifecycle``), who may see and do what (``policy``), the
hash-chained audit trail (``audit``) and queueing Celery tasks by name after a commit
(``queueing``). It imports only models, exceptions and registry/."""
