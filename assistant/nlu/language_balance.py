"""Which training examples a matcher may learn from without learning the language instead of the question.

`training/nlu.yml` holds its conversational intents in all five languages; a KB is often written in one. Trained on
both, a classifier learns that Chinese text means "an intent" (only intents have Chinese examples), and a Chinese
question about an English-only entry goes to small talk: on our cross-lingual set, with an English-only sample KB,
the right entry was ranked first for 39% of the Chinese questions, and 73% once the intents' Chinese examples were
left out of training. Those examples are not wasted: the model never saw them, so they are the calibration's
evidence of how a question in another language than the KB's scores (`calibration.out_of_fold`'s extra rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

# An intent example's language is kept in training while its share of the KB's phrasings is at least this fraction
# of its share of the intents' examples (a KB with a tenth of its phrasings in French keeps French intents).
MIN_LANGUAGE_RATIO = 0.5


def calibration_only(labels: Sequence[str], languages: Sequence[str], intent_prefix: str) -> np.ndarray:
    """True for the intent examples (labels starting with `intent_prefix`) in languages the KB's own examples barely
    use; they go to the calibration only. A KB without examples of its own keeps everything."""
    is_intent = np.array([label.startswith(intent_prefix) for label in labels], dtype=bool)
    langs = np.asarray(languages, dtype=object)
    kb_counts = Counter(langs[~is_intent].tolist())
    intent_counts = Counter(langs[is_intent].tolist())
    kb_total, intent_total = sum(kb_counts.values()), sum(intent_counts.values())
    mask = np.zeros(len(labels), dtype=bool)
    if kb_total == 0 or intent_total == 0:
        return mask
    for lang, count in intent_counts.items():
        ratio = (kb_counts.get(lang, 0) / kb_total) / (count / intent_total)
        if ratio < MIN_LANGUAGE_RATIO:
            mask |= is_intent & (langs == lang)
    return mask
