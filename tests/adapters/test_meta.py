"""Meta adapters against signed copies of the documentation's example payloads, and their sends against a real
local HTTP server standing in for the Graph API."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.domain.channels import InboundEvent, OutboundMessage
from assistant.domain.messages import InboundMessage
from assistant.settings import PlatformConfig
from tests.adapters.platform_double import (  # noqa: F401
    PlatformDouble,
    RecordedRequest,
    api_fixture,
    assert_parses_or_refuses,
    closed_url,
    enabled_config,
)
from webhooks.adapters.base import PayloadError, SignatureError, WebhookRequest, WebhookResponse
from webhooks.adapters.meta.graph import HUMAN_AGENT_WINDOW, REPLY_WINDOW
from webhooks.adapters.meta.page_messaging import InstagramAdapter, MessengerAdapter
from webhooks.adapters.meta.whatsapp import WhatsAppAdapter

SECRET = "test-app-secret"
VERIFY = "meatyhamhock"
TOKEN = "PAGE-ACCESS-TOKEN"
PAGE = "1234567890123"
PSID = "7654321098765"
IG_ACCOUNT = "17841400000000000"
IGSID = "1122334455667788"
UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(value: int) -> datetime:
    return UTC_EPOCH + timedelta(milliseconds=value)


def sec(value: int) -> datetime:
    return UTC_EPOCH + timedelta(seconds=value)


def config(**overrides: Any) -> PlatformConfig:
    return enabled_config(
        {
            "api_base_url": "http://graph.invalid/v23.0",
            "app_secret": SECRET,
            "verify_token": VERIFY,
            "access_token": TOKEN,
        },
        overrides,
    )


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(payload: Any, signature: str | None = "auto", raw: bytes | None = None) -> WebhookRequest:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    if signature == "auto":
        headers["x-hub-signature-256"] = sign(body)
    elif signature is not None:
        headers["x-hub-signature-256"] = signature
    return WebhookRequest(method="POST", headers=headers, query={}, body=body, received_at=datetime.now(UTC))


def get(query: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="GET", headers={}, query=query, body=b"", received_at=datetime.now(UTC))


def receive(adapter: Any, payload: Any) -> list[InboundEvent]:
    """What the view does: verify the raw bytes, then parse them."""
    request = post(payload)
    adapter.verify(request)
    events: list[InboundEvent] = adapter.parse(request)
    return events


# -- example payloads, as the documentation shows them (placeholders filled in) ------------------------------

TEXT_EVENT = {
    "sender": {"id": PSID},
    "recipient": {"id": PAGE},
    "timestamp": 1458692752478,
    "message": {
        "mid": "mid.1457764197618:41d102a3e1ae206a38",
        "text": "hello, world!",
        "quick_reply": {"payload": "DEVELOPER_DEFINED_PAYLOAD"},
    },
}
ECHO_EVENT = {
    "sender": {"id": PAGE},
    "recipient": {"id": PSID},
    "timestamp": 1457764197627,
    "message": {
        "is_echo": True,
        "app_id": 1517776481860111,
        "metadata": "DEVELOPER_DEFINED_METADATA",
        "mid": "mid.1457764197618:41d102a3e1ae206a38",
        "text": "hello, world!",
    },
}
DELIVERY_EVENT = {
    "sender": {"id": PSID},
    "recipient": {"id": PAGE},
    "delivery": {"mids": ["mid.1458668856218:ed81099e15d3f4f233"], "watermark": 1458668856253},
}
READ_EVENT = {
    "sender": {"id": PSID},
    "recipient": {"id": PAGE},
    "timestamp": 1458668856463,
    "read": {"watermark": 1458668856253},
}
ATTACHMENT_EVENT = {
    "sender": {"id": PSID},
    "recipient": {"id": PAGE},
    "timestamp": 1518479195308,
    "message": {
        "mid": "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c",
        "attachments": [{"type": "image", "payload": {"url": "https://example.com/a.jpg"}}],
    },
}
POSTBACK_EVENT = {
    "sender": {"id": PSID},
    "recipient": {"id": PAGE},
    "timestamp": 1458692752478,
    "postback": {"mid": "m_postback1", "title": "Track my order", "payload": "TRACK_ORDER"},
}
REACTION_EVENT = {
    "sender": {"id": PSID},
    "recipient": {"id": PAGE},
    "timestamp": 1458668856463,
    "reaction": {
        "reaction": "love",
        "emoji": "\u2764\ufe0f",
        "action": "react",
        "mid": "mid.1457764197618:41d102a3e1ae206a38",
    },
}


def page(*messaging: dict[str, Any], page_id: str = PAGE) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": page_id, "time": 1458692752478, "messaging": list(messaging)}]}


FEED_COMMENT = {
    "object": "page",
    "entry": [
        {
            "id": PAGE,
            "time": 1520383571,
            "changes": [
                {
                    "field": "feed",
                    "value": {
                        "from": {"id": "24242424", "name": "Jane Doe"},
                        "post_id": f"{PAGE}_5555",
                        "comment_id": "5555_6666",
                        "parent_id": f"{PAGE}_5555",
                        "created_time": 1520383571,
                        "item": "comment",
                        "verb": "add",
                        "message": "Do you ship to Canada?",
                    },
                }
            ],
        }
    ],
}

IG_DM = {
    "object": "instagram",
    "entry": [
        {
            "id": IG_ACCOUNT,
            "time": 1569262486134,
            "messaging": [
                {
                    "sender": {"id": IGSID},
                    "recipient": {"id": IG_ACCOUNT},
                    "timestamp": 1569262485349,
                    "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE", "text": "Is the blue one back in stock?"},
                }
            ],
        }
    ],
}
IG_COMMENT = {
    "object": "instagram",
    "entry": [
        {
            "id": IG_ACCOUNT,
            "time": 1569262486134,
            "changes": [
                {
                    "field": "comments",
                    "value": {
                        "id": "17865799348089039",
                        "from": {"id": IGSID, "username": "mira.k"},
                        "text": "What sizes do you have?",
                        "media": {"id": "17887498072083520", "media_product_type": "FEED"},
                    },
                }
            ],
        }
    ],
}

WA_TEXT = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "102290129340398",
            "changes": [
                {
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                        "messages": [
                            {
                                "from": "16505551234",
                                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                                "timestamp": "1749416383",
                                "type": "text",
                                "text": {"body": "Does it come in another color?"},
                            }
                        ],
                    },
                    "field": "messages",
                }
            ],
        }
    ],
}
WA_STATUS = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "1314702302917944",
            "changes": [
                {
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15556459128", "phone_number_id": "590968830767958"},
                        "statuses": [
                            {
                                "id": "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=",
                                "status": "delivered",
                                "timestamp": "1750857384",
                                "recipient_id": "5516992318222",
                                "conversation": {
                                    "id": "a75d17ad06104c51166f948319b03c6a",
                                    "origin": {"type": "service"},
                                },
                                "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
                            }
                        ],
                    },
                    "field": "messages",
                }
            ],
        }
    ],
}


# -- parsing --------------------------------------------------------------------------------------------------


def test_messenger_text_message() -> None:
    [event] = receive(MessengerAdapter(config()), page(TEXT_EVENT))
    mid = "mid.1457764197618:41d102a3e1ae206a38"
    key = f"{PAGE}:{PSID}"
    assert event == InboundEvent(
        platform="messenger",
        event_id=mid,
        conversation_key=key,
        kind="message",
        message=InboundMessage(
            text="hello, world!", sender_id=PSID, platform="messenger", conversation_id=key, message_id=mid
        ),
        reply_target={"recipient_id": PSID, "account_id": PAGE, "message_id": mid},
        sent_at=ms(1458692752478),
    )
    assert event.sent_at is not None and event.sent_at.isoformat() == "2016-03-23T00:25:52.478000+00:00"
    # What the view hands Celery must survive the round trip.
    assert InboundEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_messenger_echo_belongs_to_the_person_it_went_to() -> None:
    [event] = receive(MessengerAdapter(config()), page(ECHO_EVENT))
    assert event.kind == "echo"
    assert event.conversation_key == f"{PAGE}:{PSID}"
    assert event.message is not None and event.message.is_echo and event.message.sender_id == PAGE
    assert event.reply_target["recipient_id"] == PSID


def test_sender_in_own_ids_is_an_echo_even_without_the_flag() -> None:
    own = {**TEXT_EVENT, "sender": {"id": "999"}, "recipient": {"id": PSID}}
    [event] = receive(MessengerAdapter(config(own_ids=["999"])), page(own))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo
    assert event.conversation_key == f"{PAGE}:{PSID}"


def test_delivery_and_read_have_stable_ids_and_no_message() -> None:
    adapter = MessengerAdapter(config())
    delivery, read = receive(adapter, page(DELIVERY_EVENT, READ_EVENT))
    assert (delivery.kind, read.kind) == ("delivery", "read")
    assert delivery.message is None and read.message is None
    assert delivery.event_id.startswith("delivery:") and read.event_id.startswith("read:")
    assert delivery.conversation_key == read.conversation_key == f"{PAGE}:{PSID}"
    assert delivery.sent_at is None and read.sent_at == ms(1458668856463)
    # Meta redelivers the same body: the dedupe key must not change; a different delivery must not collide.
    again = receive(adapter, page(DELIVERY_EVENT, READ_EVENT))
    assert [e.event_id for e in again] == [delivery.event_id, read.event_id]
    other = {**DELIVERY_EVENT, "delivery": {"mids": ["mid.other"], "watermark": 1458668856999}}
    [other_event] = receive(adapter, page(other))
    assert other_event.event_id != delivery.event_id


def test_attachment_without_text_is_an_empty_message() -> None:
    [event] = receive(MessengerAdapter(config()), page(ATTACHMENT_EVENT))
    assert event.kind == "message" and event.message is not None and event.message.text == ""
    assert event.event_id == "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"


def test_postback_and_reaction_are_other() -> None:
    postback, reaction = receive(MessengerAdapter(config()), page(POSTBACK_EVENT, REACTION_EVENT))
    assert postback.kind == "other" and postback.event_id == "m_postback1"
    assert postback.message is not None and postback.message.text == "Track my order"
    assert reaction.kind == "other" and reaction.message is None
    # A reaction carries the mid of the message reacted to: it must not take that message's dedupe key.
    assert reaction.event_id != "mid.1457764197618:41d102a3e1ae206a38"


def test_batch_of_two_entries_with_two_events_each_keeps_every_event_in_order() -> None:
    other_page = "2222222222222"
    first = {**TEXT_EVENT, "message": {"mid": "m_1", "text": "first"}}
    second = {**TEXT_EVENT, "sender": {"id": "u2"}, "message": {"mid": "m_2", "text": "second"}}
    third = {
        "sender": {"id": "u3"},
        "recipient": {"id": other_page},
        "timestamp": 1458692752999,
        "message": {"mid": "m_3", "text": "third"},
    }
    payload = {
        "object": "page",
        "entry": [
            {"id": PAGE, "time": 1458692752478, "messaging": [first, second]},
            {
                "id": other_page,
                "time": 1458692752999,
                "messaging": [third, READ_EVENT | {"recipient": {"id": other_page}, "sender": {"id": "u3"}}],
            },
        ],
    }
    events = receive(MessengerAdapter(config()), payload)
    assert [(e.event_id, e.kind, e.conversation_key) for e in events] == [
        ("m_1", "message", f"{PAGE}:{PSID}"),
        ("m_2", "message", f"{PAGE}:u2"),
        ("m_3", "message", f"{other_page}:u3"),
        (events[3].event_id, "read", f"{other_page}:u3"),
    ]
    assert [e.message.text for e in events[:3] if e.message] == ["first", "second", "third"]


def test_standby_messages_are_recorded_but_not_answerable() -> None:
    payload = {"object": "page", "entry": [{"id": PAGE, "time": 1, "standby": [TEXT_EVENT, ECHO_EVENT]}]}
    standby, echo = receive(MessengerAdapter(config()), payload)
    assert standby.kind == "other" and echo.kind == "echo"


def test_facebook_feed_comment() -> None:
    [event] = receive(MessengerAdapter(config()), FEED_COMMENT)
    key = f"{PAGE}:{PAGE}_5555:24242424"
    assert event == InboundEvent(
        platform="messenger",
        event_id="5555_6666",
        conversation_key=key,
        kind="comment",
        message=InboundMessage(
            text="Do you ship to Canada?",
            sender_id="24242424",
            sender_name="Jane Doe",
            platform="messenger",
            conversation_id=key,
            message_id="5555_6666",
            is_public=True,
        ),
        reply_target={"comment_id": "5555_6666", "post_id": f"{PAGE}_5555", "account_id": PAGE},
        sent_at=sec(1520383571),
    )


def test_feed_comment_by_the_page_itself_is_an_echo_and_edits_are_other() -> None:
    own = json.loads(json.dumps(FEED_COMMENT))
    own["entry"][0]["changes"][0]["value"]["from"] = {"id": PAGE, "name": "Northpine"}
    edited = json.loads(json.dumps(FEED_COMMENT))
    edited["entry"][0]["changes"][0]["value"]["verb"] = "edited"
    adapter = MessengerAdapter(config())
    [echo] = receive(adapter, own)
    [other] = receive(adapter, edited)
    assert echo.kind == "echo" and echo.message is not None and echo.message.is_echo
    assert other.kind == "other" and other.message is None


def test_instagram_dm_and_comment() -> None:
    adapter = InstagramAdapter(config())
    [dm] = receive(adapter, IG_DM)
    mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE"
    key = f"{IG_ACCOUNT}:{IGSID}"
    assert dm == InboundEvent(
        platform="instagram",
        event_id=mid,
        conversation_key=key,
        kind="message",
        message=InboundMessage(
            text="Is the blue one back in stock?",
            sender_id=IGSID,
            platform="instagram",
            conversation_id=key,
            message_id=mid,
        ),
        reply_target={"recipient_id": IGSID, "account_id": IG_ACCOUNT, "message_id": mid},
        sent_at=ms(1569262485349),
    )
    [comment] = receive(adapter, IG_COMMENT)
    key = f"{IG_ACCOUNT}:17887498072083520:{IGSID}"
    assert comment == InboundEvent(
        platform="instagram",
        event_id="17865799348089039",
        conversation_key=key,
        kind="comment",
        message=InboundMessage(
            text="What sizes do you have?",
            sender_id=IGSID,
            sender_name="mira.k",
            platform="instagram",
            conversation_id=key,
            message_id="17865799348089039",
            is_public=True,
        ),
        reply_target={"comment_id": "17865799348089039", "account_id": IG_ACCOUNT, "media_id": "17887498072083520"},
        sent_at=None,
    )


def test_instagram_echo_and_unsent_message() -> None:
    echo = {
        "sender": {"id": IG_ACCOUNT},
        "recipient": {"id": IGSID},
        "timestamp": 1569262485349,
        "message": {"mid": "m_echo", "text": "Thanks!", "is_echo": True},
    }
    deleted = {
        "sender": {"id": IGSID},
        "recipient": {"id": IG_ACCOUNT},
        "timestamp": 1569262485999,
        "message": {"mid": "m_orig", "is_deleted": True},
    }
    payload = {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": 1, "messaging": [echo, deleted]}]}
    first, second = receive(InstagramAdapter(config()), payload)
    assert first.kind == "echo" and first.conversation_key == f"{IG_ACCOUNT}:{IGSID}"
    assert second.kind == "other" and second.event_id == "m_orig:deleted"


def test_whatsapp_text_message_with_contact_name() -> None:
    [event] = receive(WhatsAppAdapter(config()), WA_TEXT)
    wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    key = "106540352242922:16505551234"
    assert event == InboundEvent(
        platform="whatsapp",
        event_id=wamid,
        conversation_key=key,
        kind="message",
        message=InboundMessage(
            text="Does it come in another color?",
            sender_id="16505551234",
            sender_name="Sheena Nelson",
            platform="whatsapp",
            conversation_id=key,
            message_id=wamid,
        ),
        reply_target={"to": "16505551234", "phone_number_id": "106540352242922", "message_id": wamid},
        sent_at=sec(1749416383),
    )


def test_whatsapp_status_update() -> None:
    [event] = receive(WhatsAppAdapter(config()), WA_STATUS)
    wamid = "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA="
    assert event == InboundEvent(
        platform="whatsapp",
        event_id=f"{wamid}:delivered",
        conversation_key="590968830767958:5516992318222",
        kind="delivery",
        message=None,
        sent_at=sec(1750857384),
    )
    # sent, delivered and read share the message id: each state must survive dedupe.
    read = json.loads(json.dumps(WA_STATUS))
    read["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "read"
    [read_event] = receive(WhatsAppAdapter(config()), read)
    assert read_event.kind == "read" and read_event.event_id == f"{wamid}:read"


def test_whatsapp_media_caption_and_reaction() -> None:
    payload = json.loads(json.dumps(WA_TEXT))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [
        {
            "from": "16505551234",
            "id": "wamid.img",
            "timestamp": "1749416390",
            "type": "image",
            "image": {"caption": "Is this the right size?", "mime_type": "image/jpeg", "id": "1"},
        },
        {
            "from": "16505551234",
            "id": "wamid.audio",
            "timestamp": "1749416391",
            "type": "audio",
            "audio": {"mime_type": "audio/ogg", "id": "2"},
        },
        {
            "from": "16505551234",
            "id": "wamid.react",
            "timestamp": "1749416392",
            "type": "reaction",
            "reaction": {"message_id": "wamid.x", "emoji": "\U0001f44d"},
        },
    ]
    image, audio, reaction = receive(WhatsAppAdapter(config()), payload)
    assert image.message is not None and image.message.text == "Is this the right size?"
    assert audio.kind == "message" and audio.message is not None and audio.message.text == ""
    assert reaction.kind == "other" and reaction.message is None


# -- signatures and handshake -----------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter_type", [MessengerAdapter, InstagramAdapter, WhatsAppAdapter])
def test_valid_signature_passes(adapter_type: type[Any]) -> None:
    adapter_type(config()).verify(post(page(TEXT_EVENT)))


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("sha256=" + "0" * 64, "does not match"),
        (sign(b'{"object": "page", "entry": []}'), "does not match"),
        (None, "missing"),
        ("sha1=" + "0" * 40, "sha256=<hex>"),
        ("sha256=not-hex", "sha256=<hex>"),
        (sign(json.dumps(page(TEXT_EVENT)).encode(), secret="another-secret"), "does not match"),
    ],
)
def test_bad_signatures_are_refused(signature: str | None, reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        MessengerAdapter(config()).verify(post(page(TEXT_EVENT), signature=signature))
    assert caught.value.status == 401
    assert reason in caught.value.reason
    assert SECRET not in caught.value.reason and "hello" not in caught.value.reason


def test_tampered_body_is_refused() -> None:
    request = post(page(TEXT_EVENT))
    tampered = WebhookRequest(
        method="POST",
        headers=request.headers,
        query={},
        body=request.body.replace(b"hello", b"HELLO"),
        received_at=request.received_at,
    )
    with pytest.raises(SignatureError):
        MessengerAdapter(config()).verify(tampered)


@pytest.mark.parametrize("secret", [None, ""])
def test_unconfigured_secret_refuses_everything(secret: str | None) -> None:
    with pytest.raises(SignatureError, match="not configured"):
        MessengerAdapter(config(app_secret=secret)).verify(post(page(TEXT_EVENT), signature=sign(b"x", "")))


def test_handshake() -> None:
    adapter = WhatsAppAdapter(config())
    good = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY}
    assert adapter.handshake(get(good)) == WebhookResponse(200, "1158201444", "text/plain")
    with pytest.raises(SignatureError) as caught:
        adapter.handshake(get({**good, "hub.verify_token": "wrong"}))
    assert caught.value.status == 403 and VERIFY not in caught.value.reason
    with pytest.raises(SignatureError) as caught:
        MessengerAdapter(config(verify_token=None)).handshake(get({**good, "hub.verify_token": ""}))
    assert caught.value.status == 403
    with pytest.raises(PayloadError):
        adapter.handshake(get({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"}))
    assert adapter.handshake(post(WA_TEXT)) is None


def test_acknowledge() -> None:
    adapter = InstagramAdapter(config())
    request = post(IG_DM)
    assert adapter.acknowledge(request, adapter.parse(request)) == WebhookResponse(200, "EVENT_RECEIVED", "text/plain")


# -- malformed bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'"page"', b"[" * 100_000])
def test_malformed_json_is_a_payload_error(raw: bytes) -> None:
    with pytest.raises(PayloadError):
        MessengerAdapter(config()).parse(post(None, raw=raw))


@pytest.mark.parametrize(
    ("adapter_type", "payload"),
    [
        (MessengerAdapter, IG_DM),
        (InstagramAdapter, page(TEXT_EVENT)),
        (WhatsAppAdapter, page(TEXT_EVENT)),
        (MessengerAdapter, {"object": "page"}),
        (MessengerAdapter, {"object": "page", "entry": {"id": PAGE}}),
        (MessengerAdapter, {"object": "page", "entry": ["x"]}),
        (MessengerAdapter, {"object": "page", "entry": [{"time": 1, "messaging": []}]}),
        (MessengerAdapter, {"object": "page", "entry": [{"id": PAGE, "messaging": {"sender": {}}}]}),
    ],
)
def test_wrong_object_or_envelope_is_a_payload_error(adapter_type: type[Any], payload: Any) -> None:
    with pytest.raises(PayloadError):
        adapter_type(config()).parse(post(payload))


# Keys and values the adapters look at, so random bodies get past the envelope and deep into the parsers.
_KEYS = st.sampled_from(
    [
        "id",
        "time",
        "messaging",
        "standby",
        "changes",
        "sender",
        "recipient",
        "timestamp",
        "message",
        "mid",
        "text",
        "is_echo",
        "is_deleted",
        "delivery",
        "read",
        "postback",
        "title",
        "field",
        "value",
        "from",
        "item",
        "verb",
        "comment_id",
        "post_id",
        "created_time",
        "media",
        "username",
        "name",
        "metadata",
        "phone_number_id",
        "messages",
        "statuses",
        "contacts",
        "profile",
        "wa_id",
        "type",
        "status",
        "recipient_id",
        "button",
        "interactive",
        "button_reply",
        "caption",
        "body",
        "image",
    ]
) | st.text(max_size=4)
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from([PAGE, PSID, "feed", "comments", "comment", "add", "messages", "text", "read", "1e400"])
)
_JSON = st.recursive(
    _SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=20
)


def _object(required: dict[str, Any] | None = None, **optional: Any) -> Any:
    """An object with the required fields, any subset of the optional ones, and perhaps a random extra."""
    known = st.fixed_dictionaries(required or {}, optional=optional)
    return st.tuples(known, st.dictionaries(_KEYS, _JSON, max_size=1)).map(lambda pair: {**pair[1], **pair[0]})


def _mostly(usual: Any, odd: Any) -> Any:
    """Well-formed three times in four, so most examples get past the first check they meet."""
    return st.one_of(usual, usual, usual, odd)


def _one_of_words(*words: str) -> Any:
    return _mostly(st.sampled_from(words), _SCALAR)


_ID = _mostly(st.sampled_from([PAGE, PSID, IG_ACCOUNT, "m_1", "wamid.1", 7]), _SCALAR)
_PARTY = _mostly(_object({"id": _ID}), _JSON)
_MESSAGE = _mostly(_object({"mid": _ID}, text=_SCALAR, is_echo=_SCALAR, is_deleted=_SCALAR), _JSON)
_MESSAGING = _object({"sender": _PARTY, "recipient": _PARTY, "message": _MESSAGE}, timestamp=_SCALAR) | _object(
    {"sender": _PARTY, "recipient": _PARTY},
    timestamp=_SCALAR,
    delivery=_JSON,
    read=_JSON,
    postback=_object(mid=_ID, title=_SCALAR) | _JSON,
)
_COMMENT = _object(
    {
        "item": _one_of_words("comment"),
        "verb": _one_of_words("add", "edited"),
        "comment_id": _ID,
        "post_id": _ID,
        "from": _PARTY,
    },
    message=_SCALAR,
    created_time=_SCALAR,
)
_IG_COMMENT = _object({"id": _ID, "from": _PARTY}, text=_SCALAR, media=_object({"id": _ID}) | _JSON)
_WA_MESSAGE = _object(
    {"id": _ID, "from": _ID, "type": _one_of_words("text", "image", "reaction")},
    timestamp=_SCALAR,
    text=_JSON,
    image=_JSON,
    interactive=_JSON,
)
_WA_STATUS = _object({"id": _ID, "status": _one_of_words("read", "sent")}, recipient_id=_ID, timestamp=_SCALAR)
_WA_VALUE = _object(
    {"metadata": _mostly(_object({"phone_number_id": _ID}), _JSON)},
    contacts=st.lists(_object({"wa_id": _ID}, profile=_object(name=_SCALAR) | _JSON), max_size=2),
    messages=st.lists(_WA_MESSAGE, max_size=2),
    statuses=st.lists(_WA_STATUS, max_size=2),
)
_CHANGE = _object(
    {
        "field": _one_of_words("feed", "comments", "messages"),
        "value": st.one_of(_COMMENT, _IG_COMMENT, _WA_VALUE, _JSON),
    }
)
_ENTRY = _object(
    {"id": st.sampled_from([PAGE, IG_ACCOUNT, 12, None])},
    time=_SCALAR,
    messaging=st.lists(_MESSAGING, max_size=3),
    standby=st.lists(_MESSAGING, max_size=1),
    changes=st.lists(_CHANGE, max_size=3),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    adapter_type=st.sampled_from([MessengerAdapter, InstagramAdapter, WhatsAppAdapter]),
    entries=st.lists(_ENTRY, max_size=3),
)
def test_any_signed_body_parses_or_is_a_payload_error(adapter_type: type[Any], entries: list[Any]) -> None:
    adapter = adapter_type(config())
    request = post({"object": adapter.object_type, "entry": entries})
    events = assert_parses_or_refuses(adapter, request)
    if events is not None:
        assert adapter.parse(request) == events  # deterministic: redeliveries get the same ids


# -- sending, against a local stand-in for the Graph API ------------------------------------------------------


def graph_url(api: PlatformDouble) -> str:
    """The stand-in Graph API, versioned like the real one."""
    return f"{api.url}/v23.0"


@pytest.fixture()
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def outbound(platform: str, target: dict[str, str], mode: str = "reply", text: str = "We ship worldwide.") -> Any:
    return OutboundMessage(platform=platform, reply_target=target, text=text, idempotency_key="idem-1", mode=mode)


def only_request(api: PlatformDouble) -> RecordedRequest:
    [request] = api.requests
    assert request.method == "POST"
    # The token travels in the Authorization header only: never in a URL that proxies and httpx log.
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.query == {}
    assert request.headers["content-type"].startswith("application/json")
    # Meta has no idempotency header: nothing of ours beyond the documented body may reach it.
    assert "idem-1" not in request.body.decode() and not any("idem" in k for k in request.headers)
    return request


DM_TARGET = {"recipient_id": PSID, "account_id": PAGE, "message_id": "m_1"}


def test_messenger_reply(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(200, json={"recipient_id": PSID, "message_id": "AG5Hz2Uq7tuwNEhXfYYKj8mJEX"})
    result = MessengerAdapter(config(api_base_url=graph_url(api))).send(client, outbound("messenger", DM_TARGET))
    assert result.ok and result.status == 200 and result.platform_message_id == "AG5Hz2Uq7tuwNEhXfYYKj8mJEX"
    request = only_request(api)
    assert request.path == "/v23.0/me/messages"
    assert request.json() == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "We ship worldwide."},
    }


def test_human_agent_tag(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(200, json={"recipient_id": IGSID, "message_id": "m_ig"})
    target = {"recipient_id": IGSID, "account_id": IG_ACCOUNT}
    result = InstagramAdapter(config(api_base_url=graph_url(api))).send(
        client, outbound("instagram", target, mode="human_agent")
    )
    assert result.ok and result.platform_message_id == "m_ig"
    assert only_request(api).json() == {
        "recipient": {"id": IGSID},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "We ship worldwide."},
    }
    assert REPLY_WINDOW.total_seconds() == 24 * 3600
    assert HUMAN_AGENT_WINDOW.days == 7


def test_private_reply(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(200, json={"recipient_id": "24242424", "message_id": "m_private"})
    target = {"comment_id": "5555_6666", "post_id": f"{PAGE}_5555", "account_id": PAGE}
    result = MessengerAdapter(config(api_base_url=graph_url(api))).send(
        client, outbound("messenger", target, mode="private_reply")
    )
    assert result.ok and result.platform_message_id == "m_private"
    request = only_request(api)
    assert request.path == "/v23.0/me/messages"
    assert request.json() == {
        "recipient": {"comment_id": "5555_6666"},
        "messaging_type": "RESPONSE",
        "message": {"text": "We ship worldwide."},
    }


@pytest.mark.parametrize(
    ("adapter_type", "mode", "path"),
    [
        (MessengerAdapter, "public_reply", "/v23.0/5555_6666/comments"),
        (MessengerAdapter, "reply", "/v23.0/5555_6666/comments"),  # a plain reply to a comment answers in public
        (InstagramAdapter, "public_reply", "/v23.0/5555_6666/replies"),
    ],
)
def test_public_reply(api: PlatformDouble, client: httpx.Client, adapter_type: type[Any], mode: str, path: str) -> None:
    api.reply(200, json={"id": "5555_7777"})
    result = adapter_type(config(api_base_url=graph_url(api))).send(
        client, outbound(adapter_type.name, {"comment_id": "5555_6666", "account_id": PAGE}, mode=mode)
    )
    assert result.ok and result.platform_message_id == "5555_7777"
    request = only_request(api)
    assert request.path == path
    assert request.json() == {"message": "We ship worldwide."}


WA_TARGET = {"to": "16505551234", "phone_number_id": "106540352242922", "message_id": "wamid.question"}


def test_whatsapp_reply_quotes_the_question(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.answer"}],
        },
    )
    result = WhatsAppAdapter(config(api_base_url=graph_url(api))).send(client, outbound("whatsapp", WA_TARGET))
    assert result.ok and result.platform_message_id == "wamid.answer"
    request = only_request(api)
    assert request.path == "/v23.0/106540352242922/messages"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"body": "We ship worldwide.", "preview_url": False},
        "context": {"message_id": "wamid.question"},
    }


def test_whatsapp_without_message_id_uses_configured_number(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(200, json={"messages": [{"id": "wamid.answer"}]})
    adapter = WhatsAppAdapter(config(api_base_url=graph_url(api), phone_number_id="555000"))
    assert adapter.send(client, outbound("whatsapp", {"to": "16505551234"})).ok
    request = only_request(api)
    assert request.path == "/v23.0/555000/messages" and "context" not in request.json()


def test_429_with_retry_after(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(
        429,
        json={"error": {"message": "(#4) Application request limit reached", "code": 4}},
        headers={"Retry-After": "7"},
    )
    result = MessengerAdapter(config(api_base_url=graph_url(api))).send(client, outbound("messenger", DM_TARGET))
    assert not result.ok and result.status == 429 and result.retryable and result.retry_after == 7.0
    assert not result.outcome_unknown


def test_500_is_retryable(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(500, json={"error": {"message": "An unexpected error has occurred.", "code": 2}})
    result = WhatsAppAdapter(config(api_base_url=graph_url(api))).send(client, outbound("whatsapp", WA_TARGET))
    assert not result.ok and result.status == 500 and result.retryable


@pytest.mark.parametrize(
    ("status", "code"), [(400, 613), (400, 4), (403, 17), (400, 32), (400, 130429), (400, 131056), (400, "80007")]
)
def test_graph_throttling_codes_are_retryable(
    api: PlatformDouble, client: httpx.Client, status: int, code: int | str
) -> None:
    api.reply(
        status,
        json={
            "error": {
                "message": f"(#{code}) Calls to this api have exceeded the rate limit.",
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "AbC",
            }
        },
    )
    result = MessengerAdapter(config(api_base_url=graph_url(api))).send(client, outbound("messenger", DM_TARGET))
    assert not result.ok and result.status == status and result.retryable


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "(#100) The parameter recipient is required", "type": "OAuthException", "code": 100}},
        {
            "error": {
                "message": "(#10) This message is sent outside of allowed window.",
                "code": 10,
                "error_subcode": 2018278,
            }
        },
        {"unexpected": True},
    ],
)
def test_other_client_errors_are_final(api: PlatformDouble, client: httpx.Client, body: Any) -> None:
    api.reply(400, json=body)
    result = MessengerAdapter(config(api_base_url=graph_url(api))).send(client, outbound("messenger", DM_TARGET))
    assert not result.ok and result.status == 400 and not result.retryable and not result.outcome_unknown
    assert result.error


def test_timeout_after_sending_is_outcome_unknown(api: PlatformDouble) -> None:
    api.reply(200, json={"message_id": "late"}, delay=1.0)
    with httpx.Client(timeout=0.2) as impatient:
        result = MessengerAdapter(config(api_base_url=graph_url(api))).send(impatient, outbound("messenger", DM_TARGET))
    assert not result.ok and result.outcome_unknown and not result.retryable
    assert len(api.requests) == 1  # it did reach the server: a blind resend could duplicate it


def test_refused_connection_is_retryable(client: httpx.Client) -> None:
    adapter = MessengerAdapter(config(api_base_url=f"{closed_url()}/v23.0"))
    result = adapter.send(client, outbound("messenger", DM_TARGET))
    assert not result.ok and result.retryable and not result.outcome_unknown
    assert TOKEN not in (result.error or "")


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        (MessengerAdapter(config(access_token=None)), outbound("messenger", DM_TARGET)),
        (MessengerAdapter(config()), outbound("messenger", {"account_id": PAGE})),
        (MessengerAdapter(config()), outbound("messenger", {"recipient_id": PSID}, mode="private_reply")),
        (MessengerAdapter(config()), outbound("messenger", DM_TARGET, mode="broadcast")),
        (WhatsAppAdapter(config()), outbound("whatsapp", WA_TARGET, mode="human_agent")),
        (WhatsAppAdapter(config()), outbound("whatsapp", {"to": "16505551234"})),
    ],
)
def test_unsendable_messages_are_refused_without_a_request(adapter: Any, message: OutboundMessage) -> None:
    # Nothing may leave: the base URL points at a name that never resolves, so any request would fail differently.
    with httpx.Client(timeout=1.0) as http:
        result = adapter.send(http, message)
    assert not result.ok and not result.retryable and not result.outcome_unknown and result.status is None


def test_ids_from_payloads_cannot_rewrite_the_path(api: PlatformDouble, client: httpx.Client) -> None:
    api.reply(200, json={"id": "x"})
    MessengerAdapter(config(api_base_url=graph_url(api))).send(
        client, outbound("messenger", {"comment_id": "../../me/feed"}, mode="public_reply")
    )
    assert only_request(api).path == "/v23.0/..%2F..%2Fme%2Ffeed/comments"
