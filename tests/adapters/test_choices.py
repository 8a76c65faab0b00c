"""The shared choice rules every adapter applies (titles cut at word boundaries with an ellipsis, which options fit,
unique titles, only our own payloads read back), and the platform rules the adapters' choice tests rely on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.domain.messages import HUMAN_CHOICE, Choice
from assistant.settings import PlatformConfig
from tests.adapters import platform_rules
from tests.adapters.choice_samples import FIFTEEN, HUMAN, LONG_ID, THREE, TWINS
from webhooks.adapters.choices import ChoiceLimits, buttons, our_choice, shorten
from webhooks.adapters.registry import ADAPTERS, adapter_for


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Shipping times", 20, "Shipping times"),
        ("Return policy for damaged or incomplete orders", 20, "Return policy for…"),
        ("Return policy for damaged", 24, "Return policy for…"),
        ("Zwroty i reklamacje uszkodzonych", 20, "Zwroty i reklamacje…"),
        ("Supercalifragilisticexpialidocious", 20, "Supercalifragilisti…"),  # one long word: cut inside it
        ("退货政策和损坏商品的退款流程说明", 10, "退货政策和损坏商品…"),  # no spaces: cut at the limit
        ("Delivery,   returns and   exchanges", 20, "Delivery, returns…"),  # spaces collapsed, no dangling comma
        ("Twenty characters!!!", 20, "Twenty characters!!!"),
        ("Nineteen characters and more", 20, "Nineteen characters…"),  # the word ends just where the room does
        ("Exactly twenty chars and more", 20, "Exactly twenty…"),
    ],
)
def test_titles_are_cut_at_a_word_with_an_ellipsis(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


@given(st.text(min_size=1, max_size=120), st.integers(1, 80))
def test_a_shortened_title_never_exceeds_its_limit(text: str, limit: int) -> None:
    result = shorten(text, limit)
    assert len(result) <= limit
    if len(" ".join(text.split())) > limit:
        assert result.endswith("…") or limit == 1


def test_beyond_the_maximum_the_first_options_and_the_person_are_kept() -> None:
    kept = buttons(FIFTEEN, ChoiceLimits(max_choices=13, title_chars=20))
    assert len(kept) == 13
    assert [b.payload for b in kept] == [c.payload for c in FIFTEEN[:12]] + [HUMAN_CHOICE]


def test_a_payload_over_the_limit_is_left_out_not_cut() -> None:
    kept = buttons((*THREE[:2], LONG_ID, HUMAN), ChoiceLimits(max_choices=10, title_chars=40, payload_bytes=64))
    assert [b.payload for b in kept] == [THREE[0].payload, THREE[1].payload, HUMAN_CHOICE]


def test_titles_that_collide_after_the_cut_get_their_number() -> None:
    titles = [b.title for b in buttons(TWINS, ChoiceLimits(max_choices=3, title_chars=20))]
    assert len(set(titles)) == 3 and all(len(t) <= 20 for t in titles)
    assert titles[0].startswith("1. ") and titles[1].startswith("2. ") and titles[2] == "Talk to a person"


def test_a_repeated_payload_is_offered_once() -> None:
    kept = buttons((THREE[0], Choice("Delivery times", THREE[0].payload), HUMAN), ChoiceLimits(3, 20))
    assert [b.payload for b in kept] == [THREE[0].payload, HUMAN_CHOICE]


@pytest.mark.parametrize(
    ("payload", "ours"),
    [
        ("choose:shipping-times", "choose:shipping-times"),
        ("choose:human", "choose:human"),
        ("choose:", None),
        ("choose:Shipping Times", None),
        ("choose:shipping\n", None),
        ("GET_STARTED", None),
        ("shipping-times", None),
        (42, None),
        (None, None),
    ],
)
def test_only_our_own_payloads_are_read_back(payload: object, ours: str | None) -> None:
    assert our_choice(payload) == ours


def test_every_adapter_says_whether_it_shows_choices() -> None:
    shown = {name for name in ADAPTERS if adapter_for(name, PlatformConfig(enabled=True)).choice_limits is not None}
    assert shown == {"messenger", "instagram", "whatsapp", "telegram", "slack", "discord"}


# The platform rules must catch what each platform refuses, or the adapters' tests would prove nothing.


def test_platform_rules_catch_what_the_platforms_refuse() -> None:
    text = {"text": "Did you mean:"}
    assert platform_rules.messenger({"message": {**text, "quick_replies": [{"content_type": "text"}] * 14}})
    long_title = {"content_type": "text", "title": "x" * 21, "payload": "p"}
    assert platform_rules.messenger({"message": {**text, "quick_replies": [long_title]}})
    four = [{"type": "reply", "reply": {"id": f"i{n}", "title": f"t{n}"}} for n in range(4)]
    interactive = {"type": "button", "body": {"text": "q"}, "action": {"buttons": four}}
    assert platform_rules.whatsapp({"type": "interactive", "interactive": interactive})
    same = [{"type": "reply", "reply": {"id": f"i{n}", "title": "same"}} for n in range(2)]
    interactive = {"type": "button", "body": {"text": "q"}, "action": {"buttons": same}}
    assert platform_rules.whatsapp({"type": "interactive", "interactive": interactive})
    rows = [{"id": f"r{n}", "title": "t" * 25} for n in range(11)]
    interactive = {"type": "list", "body": {"text": "q"}, "action": {"button": "b", "sections": [{"rows": rows}]}}
    assert platform_rules.whatsapp({"type": "interactive", "interactive": interactive})
    button = {"text": "t", "callback_data": "é" * 33}  # 66 bytes
    assert platform_rules.telegram({"text": "q", "reply_markup": {"inline_keyboard": [[button]]}})
    element = {"type": "button", "text": {"type": "plain_text", "text": "t" * 76}, "action_id": "a", "value": "v"}
    assert platform_rules.slack({"text": "q", "blocks": [{"type": "actions", "elements": [element, element]}]})
    item = {"type": 2, "style": 2, "label": "l", "custom_id": "c" * 101}
    assert platform_rules.discord({"content": "q", "components": [{"type": 1, "components": [item] * 6}]})
