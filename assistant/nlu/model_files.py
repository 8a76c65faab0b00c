"""Reading the pickled model files `assistant train` writes, including those written before the core moved into
subpackages (issue 11): a class recorded under its old module (`assistant.intent_model.IntentModel`) is found
where it lives now (`assistant.nlu.intent_model`), so an upgrade does not force a retrain."""

from __future__ import annotations

import importlib
import io
import pickle
from typing import Any

# Where each module of the flat layout went. Names that moved to another module than their own are below.
MOVED_MODULES = {
    "assistant.calibration": "assistant.nlu.calibration",
    "assistant.classifier": "assistant.nlu.classifier",
    "assistant.embeddings": "assistant.nlu.embeddings",
    "assistant.intent_model": "assistant.nlu.intent_model",
    "assistant.intent_training": "assistant.nlu.intent_training",
    "assistant.keywords": "assistant.domain.keywords",
    "assistant.language": "assistant.nlu.language",
    "assistant.language_balance": "assistant.nlu.language_balance",
    "assistant.moderation": "assistant.nlu.moderation",
    "assistant.nlu_data": "assistant.nlu.nlu_data",
    "assistant.retrieval": "assistant.knowledge.retrieval",
    "assistant.risk": "assistant.nlu.risk",
    "assistant.sentiment": "assistant.nlu.sentiment",
    "assistant.signal_models": "assistant.nlu.signal_models",
    "assistant.knowledge_base": "assistant.knowledge.knowledge_base",
}
MOVED_NAMES = {
    ("assistant.intent_model", "IntentPrediction"): "assistant.domain.readings",
    ("assistant.language", "LanguageGuess"): "assistant.domain.readings",
    ("assistant.sentiment", "SentimentScore"): "assistant.domain.readings",
    ("assistant.risk", "RiskResult"): "assistant.domain.readings",
    ("assistant.moderation", "ModerationResult"): "assistant.domain.readings",
    ("assistant.retrieval", "Hit"): "assistant.domain.readings",
    ("assistant.knowledge_base", "KBEntry"): "assistant.domain.kb_entries",
    ("assistant.knowledge_base", "KnowledgeBase"): "assistant.domain.kb_entries",
}


class _RenamingUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        moved = MOVED_NAMES.get((module, name)) or MOVED_MODULES.get(module)
        if moved is not None:
            return getattr(importlib.import_module(moved), name)
        return super().find_class(module, name)


def load_model(data: bytes) -> Any:
    """The object pickled in `data` (a file written only by `assistant train`: treat it like code, not input)."""
    return _RenamingUnpickler(io.BytesIO(data)).load()
