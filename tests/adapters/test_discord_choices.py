"""Discord choices: a clarification goes out with action rows of buttons Discord accepts (on the interaction's
answer and on channel replies), and a click comes back as a signed component interaction that parses into the option
and is deferred within Discord's 3 s as a new message, not an edit of the question."""

from __future__ import annotations

import json
from typing import Any

import httpx

from assistant.domain.channels import OutboundMessage
from tests.adapters import platform_rules
from tests.adapters.choice_samples import FIFTEEN, HUMAN, THREE, numbered_text
from tests.adapters.platform_double import PlatformDouble, api_fixture, assert_well_formed  # noqa: F401
from tests.adapters.test_discord import CHANNEL_TARGET, COMMAND, INTERACTION_TARGET, config, signed
from webhooks.adapters.discord import DiscordAdapter


def send(api: PlatformDouble, target: dict[str, str], choices: tuple[Any, ...] = THREE) -> dict[str, Any]:
    api.reply(200, json={"id": "1200000000000000001", "content": "ok"})
    message = OutboundMessage(
        platform="discord", reply_target=target, text=numbered_text(choices), idempotency_key="k1", choices=choices
    )
    with httpx.Client(timeout=2) as client:
        assert DiscordAdapter(config(api_base_url=api.url + "/api/v10")).send(client, message).ok
    body: dict[str, Any] = api.last.json()
    return body


def click(custom_id: str, components: Any = None, **user: Any) -> dict[str, Any]:
    """The MESSAGE_COMPONENT interaction Discord posts when a button of our message is clicked."""
    interaction = json.loads(json.dumps(COMMAND))
    interaction.update(type=3, id="786008729715212400", token="COMPONENT_TOKEN")
    interaction["data"] = {"custom_id": custom_id, "component_type": 2}
    interaction["message"] = {"id": "1200000000000000001", "content": "Did you mean:", "components": components or []}
    interaction["member"]["user"].update(user)
    clicked: dict[str, Any] = interaction
    return clicked


def test_the_interaction_answer_carries_one_row_of_buttons_discord_accepts(api: PlatformDouble) -> None:
    body = send(api, INTERACTION_TARGET)
    assert api.last.method == "PATCH" and api.last.path.endswith("/messages/@original")
    assert platform_rules.discord(body) == []
    assert body["content"] == numbered_text(THREE)
    [row] = body["components"]
    assert [(b["label"], b["custom_id"]) for b in row["components"]] == [(c.label, c.payload) for c in THREE]


def test_a_channel_reply_with_many_options_fills_rows_of_five(api: PlatformDouble) -> None:
    body = send(api, CHANNEL_TARGET, FIFTEEN)
    assert api.last.method == "POST" and api.last.path.endswith("/messages")
    assert platform_rules.discord(body) == []
    assert [len(row["components"]) for row in body["components"]] == [5, 5, 5]
    assert body["components"][-1]["components"][-1]["custom_id"] == HUMAN.payload


def test_a_click_on_a_sent_button_parses_into_the_option_and_is_deferred(api: PlatformDouble) -> None:
    components = send(api, INTERACTION_TARGET)["components"]  # exactly what Discord shows and sends back
    adapter = DiscordAdapter(config())
    request = signed(click(THREE[1].payload, components))
    adapter.verify(request)
    assert adapter.handshake(request) is None
    [event] = adapter.parse(request)
    assert_well_formed([event], "discord")
    assert (event.kind, event.event_id) == ("message", "786008729715212400")
    assert event.conversation_key == "290926798626357999:645027906669510667:53908232506183680"
    assert event.reply_target["interaction_token"] == "COMPONENT_TOKEN"
    assert event.message is not None
    assert (event.message.choice_payload, event.message.text) == (THREE[1].payload, THREE[1].label)
    # 5: "thinking…", then the answer edits that new message; 6 would overwrite the question with its buttons.
    assert json.loads(adapter.acknowledge(request, [event]).body) == {"type": 5}


def test_a_click_without_the_components_uses_the_payload_and_a_bot_click_is_an_echo() -> None:
    [event] = DiscordAdapter(config()).parse(signed(click(HUMAN.payload)))
    assert event.message is not None and (event.message.choice_payload, event.message.text) == (HUMAN.payload,) * 2
    [echo] = DiscordAdapter(config()).parse(signed(click(HUMAN.payload, bot=True)))
    assert echo.kind == "echo" and echo.message is not None and echo.message.choice_payload is None
