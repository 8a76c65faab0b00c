"""The domain rules: what a message, a decision, an escalation and a channel are, and the pure rules over them
(the policy, handoff and claims, routing, SLA and business hours, reply windows, the brand's voice). They import
no I/O library (SQLAlchemy, Redis, httpx, FAISS, Flask, Celery): import-linter checks it."""
