"""Clarifications as the engine offers them ("Did you mean: …"), for the adapters' choice tests: the options, and the
reply text that already lists them numbered."""

from __future__ import annotations

from assistant.domain.messages import HUMAN_CHOICE, Choice

HUMAN = Choice("Talk to a person", HUMAN_CHOICE)
# Three options, one label far beyond every platform's title length.
THREE = (
    Choice("Shipping times", "choose:shipping-times"),
    Choice("Return policy for damaged or incomplete orders", "choose:returns-damaged-items"),
    HUMAN,
)
# Five options in Polish: more than WhatsApp's three buttons, so a list there.
FIVE_PL = (
    Choice("Czas dostawy", "choose:shipping-times"),
    Choice("Zwroty i reklamacje uszkodzonych produktów", "choose:returns-damaged-items"),
    Choice("Śledzenie przesyłki", "choose:order-tracking"),
    Choice("Zmiana adresu dostawy", "choose:shipping-change-address"),
    Choice("Porozmawiaj z człowiekiem", HUMAN_CHOICE),
)
# Fifteen options: more than Messenger's 13 and WhatsApp's 10; the person is last and must survive the cut.
FIFTEEN = (*(Choice(f"Topic number {n}", f"choose:topic-{n}") for n in range(1, 15)), HUMAN)
# An entry id of the longest allowed length (80): its payload is 87 bytes, over Telegram's 64.
LONG_ID = Choice("A very specific topic", "choose:" + "x" * 80)
# Two labels that collide once cut to 20 characters.
TWINS = (
    Choice("Delivery to Poland and the Baltic states", "choose:delivery-poland"),
    Choice("Delivery to Poland and the Czech Republic", "choose:delivery-czech"),
    HUMAN,
)


def numbered_text(choices: tuple[Choice, ...], question: str = "Did you mean:") -> str:
    """The reply as the engine writes it: the question, then every option numbered (for platforms without buttons)."""
    return "\n".join([question, *(f"{number}. {choice.label}" for number, choice in enumerate(choices, 1))])
