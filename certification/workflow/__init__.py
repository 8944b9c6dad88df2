"""Every write of the registry's workflow, one function per transition (``services``):
accounts, producers and products, applications from draft to decision, certificates
issued, suspended, reinstated and revoked, supporting documents. Each locks its row,
checks visibility, permission and state in that order, and writes the change, its audit
event and its outbox events in one transaction; slow work follows on commit."""
