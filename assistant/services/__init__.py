"""Use cases of the console and the command line, free of any web framework.

Each module is one area's use cases (e.g. `agent_actions`: what an agent does with an escalation; `kb_editing`:
the KB editor's save, workflow and preview; `kb_gaps`: the content-gap report and drafts from it). A use case gets
its stores, clock and side effects (deliver a reply, write an audit line, ask for a re-index) from its caller as
arguments or a small frozen dataclass of dependencies, refuses with the kinds of `assistant.errors`, and returns
plain dataclasses: the Flask views and the CLI map those to their own output. Nothing here imports flask, celery
or `webhooks`."""
