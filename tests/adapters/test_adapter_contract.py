"""What every adapter promises, checked once for all platforms: each class implements PlatformAdapter, under the name
the registry knows it by."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.settings import PlatformConfig
from webhooks.adapters.base import PlatformAdapter
from webhooks.adapters.discord import DiscordAdapter
from webhooks.adapters.generic import GenericAdapter
from webhooks.adapters.meta.page_messaging import InstagramAdapter, MessengerAdapter
from webhooks.adapters.meta.whatsapp import WhatsAppAdapter
from webhooks.adapters.registry import ADAPTERS, adapter_for
from webhooks.adapters.slack import SlackAdapter
from webhooks.adapters.telegram import TelegramAdapter
from webhooks.adapters.x import XAdapter

# Typed as makers of the Protocol, so a type checker run over the tests compares every class with it.
ADAPTER_TYPES: dict[str, Callable[[PlatformConfig], PlatformAdapter]] = {
    "messenger": MessengerAdapter,
    "instagram": InstagramAdapter,
    "whatsapp": WhatsAppAdapter,
    "slack": SlackAdapter,
    "telegram": TelegramAdapter,
    "discord": DiscordAdapter,
    "x": XAdapter,
    "generic": GenericAdapter,
}


def test_every_registered_platform_is_checked_here() -> None:
    assert sorted(ADAPTER_TYPES) == sorted(ADAPTERS)


@pytest.mark.parametrize(("name", "adapter_type"), sorted(ADAPTER_TYPES.items()))
def test_implements_the_adapter_interface(name: str, adapter_type: Callable[[PlatformConfig], PlatformAdapter]) -> None:
    adapter = adapter_type(PlatformConfig(enabled=True))
    assert adapter.name == name
    assert type(adapter_for(name, PlatformConfig(enabled=True))) is adapter_type
