"""The agents' inbox in the console (issue 13): one list across the queues a person may see, full-text search over
conversations, the customer panel of a conversation and labels; JSON API (`api`, /api/v1/…) and pages (`pages`,
/console/inbox, /console/conversations/…). Both call the same use cases (assistant.services.agent_inbox)."""

from __future__ import annotations

from flask import Flask

from webhooks.console.inbox import api, pages
from webhooks.console.nav import NavLink, add_nav_link


def register_inbox(app: Flask) -> None:
    """Register the inbox blueprints and its header link (after `register_queues`, whose store it reads)."""
    add_nav_link(app, NavLink("inbox", "Inbox", "/console/inbox", roles=("agent", "admin")))
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
