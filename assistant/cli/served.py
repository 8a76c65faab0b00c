"""Which index version customers get, as `assistant ask`, `replay` and `demo` say it: they answer from that
version, and the line tells a shadow test apart from what the service answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.settings import Settings


def served_version(settings: Settings) -> dict[str, Any]:
    """Which index version customers get: its number, KB version, where its KB came from, since when, and whether
    the KB folder has changed since a version built from it (then the folder's edits are not live)."""
    from assistant.knowledge.index_versions import read_pointer, version_info

    pointer = read_pointer(settings.index_dir)
    if pointer is None:
        return {"index_version": None}
    info = version_info(settings.index_dir, pointer.version)
    served: dict[str, Any] = {
        "index_version": pointer.version,
        "kb_version": pointer.kb_version,
        "kb_source": info.kb_source or "unknown",
        "live_since": datetime.fromtimestamp(pointer.switched_at, UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if info.kb_source == "yaml" and settings.kb_dir.is_dir():
        served["kb_folder_changed"] = load_knowledge_base(settings.kb_dir).version != pointer.kb_version
    return served


def served_line(settings: Settings) -> str:
    served = served_version(settings)
    source = {"db": "the editor's database", "yaml": "the KB folder"}.get(served["kb_source"], served["kb_source"])
    line = (
        f"answering from index version {served['index_version']}, the one customers get (KB {served['kb_version']}"
        f" from {source}, live since {served['live_since']})"
    )
    if served.get("kb_folder_changed"):
        line += "; the KB folder has changed since, and its edits are not live: `assistant index` publishes them"
    return line
