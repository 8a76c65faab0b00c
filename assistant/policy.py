"""The decision rules: from one analysed message, the conversation's state and the time, decide to answer,
escalate (queue, priority, reason, suggested answer), moderate or ignore, and say why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assistant.business_hours import BusinessHours, describe_reopening
from assistant.intent_model import IntentPrediction
from assistant.knowledge_base import KnowledgeBase
from assistant.language import LanguageGuess
from assistant.messages import (
    Action,
    ConversationState,
    Decision,
    EscalationReason,
    HandoffState,
    InboundMessage,
    Priority,
)
from assistant.moderation import ModerationResult
from assistant.retrieval import Hit
from assistant.risk import RiskResult
from assistant.sentiment import SentimentScore
from assistant.settings import PolicyConfig
from assistant.voice import BrandVoice, clean_first_name, language_name

# Intents the bot answers itself from a template; the rest route to people or to the FAQ path.
TEMPLATE_INTENTS = ("greet", "thanks", "goodbye", "smalltalk")


@dataclass(frozen=True)
class MessageAnalysis:
    """Everything the models said about one message; the policy reads only this."""

    text: str
    language: LanguageGuess
    has_words: bool
    truncated: bool = False
    prediction: IntentPrediction | None = None
    hits: list[Hit] = field(default_factory=list)
    sentiment: SentimentScore | None = None
    moderation: ModerationResult | None = None
    risk: RiskResult | None = None
    human_keywords: list[str] = field(default_factory=list)


@dataclass
class Policy:
    config: PolicyConfig
    threshold: float
    out_of_scope_similarity: float
    hours: BusinessHours
    voice: BrandVoice
    kb: KnowledgeBase

    def decide(
        self, message: InboundMessage, analysis: MessageAnalysis, conversation: ConversationState, now: datetime
    ) -> Decision:
        lang = analysis.language.language
        decision = Decision(action=Action.IGNORE, language=lang)
        reasons = decision.reasons
        reasons.append(f"language {lang} ({analysis.language.method}, {analysis.language.confidence:.2f})")
        if analysis.truncated:
            reasons.append(f"message longer than {self.config.max_message_chars} characters: read the start only")
        self._record_scores(decision, analysis)

        if message.is_echo:
            reasons.append("our own message echoed back by the platform")
            return decision
        if conversation.handoff == HandoffState.HUMAN:
            reasons.append("a person owns this conversation: the bot stays silent")
            return decision
        if not analysis.has_words:
            reasons.append("no words (empty, whitespace or emoji only): nothing to answer")
            return decision

        is_open = self.hours.is_open(now)
        reasons.append("within business hours" if is_open else "outside business hours")
        name = clean_first_name(message.sender_name)
        prediction = analysis.prediction

        if conversation.handoff == HandoffState.WAITING_FOR_HUMAN:
            reasons.append("already waiting for a person: added to the open escalation")
            return self._escalate(
                decision,
                EscalationReason.HUMAN_REQUESTED,
                Priority.NORMAL,
                None,
                analysis,
                conversation,
                now,
                name,
                silent=True,
            )

        risk = analysis.risk
        if risk is not None and risk.topic is not None:
            found = f" (keywords: {', '.join(risk.keywords)})" if risk.keywords else f" (classifier {risk.score:.2f})"
            reasons.append(f"risky topic {risk.topic}{found}")
            key = "self_harm" if risk.topic == "self_harm" and self.voice.has("self_harm") else "risky"
            return self._escalate(
                decision,
                EscalationReason.RISKY_TOPIC,
                Priority.URGENT,
                key,
                analysis,
                conversation,
                now,
                name,
                queue=self.config.urgent_queue,
            )

        moderation = analysis.moderation
        if moderation is not None:
            abusive = moderation.abuse >= self.config.abuse_threshold
            spammy = moderation.spam >= self.config.spam_threshold
            if abusive or spammy:
                return self._moderate(decision, moderation, abusive, message.is_public)

        intent = prediction.intent if prediction else None
        if analysis.human_keywords or (intent == "human_request" and prediction and prediction.probability >= 0.5):
            why = f"keywords: {', '.join(analysis.human_keywords)}" if analysis.human_keywords else "intent classifier"
            reasons.append(f"the sender asks for a person ({why})")
            return self._escalate(
                decision,
                EscalationReason.HUMAN_REQUESTED,
                Priority.NORMAL,
                "human_request",
                analysis,
                conversation,
                now,
                name,
            )

        sentiment = analysis.sentiment
        negativity = sentiment.negative if sentiment is not None else 0.0
        confident = prediction is not None and prediction.confidence >= self.threshold
        # A problem report that the KB answers confidently ("the tracking link does not work") reads as negative;
        # only strong negativity takes such a message from the FAQ answer to a person.
        faq_match = confident and prediction is not None and prediction.entry_id is not None
        bar = self.config.negative_with_answer_threshold if faq_match else self.config.negative_sentiment_threshold
        negative = negativity >= bar
        if (intent == "complaint" and prediction and prediction.probability >= 0.5) or negative:
            what = "complaint" if intent == "complaint" else "negative sentiment"
            reasons.append(f"{what} (negativity {negativity:.2f}): a person answers, never a canned FAQ")
            reason = EscalationReason.COMPLAINT if intent == "complaint" else EscalationReason.NEGATIVE_SENTIMENT
            return self._escalate(
                decision,
                reason,
                Priority.HIGH,
                "complaint",
                analysis,
                conversation,
                now,
                name,
                queue=self.config.complaint_queue,
            )

        if negativity >= self.config.negative_sentiment_threshold:
            reasons.append(
                f"negativity {negativity:.2f} below {bar:.2f}, the bar for a confident FAQ match: "
                "treated as a problem report"
            )
        if prediction is not None:
            reasons.append(
                f"best match {prediction.label} confidence {prediction.confidence:.2f} "
                f"(threshold {self.threshold:.2f}, similarity {prediction.similarity:.2f})"
            )
        if confident and intent in TEMPLATE_INTENTS and self.voice.has(f"intent_{intent}"):
            decision.action = Action.ANSWER
            decision.reply_kind = f"intent_{intent}"
            decision.reply = self.voice.compose(self.voice.render(f"intent_{intent}", lang, name), lang, name)
            reasons.append(f"conversational intent {intent}: answered from the template")
            return decision
        if confident and intent == "feedback":
            reasons.append("feedback: thanked, and passed on to the team")
            return self._escalate(
                decision, EscalationReason.FEEDBACK, Priority.LOW, "intent_thanks", analysis, conversation, now, name
            )

        entry = self.kb.get(prediction.entry_id) if prediction and prediction.entry_id else None
        if confident and entry is not None and entry.is_published:
            answer_lang = entry.answer_language_for(lang, self.voice.default_language)
            body = self.voice.fill(entry.answers[answer_lang], answer_lang, name)
            if answer_lang != lang:
                reasons.append(f"entry {entry.id} has no {lang} answer: answered in {answer_lang}")
                if self.voice.has("answered_in_other_language"):
                    note = self.voice.render(
                        "answered_in_other_language", lang, answer_language_name=language_name(answer_lang, lang)
                    )
                    body = f"{note} {body}"
            decision.entry_id = entry.id
            if is_open and not self.config.answer_in_business_hours:
                decision.suggested_answer = body
                reasons.append("routine question in business hours: the team answers (answer_in_business_hours off)")
                return self._escalate(
                    decision,
                    EscalationReason.IN_HOURS_POLICY,
                    Priority.LOW,
                    None,
                    analysis,
                    conversation,
                    now,
                    name,
                    silent=True,
                )
            decision.action = Action.ANSWER
            decision.reply_kind = "faq"
            decision.reply = self.voice.compose(body, lang, name)
            reasons.append(f"answered from FAQ entry {entry.id}")
            return decision

        out_of_scope = prediction is None or prediction.similarity < self.out_of_scope_similarity
        reason = EscalationReason.OUT_OF_SCOPE if out_of_scope else EscalationReason.LOW_CONFIDENCE
        reasons.append("out of scope: nothing in the KB is close" if out_of_scope else "not confident enough to answer")
        if self.config.ask_to_rephrase_once and not conversation.rephrase_asked and not out_of_scope:
            decision.action = Action.ANSWER
            decision.reply_kind = "rephrase"
            decision.reply = self.voice.compose(self.voice.render("rephrase", lang, name), lang, name)
            decision.reason = reason
            reasons.append("asked once to rephrase")
            return decision
        if analysis.hits:
            top = self.kb.get(analysis.hits[0].entry_id)
            if top is not None:
                answer_lang = top.answer_language_for(lang, self.voice.default_language)
                decision.suggested_answer = self.voice.fill(top.answers[answer_lang], answer_lang, name)
                decision.entry_id = top.id
        return self._escalate(decision, reason, Priority.NORMAL, None, analysis, conversation, now, name)

    def _moderate(self, decision: Decision, moderation: ModerationResult, abusive: bool, is_public: bool) -> Decision:
        decision.action = Action.MODERATE
        decision.reason = EscalationReason.ABUSE if abusive else EscalationReason.SPAM
        decision.queue = self.config.moderation_queue
        decision.priority = Priority.NORMAL if abusive else Priority.LOW
        score = moderation.abuse if abusive else moderation.spam
        detail = f": {'; '.join(moderation.reasons)}" if moderation.reasons else ""
        decision.reasons.append(f"{'abuse' if abusive else 'spam'} {score:.2f}{detail}")
        # Never a silent delete: a public comment is hidden and flagged, a private message only flagged.
        decision.reasons.append(
            "hide the public comment and flag it for review" if is_public else "flag for review; no automatic reply"
        )
        return decision

    def _record_scores(self, decision: Decision, analysis: MessageAnalysis) -> None:
        scores = decision.scores
        if analysis.prediction is not None:
            decision.confidence = analysis.prediction.confidence
            decision.intent = analysis.prediction.label
            scores.update(
                confidence=analysis.prediction.confidence,
                probability=analysis.prediction.probability,
                similarity=analysis.prediction.similarity,
            )
        if analysis.hits:
            scores["retrieval_top"] = analysis.hits[0].score
        if analysis.sentiment is not None:
            scores.update(negative=analysis.sentiment.negative, positive=analysis.sentiment.positive)
        if analysis.moderation is not None:
            scores.update(abuse=analysis.moderation.abuse, spam=analysis.moderation.spam)
        if analysis.risk is not None:
            scores["risk"] = analysis.risk.score

    def _escalate(
        self,
        decision: Decision,
        reason: EscalationReason,
        priority: Priority,
        template: str | None,
        analysis: MessageAnalysis,
        conversation: ConversationState,
        now: datetime,
        name: str | None,
        queue: str | None = None,
        silent: bool = False,
    ) -> Decision:
        lang = decision.language
        decision.action = Action.ESCALATE
        decision.reason = reason
        decision.priority = priority
        decision.queue = queue or self.config.default_queue
        if silent or (conversation.holding_reply_sent and template is None):
            decision.reasons.append("no holding reply: one was already sent or none is due")
            return decision
        is_open = self.hours.is_open(now)
        back_at = "" if is_open else describe_reopening(self.hours.next_open(now), now, lang)
        key = template or "holding"
        if key.startswith("intent_"):
            body = self.voice.render(key, lang, name)
        else:
            suffix = "_in_hours" if is_open else "_out_of_hours"
            if self.voice.has(key + suffix):
                chosen = key + suffix
            elif self.voice.has(key):
                chosen = key
            else:
                chosen = "holding" + suffix
            body = self.voice.render(chosen, lang, name, back_at=back_at)
            key = chosen
        if not is_open:
            decision.reasons.append(f"told the sender the team is back {back_at}")
        decision.reply_kind = key
        decision.reply = self.voice.compose(body, lang, name)
        return decision
