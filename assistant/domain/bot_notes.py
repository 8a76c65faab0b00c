"""What the bot's decision means, said in words for the people who take over: why a conversation came to them
and, where a KB entry was close but not close enough, which one. The console's pages and API show these
sentences instead of the raw action, reason code and confidence (which stay available in the details)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.domain.messages import Action, DecisionKind, EscalationReason

# One sentence per escalation reason, as an agent reads it at a glance.
REASON_WORDS: dict[str, str] = {
    EscalationReason.HUMAN_REQUESTED: "The customer asked to talk to a person.",
    EscalationReason.COMPLAINT: "The customer is complaining: complaints are always answered by a person.",
    EscalationReason.NEGATIVE_SENTIMENT: "The customer sounds upset, so a person answers instead of the bot.",
    EscalationReason.RISKY_TOPIC: "The message touches a sensitive topic that only a person may answer.",
    EscalationReason.LOW_CONFIDENCE: "The bot was not sure enough of an answer.",
    EscalationReason.OUT_OF_SCOPE: "Nothing in the knowledge base covers this question.",
    EscalationReason.IN_HOURS_POLICY: "A routine question during business hours: the team answers those.",
    EscalationReason.FEEDBACK: "The customer left feedback for the team.",
    EscalationReason.DELIVERY_FAILED: "A reply could not be delivered to the customer.",
    EscalationReason.PROCESSING_FAILED: "The service could not process this message, so a person reads it.",
    EscalationReason.ABUSE: "The message looks abusive.",
    EscalationReason.SPAM: "The message looks like spam.",
}
# Reasons for which the entry a decision names was the nearest match, not an answer the bot trusted.
UNSURE_REASONS = frozenset({EscalationReason.LOW_CONFIDENCE, EscalationReason.OUT_OF_SCOPE})


@dataclass(frozen=True)
class BotNote:
    """`summary`: what the bot did and why; `closest`: "closest entry: X (not sure enough to answer)" or None."""

    summary: str
    closest: str | None = None


def reason_in_words(reason: str | None) -> str:
    """The escalation reason as a sentence; an unknown code is shown readably rather than hidden."""
    if not reason:
        return "No reason was recorded."
    return REASON_WORDS.get(reason, reason.replace("_", " ").capitalize() + ".")


def closest_entry(reason: str | None, entry_id: str | None) -> str | None:
    if entry_id and reason in UNSURE_REASONS:
        return f"closest entry: {entry_id} (not sure enough to answer)"
    return None


def explain(action: Action, reason: str | None, entry_id: str | None, kind: DecisionKind | None = None) -> BotNote:
    """The bot's note on one decision."""
    closest = closest_entry(reason, entry_id)
    if action == Action.ESCALATE:
        return BotNote(f"Handed to a person. {reason_in_words(reason)}", closest)
    if action == Action.MODERATE:
        return BotNote(f"Moderated. {reason_in_words(reason)}", None)
    if action == Action.IGNORE:
        return BotNote("The bot did not reply.", None)
    if kind == DecisionKind.KB_ANSWER or (kind is None and entry_id and closest is None):
        return BotNote(f"Answered from the knowledge base (entry {entry_id}).", None)
    if kind == DecisionKind.CLARIFICATION:
        return BotNote("Asked the customer to say more or to pick a topic.", closest)
    return BotNote("Answered with one of the bot's reply templates.", closest)
