"""The moderation rules on the shipped model: spam needs evidence, abuse needs a slur, a threat or a person it is
aimed at, and anger at the brand stays below the abuse threshold (issue 10)."""

from __future__ import annotations

import pytest

from assistant.domain.readings import ModerationResult
from assistant.nlu.moderation import NO_EVIDENCE_SPAM_CAP, NO_TARGET_ABUSE_CAP, spam_evidence
from assistant.pipeline import Engine


def assess(engine: Engine, text: str) -> ModerationResult:
    vectors = engine.encoder.encode([text])
    return engine.signals.moderation.assess(vectors, [text])[0]


@pytest.mark.parametrize(
    "text",
    [
        "transfer $100 from my checking to saving account",
        "i would like help moving money between accounts",
        "Can I pay by bank transfer instead of card?",
        "How much does shipping to Canada cost?",
        "Переведите деньги с бонусного счёта на карту",
        "我想把钱从储蓄账户转到支票账户",
    ],
)
def test_a_topic_is_no_evidence_of_spam(engine: Engine, text: str) -> None:
    found, strong = spam_evidence(text, engine.signals.moderation.spam_phrases)
    assert found == [] and not strong
    result = assess(engine, text)
    assert result.spam <= NO_EVIDENCE_SPAM_CAP < engine.settings.policy.spam_threshold


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("Great deals at cheap-gear-outlet.top", "link"),
        ("Message me on WhatsApp +44 7700 900123", "contact request"),
        ("Send 0.1 ETH to 0x71C7656EC7ab88b098defB751B7401B5f6d8976F", "crypto wallet"),
        ("Instant loans, text CASH to 60777", "keyword to text"),
        ("Grow your shop: 500 five-star reviews for 20 dollars", "promotion"),
        ("加微信 abc123 了解详情", "contact request"),
        ("Earn passive income today", "spam phrases"),
        ("buy buy buy buy buy buy now", "repetition"),
    ],
)
def test_spam_evidence_is_found(engine: Engine, text: str, evidence: str) -> None:
    found, _ = spam_evidence(text, engine.signals.moderation.spam_phrases)
    assert any(evidence in item for item in found), found


@pytest.mark.parametrize(
    "text",
    [
        "You are thieves, give me my money back!!!",
        "Northpine, you clowns lost my parcel again",
        "Vous êtes des escrocs, remboursez-moi !",
        "Мошенники, верните деньги!",
        "Złodzieje, oddajcie kasę!",
        "你们这群骗子，退钱！",
    ],
)
def test_anger_at_the_brand_is_not_abuse(engine: Engine, text: str) -> None:
    result = assess(engine, text)
    assert result.abuse < engine.settings.policy.abuse_threshold, result
    assert result.spam < engine.settings.policy.spam_threshold, result


def test_the_same_insult_is_abuse_when_aimed_at_a_person(engine: Engine) -> None:
    model = engine.signals.moderation
    at_brand = assess(engine, "Northpine, you idiots, where is my refund?")
    at_person = assess(engine, "The agent who answered me is an idiot")
    assert at_brand.abuse < engine.settings.policy.abuse_threshold
    assert any("not aimed at a person" in r for r in at_brand.reasons)
    assert at_person.abuse >= engine.settings.policy.abuse_threshold
    assert any("aimed at a person" in r for r in at_person.reasons)
    assert model.targets("@trailgirl87 nobody likes you") == ["@user"]
    assert model.targets("Вы воры") == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("@hikerdave shut up, you faggot", "slur"),
        ("I know where you live and I will find you", "threat"),
        ("Сдохни, тварь", "threat"),
        ("Les bougnoules n'ont rien à faire ici", "slur"),
    ],
)
def test_slurs_and_threats_are_abuse_whoever_they_are_aimed_at(engine: Engine, text: str, why: str) -> None:
    result = assess(engine, text)
    assert result.abuse >= engine.settings.policy.abuse_threshold
    assert any(r.startswith(why) for r in result.reasons), result.reasons


def test_without_a_target_the_classifier_alone_is_held_below_the_threshold(engine: Engine) -> None:
    # A message aimed at nobody: whatever the classifier says, the abuse score stays at or under the cap.
    result = assess(engine, "This company is a fucking joke, worst service on the planet")
    assert result.abuse <= NO_TARGET_ABUSE_CAP
