"""What the use cases of every area take from their caller in the same shape: the audit writer and the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol


class Audit(Protocol):
    """Write one audit line for the person acting (the caller knows who and from where)."""

    def __call__(self, action: str, object_type: str, object_id: str | int | None = None, **details: Any) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)
