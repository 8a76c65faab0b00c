"""The move of a data folder from the legacy layout (index/faq.*, models/intent_model.*, no pointer) to versioned
builds: `published_pointer`, which every loader calls, makes version 1 from the KB folder the first time anything
loads such a folder; that build seeds itself from the legacy files and deletes them."""

from __future__ import annotations

import logging

from assistant.knowledge.index_builds import build_locked
from assistant.knowledge.index_versions import Pointer, build_lock, gc_paused, index_root, legacy_files, read_pointer
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.knowledge.retrieval import IndexMismatchError
from assistant.nlu.embeddings import Encoder
from assistant.settings import Settings

MIGRATION_REASON = "migrated from the legacy layout"

# The logger of the versioned index as a whole: operators filter on it, whichever module logs.
log = logging.getLogger("community_assistant.index_versions")


def published_pointer(settings: Settings, encoder: Encoder) -> Pointer:
    """The version to serve, for every loader. A data folder still in the legacy layout becomes version 1 here
    (built from the KB folder, seeded from the legacy files, which are then deleted); nothing built at all is a
    NotReady with what to run."""
    root = index_root(settings)
    pointer = read_pointer(root)
    if pointer is not None:
        return pointer
    if not legacy_files(settings):
        raise IndexMismatchError(f"no index version is published in {root}; build one with `assistant train`")
    with build_lock(root), gc_paused():
        if (pointer := read_pointer(root)) is None:  # not migrated meanwhile by another process
            kb = load_knowledge_base(settings.kb_dir)
            info = build_locked(settings, kb, encoder, MIGRATION_REASON, False, "yaml")
            log.info("migrated the legacy index of %s to version %s (%s encoded)", root, info.version, info.encoded)
            pointer = read_pointer(root)
    assert pointer is not None
    return pointer
