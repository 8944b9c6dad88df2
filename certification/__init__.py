"""The decision and its proof: applications, their review, certificates, verification and
the notifications about them.

The subpackages follow the data flow, and each imports only from those listed before it
(tests/test_layering.py enforces it):

- ``models.py``, ``exceptions.py``: the tables and the one family of domain errors;
- ``core/``: certificate numbers, validity dates and the derived status, who may see and
  do what, the audit chain, queueing tasks by name;
- ``verification/``, ``documents/``, ``notifications/`` (independent of each other):
  signing and the verify read path; the certificate PDF; the outbox, its dispatch, emails,
  webhooks and the expiry jobs;
- ``workflow/``: every write, one function per transition;
- the interfaces on top: ``api/``, ``views.py`` (public pages), ``admin.py``, ``health.py``,
  ``tasks.py`` (Celery), ``demo.py`` and ``management/commands/``.
"""
