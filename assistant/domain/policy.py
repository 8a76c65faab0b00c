"""The decision rules: from one analysed message, the conversation's state and the time, decide to answer,
escalate (queue, priority, reason, suggested answer), moderate or ignore, name the kind of reply (`DecisionKind`),
and say why. The clarification rule lives in `clarification.py`, the follow-up rule in `followup.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assistant.domain.business_hours import BusinessHours
from assistant.domain.clarification import (
    Candidate,
    ClarificationRule,
    Pick,
    build_choices,
    entry_candidates,
    numbered,
    options_to_offer,
    resolve_pick,
)
from assistant.domain.followup import FollowUpReading
from assistant.domain.kb_entries import KBEntry, KnowledgeBase
from assistant.domain.messages import (
    HUMAN_CHOICE,
    Action,
    ConversationState,
    Decision,
    DecisionKind,
    EscalationReason,
    HandoffState,
    InboundMessage,
    Priority,
)
from assistant.domain.readings import (
    FAQ_PREFIX,
    Hit,
    IntentPrediction,
    LanguageGuess,
    ModerationResult,
    RiskResult,
    SentimentScore,
)
from assistant.domain.reopening import describe_reopening
from assistant.domain.voice import BrandVoice, clean_first_name, language_name
from assistant.settings import PolicyConfig

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
    # A short follow-up's reading with the previous question (assistant/domain/followup.py), and that reading's hits.
    followup: FollowUpReading | None = None
    followup_hits: list[Hit] = field(default_factory=list)

    @property
    def match(self) -> IntentPrediction | None:
        """The reading the FAQ match is decided on: the combined one when the follow-up rule chose it."""
        return self.followup.combined if self.followup is not None and self.followup.used else self.prediction

    @property
    def match_hits(self) -> list[Hit]:
        return self.followup_hits if self.followup is not None and self.followup.used else self.hits


@dataclass(frozen=True)
class Turn:
    """The message's circumstances that the reply helpers need."""

    conversation: ConversationState
    now: datetime
    name: str | None


@dataclass
class Policy:
    config: PolicyConfig
    threshold: float
    out_of_scope_similarity: float
    hours: BusinessHours
    voice: BrandVoice
    kb: KnowledgeBase
    # KB answers' own threshold (IntentModel.kb_threshold, calibrated on the predictions that name a KB entry);
    # None: `threshold`, which templates and intents use.
    kb_threshold: float | None = None

    @property
    def answer_threshold(self) -> float:
        return self.threshold if self.kb_threshold is None else self.kb_threshold

    def decide(
        self, message: InboundMessage, analysis: MessageAnalysis, conversation: ConversationState, now: datetime
    ) -> Decision:
        lang = analysis.language.language
        decision = Decision(action=Action.IGNORE, language=lang, kind=DecisionKind.SILENCE)
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
        # A tapped button may come with no text at all; it is still an answer to our question.
        pick = resolve_pick(analysis.text, message.choice_payload, conversation.offered_choices)
        if not analysis.has_words and pick is None:
            reasons.append("no words (empty, whitespace or emoji only): nothing to answer")
            return decision

        is_open = self.hours.is_open(now)
        reasons.append("within business hours" if is_open else "outside business hours")
        name = clean_first_name(message.sender_name)
        turn = Turn(conversation, now, name)
        prediction = analysis.prediction
        if pick is not None:
            picked = self._answer_pick(decision, pick, turn)
            if picked is not None:
                return picked

        if conversation.handoff == HandoffState.WAITING_FOR_HUMAN:
            reasons.append("already waiting for a person: added to the open escalation")
            return self._escalate(decision, EscalationReason.HUMAN_REQUESTED, Priority.NORMAL, None, turn, silent=True)

        risk = analysis.risk
        if risk is not None and risk.topic is not None:
            found = f" (keywords: {', '.join(risk.keywords)})" if risk.keywords else f" (classifier {risk.score:.2f})"
            reasons.append(f"risky topic {risk.topic}{found}")
            key = "self_harm" if risk.topic == "self_harm" and self.voice.has("self_harm") else "risky"
            return self._escalate(
                decision, EscalationReason.RISKY_TOPIC, Priority.URGENT, key, turn, queue=self.config.urgent_queue
            )

        moderation = analysis.moderation
        if moderation is not None:
            abusive = moderation.abuse >= self.config.abuse_threshold
            spammy = moderation.spam >= self.config.spam_threshold
            if abusive or spammy:
                return self._moderate(decision, moderation, abusive, message.is_public)

        # What the message itself says (a wish for a person, a complaint) is read from the message alone.
        intent = prediction.intent if prediction else None
        if analysis.human_keywords or (intent == "human_request" and prediction and prediction.probability >= 0.5):
            why = f"keywords: {', '.join(analysis.human_keywords)}" if analysis.human_keywords else "intent classifier"
            reasons.append(f"the sender asks for a person ({why})")
            return self._escalate(decision, EscalationReason.HUMAN_REQUESTED, Priority.NORMAL, "human_request", turn)

        followup = analysis.followup
        match = analysis.match
        repeat = followup is not None and followup.repeats_previous
        if followup is not None:
            if followup.used:
                decision.read_as = followup.combined_text
                reasons.append(
                    f"short follow-up read with the previous question {followup.previous_text!r}: {followup.why}"
                )
            else:
                reasons.append(f"short follow-up not read with the previous question: {followup.why}")
        sentiment = analysis.sentiment
        negativity = sentiment.negative if sentiment is not None else 0.0
        confident = match is not None and match.reaches(self.threshold) and not repeat
        # A problem report that the KB answers confidently ("the tracking link does not work") reads as negative;
        # only strong negativity takes such a message from the FAQ answer to a person.
        faq_match = not repeat and match is not None and match.answers_from_kb(self.answer_threshold)
        bar = self.config.negative_with_answer_threshold if faq_match else self.config.negative_sentiment_threshold
        negative = negativity >= bar
        if (intent == "complaint" and prediction and prediction.probability >= 0.5) or negative:
            what = "complaint" if intent == "complaint" else "negative sentiment"
            reasons.append(f"{what} (negativity {negativity:.2f}): a person answers, never a canned FAQ")
            reason = EscalationReason.COMPLAINT if intent == "complaint" else EscalationReason.NEGATIVE_SENTIMENT
            return self._escalate(decision, reason, Priority.HIGH, "complaint", turn, queue=self.config.complaint_queue)

        if negativity >= self.config.negative_sentiment_threshold:
            reasons.append(
                f"negativity {negativity:.2f} below {bar:.2f}, the bar for a confident FAQ match: "
                "treated as a problem report"
            )
        if match is not None:
            reasons.append(
                f"best match {match.label} confidence {match.confidence:.2f} "
                f"(threshold {self.threshold:.2f}"
                + (f", KB answers {self.answer_threshold:.2f}" if self.answer_threshold != self.threshold else "")
                + f", similarity {match.similarity:.2f})"
            )
        matched_intent = match.intent if match else None
        if confident and matched_intent in TEMPLATE_INTENTS and self.voice.has(f"intent_{matched_intent}"):
            decision.action = Action.ANSWER
            decision.kind = DecisionKind.TEMPLATE
            decision.reply_kind = f"intent_{matched_intent}"
            decision.reply = self.voice.compose(self.voice.render(f"intent_{matched_intent}", lang, name), lang, name)
            reasons.append(f"conversational intent {matched_intent}: answered from the template")
            return decision
        if confident and matched_intent == "feedback":
            reasons.append("feedback: thanked, and passed on to the team")
            return self._escalate(decision, EscalationReason.FEEDBACK, Priority.LOW, "intent_thanks", turn)

        entry = self.kb.get(match.entry_id) if match and match.entry_id else None
        if faq_match and entry is not None and entry.is_published:
            return self._answer(decision, entry, turn)

        out_of_scope = match is None or match.similarity < self.out_of_scope_similarity
        reason = EscalationReason.OUT_OF_SCOPE if out_of_scope else EscalationReason.LOW_CONFIDENCE
        reasons.append("out of scope: nothing in the KB is close" if out_of_scope else "not confident enough to answer")
        if repeat and match is not None:
            reasons.append(f"the combined reading is {match.entry_id}, the previous answer: not answered again")
        if not out_of_scope and not conversation.rephrase_asked:
            if self.config.offer_choices and match is not None:
                candidates = followup.candidates() if followup is not None and repeat else None
                offered = self._offer_choices(
                    decision, candidates or entry_candidates(match.alternatives, FAQ_PREFIX), name
                )
                if offered:
                    decision.reason = reason
                    return decision
            if self.config.ask_to_rephrase_once:
                decision.action = Action.ANSWER
                decision.kind = DecisionKind.CLARIFICATION
                decision.reply_kind = "rephrase"
                decision.reply = self.voice.compose(self.voice.render("rephrase", lang, name), lang, name)
                decision.reason = reason
                reasons.append("asked once to rephrase")
                return decision
        if analysis.match_hits:
            top = self.kb.get(analysis.match_hits[0].entry_id)
            if top is not None:
                answer_lang = top.answer_language_for(lang, self.voice.default_language)
                decision.suggested_answer = self.voice.fill(top.answers[answer_lang], answer_lang, name)
                decision.entry_id = top.id
        return self._escalate(decision, reason, Priority.NORMAL, None, turn)

    def _answer(self, decision: Decision, entry: KBEntry, turn: Turn) -> Decision:
        """The entry's answer in the sender's language (or its own, said so); in business hours with
        `answer_in_business_hours` off, the team gets it as the suggested answer instead."""
        lang, reasons, name = decision.language, decision.reasons, turn.name
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
        if self.hours.is_open(turn.now) and not self.config.answer_in_business_hours:
            decision.suggested_answer = body
            reasons.append("routine question in business hours: the team answers (answer_in_business_hours off)")
            return self._escalate(decision, EscalationReason.IN_HOURS_POLICY, Priority.LOW, None, turn, silent=True)
        decision.action = Action.ANSWER
        decision.kind = DecisionKind.KB_ANSWER
        decision.reply_kind = "faq"
        decision.reply = self.voice.compose(body, lang, name)
        reasons.append(f"answered from FAQ entry {entry.id}")
        return decision

    def _offer_choices(self, decision: Decision, candidates: list[Candidate], name: str | None) -> bool:
        """Turn the decision into "Did you mean: …" when the clarification rule holds; False when it does not."""
        if not (self.voice.has("clarify_choices") and self.voice.has("choice_human")):
            return False  # a custom responses file without the clarification texts: ask to rephrase instead
        offered = options_to_offer(candidates, self.kb, ClarificationRule.from_config(self.config))
        entries = [entry for c in offered if (entry := self.kb.get(c.entry_id)) is not None]
        if not entries:
            return False
        lang = decision.language
        choices = build_choices(entries, lang, self.voice.default_language, self.voice.render("choice_human", lang))
        body = f"{self.voice.render('clarify_choices', lang)}\n{numbered(choices)}"
        decision.action = Action.ANSWER
        decision.kind = DecisionKind.CLARIFICATION
        decision.reply_kind = "choices"
        decision.reply = self.voice.compose(body, lang, name)
        decision.choices = choices
        shown = ", ".join(f"{c.entry_id} {c.probability:.2f}" for c in offered)
        decision.reasons.append(f"unsure between {len(entries)} KB entries ({shown}): offered them as choices")
        return True

    def _answer_pick(self, decision: Decision, pick: Pick, turn: Turn) -> Decision | None:
        """The pick of an offered choice, answered at once; None when its entry is gone (a new message then)."""
        decision.reasons.append(f"picked option {pick.number} of the offered choices ({pick.method.value})")
        if pick.choice.payload == HUMAN_CHOICE:
            decision.picked = pick.method
            decision.reasons.append("the sender asks for a person (the offered choice)")
            return self._escalate(decision, EscalationReason.HUMAN_REQUESTED, Priority.NORMAL, "human_request", turn)
        entry = self.kb.get(pick.choice.entry_id or "")
        if entry is None or not entry.is_published:
            decision.reasons.append(f"entry {pick.choice.entry_id} is not published any more: read as a new message")
            return None
        decision.picked = pick.method
        decision.read_as = pick.choice.label  # "2" says nothing to a later follow-up; the option's title does
        return self._answer(decision, entry, turn)

    def _moderate(self, decision: Decision, moderation: ModerationResult, abusive: bool, is_public: bool) -> Decision:
        decision.action = Action.MODERATE
        decision.kind = DecisionKind.MODERATION
        decision.reason = EscalationReason.ABUSE if abusive else EscalationReason.SPAM
        decision.queue = self.config.moderation_queue
        decision.priority = Priority.NORMAL if abusive else Priority.LOW
        score = moderation.abuse if abusive else moderation.spam
        detail = f": {'; '.join(moderation.reasons)}" if moderation.reasons else ""
        decision.reasons.append(f"{'abuse' if abusive else 'spam'} {score:.2f}{detail}")
        # Never a silent delete. Nothing is hidden on the platform yet (issue 15): a moderator acts from the queue.
        decision.reasons.append(
            "public comment flagged for review in the moderation queue; not hidden on the platform"
            if is_public
            else "flagged for review; no automatic reply"
        )
        return decision

    def _record_scores(self, decision: Decision, analysis: MessageAnalysis) -> None:
        scores = decision.scores
        match = analysis.match
        if match is not None:
            decision.confidence = match.confidence
            decision.intent = match.label
            scores.update(confidence=match.confidence, probability=match.probability, similarity=match.similarity)
        if analysis.followup is not None:
            scores.update(
                alone_confidence=analysis.followup.alone.confidence,
                combined_confidence=analysis.followup.combined.confidence,
            )
        if analysis.match_hits:
            scores["retrieval_top"] = analysis.match_hits[0].score
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
        turn: Turn,
        queue: str | None = None,
        silent: bool = False,
    ) -> Decision:
        lang, now, name = decision.language, turn.now, turn.name
        decision.action = Action.ESCALATE
        decision.kind = DecisionKind.ESCALATION
        decision.reason = reason
        decision.priority = priority
        decision.queue = queue or self.config.default_queue
        if silent or (turn.conversation.holding_reply_sent and template is None):
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
