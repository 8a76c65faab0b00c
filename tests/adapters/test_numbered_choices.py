"""X and the generic forum webhook have no buttons: a clarification goes out as its numbered text alone, byte for byte
what a reply without choices would send."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from assistant.domain.channels import OutboundMessage
from tests.adapters.choice_samples import THREE, numbered_text
from tests.adapters.platform_double import PlatformDouble, api_fixture  # noqa: F401
from tests.adapters.test_generic import config as generic_config
from tests.adapters.test_generic import outbound as generic_outbound
from tests.adapters.test_x import config as x_config
from tests.adapters.test_x import outbound as x_outbound
from webhooks.adapters.generic import GenericAdapter
from webhooks.adapters.x import XAdapter


def bodies(api: PlatformDouble, adapter: XAdapter | GenericAdapter, message: OutboundMessage) -> list[Any]:
    """The bodies sent for `message` without and with choices."""
    sent = []
    for choices in ((), THREE):
        api.reply(201, json={"data": {"dm_event_id": "1582838223563", "id": "1"}, "id": "m_2"})
        with httpx.Client(timeout=2) as client:
            assert adapter.send(client, replace(message, text=numbered_text(THREE), choices=choices)).ok
        sent.append(api.last.json())
    return sent


def test_x_sends_the_numbered_text_only(api: PlatformDouble) -> None:
    adapter = XAdapter(x_config(api_base_url=api.url + "/2"))
    plain, with_choices = bodies(api, adapter, x_outbound({"participant_id": "3001969357"}))
    assert with_choices == plain and plain["text"] == numbered_text(THREE)


def test_the_generic_webhook_sends_the_numbered_text_only(api: PlatformDouble) -> None:
    adapter = GenericAdapter(generic_config(api_base_url=api.url + "/api"))
    plain, with_choices = bodies(api, adapter, generic_outbound())
    assert with_choices == plain and plain["text"] == numbered_text(THREE)
