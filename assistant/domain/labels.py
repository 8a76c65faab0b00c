"""Labels agents put on conversations: one form, so "VIP", " vip " and "vip" are the same label."""

from __future__ import annotations

import re

from assistant.errors import BadInput

LABEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def normalise_label(label: str) -> str:
    """Lowercase, spaces become '-'; 1–40 letters, digits, '-' and '_' (BadInput otherwise)."""
    name = "-".join(label.strip().lower().split())
    if not LABEL_PATTERN.match(name):
        raise BadInput(f"invalid label {label[:40]!r}: 1–40 lowercase letters, digits, '-' and '_'")
    return name
