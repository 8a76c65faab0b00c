"""Issuing an API token for a console account, the same from the console's pages, its API and the command line:
the token is made and one audit line names it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.services.common import Audit
from assistant.store import AccountStore, TokenRecord


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the bearer token itself: only its hash is kept, so this is the one time it can be shown
    record: TokenRecord


def issue_token(accounts: AccountStore, user_id: int, name: str, audit: Audit, **details: Any) -> IssuedToken:
    """A new token named `name` for the user (AccountError for an empty name), audited as `token_issue` with the
    token's name and `details`."""
    token = accounts.issue_token(user_id, name)
    record = accounts.tokens(user_id)[-1]  # the newest: tokens come in the order they were issued
    audit("token_issue", "api_token", record.id, name=record.name, **details)
    return IssuedToken(token, record)
