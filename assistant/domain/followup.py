"""Follow-ups in context: a short message ("and to Canada?", "how much is it?", "et pour la Belgique ?") is also read
together with the conversation's previous question, and the reading that says more is decided on. Pure functions;
the pipeline encodes both readings in its one batch, the policy reads the result.

The rule:
- a message is a follow-up candidate when it has at most `followup_max_words` words (two Han characters count as
  a word) and the conversation's previous question was asked at most `followup_window_minutes` ago;
- the combined text is "previous question + follow-up"; it is decided on only when the message alone is not
  confident, the combined reading is a KB entry, and it is more confident than the message alone (or the message
  alone matches nothing: below the out-of-scope similarity);
- a combined reading that lands on the entry the previous question was already answered with is never answered
  again outright: the previous text dominates the combined one, so "how much is it?" after a delivery-time answer
  reads as delivery time once more. Such a message is asked to choose between that entry and the follow-up's own
  candidates instead (or to rephrase, when it has none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain.clarification import Candidate, entry_candidates
from assistant.domain.messages import ConversationState
from assistant.domain.readings import FAQ_PREFIX, IntentPrediction

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER_RUN = re.compile(r"[^\W\d_]", re.UNICODE)


def word_count(text: str) -> int:
    """Words of a message: whitespace-separated tokens with a letter, and every two Han characters as one word."""
    count = 0
    for token in text.split():
        han = len(_HAN.findall(token))
        if han:
            count += (han + 1) // 2 + (1 if _LETTER_RUN.search(_HAN.sub("", token)) else 0)
        elif _LETTER_RUN.search(token):
            count += 1
    return count


def previous_question(
    state: ConversationState, text: str, now: datetime, max_words: int, window_minutes: float
) -> str | None:
    """The previous question to read `text` with, when `text` is short and that question is recent enough."""
    if not state.previous_text or state.previous_at is None or word_count(text) > max_words:
        return None
    if now - state.previous_at > timedelta(minutes=window_minutes):
        return None
    return state.previous_text


@dataclass(frozen=True)
class FollowUpReading:
    """Both readings of a short follow-up and which one the engine decides on."""

    previous_text: str
    combined_text: str
    previous_entry_id: str | None
    alone: IntentPrediction
    combined: IntentPrediction
    used: bool
    why: str

    @property
    def repeats_previous(self) -> bool:
        """The combined reading is the entry the previous question was already answered with."""
        return self.used and self.previous_entry_id is not None and self.combined.entry_id == self.previous_entry_id

    def candidates(self) -> list[Candidate]:
        """For a repeat: the previous entry (from the combined reading), then the follow-up's own KB candidates."""
        mine = [
            c for c in entry_candidates(self.alone.alternatives, FAQ_PREFIX) if c.entry_id != self.previous_entry_id
        ]
        return [Candidate(self.previous_entry_id or "", self.combined.probability), *mine]


def read_follow_up(
    previous_text: str,
    combined_text: str,
    previous_entry_id: str | None,
    alone: IntentPrediction,
    combined: IntentPrediction,
    threshold: float,
    kb_threshold: float,
    out_of_scope_similarity: float,
) -> FollowUpReading:
    """Which reading to decide on, by the rule in the module docstring, and why. "Clear on its own" uses the bar
    the policy acts on: `kb_threshold` (the KB answers' own) when the message alone names a KB entry, else
    `threshold`; a follow-up the policy would answer as it stands is never re-read."""
    if alone.reaches(kb_threshold if alone.entry_id is not None else threshold):
        used, why = False, f"clear on its own (confidence {alone.confidence:.2f})"
    elif combined.entry_id is None:
        used, why = False, f"the combined reading matches no KB entry ({combined.label})"
    elif alone.similarity < out_of_scope_similarity:
        used, why = True, f"the message alone matches nothing (similarity {alone.similarity:.2f})"
    elif combined.confidence > alone.confidence:
        used, why = True, f"more confident ({combined.confidence:.2f} against {alone.confidence:.2f} alone)"
    else:
        used, why = False, f"no more confident ({combined.confidence:.2f} against {alone.confidence:.2f} alone)"
    return FollowUpReading(previous_text, combined_text, previous_entry_id, alone, combined, used, why)
