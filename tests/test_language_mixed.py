"""Mixed-script messages are read in the script's language: a Han character weighs as much as a Latin word."""

from __future__ import annotations

import pytest

from assistant.nlu.language import LanguageIdentifier

LANGUAGES = ("en", "zh", "ru", "fr", "pl")


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier(LANGUAGES, "en")


@pytest.mark.parametrize(
    "text",
    [
        "我的order还没到，tracking number不工作",  # 8 Han characters, 3 Latin words, only 30% of the letters Han
        "我想return这个jacket，可以吗",
        "我的PayPal付款失败了",
        "订单ABC123还没发货",
    ],
)
def test_chinese_with_english_words_reads_as_chinese(identifier: LanguageIdentifier, text: str) -> None:
    guess = identifier.identify(text)
    assert guess.language == "zh", guess
    assert guess.method.startswith("script: Han")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("How do I say 谢谢 in Chinese?", "en"),  # 2 Han characters against 6 English words
        ("Can you ship my order to 上海 before Friday?", "en"),
        ("Мой заказ 12345 ещё не пришёл", "ru"),
        ("Where is my order? It has been two weeks", "en"),
    ],
)
def test_a_few_han_characters_in_another_language_do_not_make_it_chinese(
    identifier: LanguageIdentifier, text: str, lang: str
) -> None:
    assert identifier.identify(text).language == lang
