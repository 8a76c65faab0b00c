"""Model files written before the core moved into subpackages still load: a class pickled under its old module is
found where it lives now, so upgrading does not force a retrain."""

from __future__ import annotations

import pickle

import pytest

from assistant.domain.readings import IntentPrediction
from assistant.nlu.model_files import MOVED_MODULES, MOVED_NAMES, load_model


def written_by_the_flat_layout(value: object, old_module: str) -> bytes:
    """`value` pickled as the old code wrote it: protocol 0 records each class as text, `c<module>\\n<name>\\n`."""
    data = pickle.dumps(value, protocol=0)
    return data.replace(f"c{type(value).__module__}\n".encode(), f"c{old_module}\n".encode())


def test_a_prediction_pickled_under_the_old_intent_model_module_loads() -> None:
    prediction = IntentPrediction("faq:returns", 0.9, 0.8, 0.7, [("faq:returns", 0.9)])
    old = written_by_the_flat_layout(prediction, "assistant.intent_model")
    assert b"cassistant.intent_model\n" in old
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(old)
    assert load_model(old) == prediction


def test_every_moved_module_and_name_points_at_something_that_exists() -> None:
    import importlib
    import importlib.util

    for old, new in MOVED_MODULES.items():
        assert importlib.util.find_spec(old) is None, old
        importlib.import_module(new)
    for (old, name), new in MOVED_NAMES.items():
        assert hasattr(importlib.import_module(new), name), (old, name)
