"""Platform name → adapter class. Adding a platform is one module and one line here."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from assistant.domain.channels import NO_RULES, PlatformRules
from assistant.settings import PlatformConfig, Settings
from webhooks.adapters.base import PlatformAdapter

ADAPTERS: dict[str, str] = {
    "messenger": "webhooks.adapters.meta.page_messaging:MessengerAdapter",
    "instagram": "webhooks.adapters.meta.page_messaging:InstagramAdapter",
    "whatsapp": "webhooks.adapters.meta.whatsapp:WhatsAppAdapter",
    "slack": "webhooks.adapters.slack:SlackAdapter",
    "telegram": "webhooks.adapters.telegram:TelegramAdapter",
    "discord": "webhooks.adapters.discord:DiscordAdapter",
    "x": "webhooks.adapters.x:XAdapter",
    "generic": "webhooks.adapters.generic:GenericAdapter",
}


def _adapter_class(name: str) -> Any:
    module_name, _, class_name = ADAPTERS[name].partition(":")
    return getattr(import_module(module_name), class_name)


def adapter_for(name: str, config: PlatformConfig) -> PlatformAdapter:
    adapter: PlatformAdapter = _adapter_class(name)(config)
    return adapter


def rules_for(name: str) -> PlatformRules:
    """The platform's declared rules, enabled or not (a conversation outlives its platform's switch); a name no
    adapter has, none."""
    if name not in ADAPTERS:
        return NO_RULES
    rules: PlatformRules = _adapter_class(name).rules
    return rules


def enabled_adapters(settings: Settings) -> dict[str, PlatformAdapter]:
    """The adapters of every enabled platform; an unknown name in the settings is a configuration error."""
    unknown = sorted(set(settings.platforms) - set(ADAPTERS))
    if unknown:
        raise ValueError(f"unknown platform(s) in settings: {unknown}; known: {sorted(ADAPTERS)}")
    return {name: adapter_for(name, cfg) for name, cfg in settings.platforms.items() if cfg.enabled}
