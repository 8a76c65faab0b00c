"""The use cases, free of any web or queue framework: what the Celery tasks, the Flask views, the CLI and the tests
all call.

Each module is one area's use cases: `inbound` (process one webhook event: record, decide, escalate, reserve the
reply), `delivery` (deliver one reply through its channel, with retries and reply windows), `escalate` (open and
route escalations, SLA due times), `timers` (the beat: SLA breaches, automatic assignment), `helpdesk` (the ticket
pushed to a helpdesk), `agent_actions` and `reply_rules` (what an agent does with an escalation), `kb_editing`
(the KB editor's save, workflow and preview), `kb_gaps` (the content-gap report and drafts from it), `publishing`
(which KB is indexed, re-index, roll back, readiness), `api_tokens`. A use case gets its stores, clock and side
effects (send, deliver a reply, write an audit line, ask for a re-index) from its caller as arguments or a small
frozen dataclass of dependencies, refuses with the kinds of `assistant.errors`, and returns plain dataclasses or
enums: the tasks, views and commands map those to their own output. Nothing here imports flask, celery or
`webhooks` (import-linter checks it)."""
