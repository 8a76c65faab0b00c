"""Helpers the platform adapters share: HMAC and freshness checks on raw bytes, JSON reading, and one outbound
HTTP call that tells "never sent" (retryable) from "sent, answer lost" (outcome unknown); one copy for all adapters."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from assistant.domain.channels import SendResult
from assistant.settings import SUPPORTED_LANGUAGES
from webhooks.adapters.base import PayloadError, SignatureError, WebhookRequest, WebhookResponse

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")  # ASCII digits only: what the platforms send, and what they signed
# Deepest nesting an inbound JSON body may have. The platforms' payloads stay under 15 (Meta's entry/changes/value/
# messages/context, Slack's blocks); 64 leaves room and keeps the parser's recursion far from Python's limit.
MAX_JSON_DEPTH = 64
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


# --- signatures -------------------------------------------------------------------------------------------------


def require_secret(value: str | None, what: str) -> str:
    """The configured secret, or SignatureError: an adapter without its secret accepts nothing."""
    if not value:
        raise SignatureError(f"{what} is not configured; refusing every request")
    return value


def hmac_sha256(key: str | bytes, message: bytes) -> bytes:
    """HMAC-SHA256 digest of `message` (the raw request bytes, or a documented prefix + them)."""
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, message, hashlib.sha256).digest()


def utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_timestamp(raw: str | None, now: datetime, tolerance_seconds: int, header: str) -> int:
    """Parse a Unix-seconds header and refuse it when missing, malformed, or further than the tolerance from `now`
    (in either direction: a clock far ahead is as suspicious as a replay)."""
    if raw is None or not raw.strip():
        raise SignatureError(f"missing {header}")
    if not UNIX_SECONDS.fullmatch(raw):
        raise SignatureError(f"malformed {header}")
    stamp = int(raw)
    if abs(utc(now).timestamp() - stamp) > tolerance_seconds:
        raise SignatureError(f"stale {header}: outside the {tolerance_seconds} s tolerance")
    return stamp


# --- reading payloads -------------------------------------------------------------------------------------------


def check_nesting(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """PayloadError unless the body's brackets, outside strings, balance within `limit` levels.

    Runs before the parser, whose recursion a deep body would exhaust (RecursionError). Each pass of the loop
    removes the innermost `[]` pairs, so what is left after `limit` passes is nested deeper or unbalanced; both are
    bad JSON. Only bytes methods, which run in C: a signed 1 MB body costs milliseconds, not a loop per byte."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # no more openers than the limit allows: the common case, with no copy at all
    marks = _brackets_outside_strings(body)
    for _ in range(limit):
        shorter = marks.replace(b"[]", b"")
        if shorter == marks:
            break
        marks = shorter
    if b"[]" in marks:
        raise PayloadError(f"body is nested deeper than {limit} levels")
    if marks:
        raise PayloadError("body is not valid JSON: unbalanced brackets")


def _brackets_outside_strings(body: bytes) -> bytes:
    """The brackets of the body that are not inside a JSON string, `{}` written as `[]`.

    Escaped backslashes go first (replace pairs a run of them from its left, as JSON reads it), then escaped
    quotes; every `"` left opens or closes a string, so the pieces between them alternate outside and inside. An
    unterminated string runs to the end (its body is bad JSON anyway)."""
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    return b"".join(text.split(b'"')[::2]).translate(_AS_SQUARE)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadError (400) for anything else: too deep, not UTF-8, not JSON (numbers
    over Python's digit limit included), or JSON that is not an object. The one JSON reader of inbound bodies; its
    messages never quote the body, so the log line of the refusal carries nothing a person sent."""
    check_nesting(body)
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PayloadError("body is not valid UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    return data


def posted_json(request: WebhookRequest) -> dict[str, Any] | None:
    """The body of a POST as a JSON object, else None: how a handshake spots its own body (url_verification, PING)
    while leaving every other request, malformed ones included, to `parse`."""
    if request.method.upper() != "POST":
        return None
    try:
        return parse_json_object(request.body)
    except PayloadError:
        return None


def json_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


def id_string(value: Any) -> str | None:
    """A platform id (string or integer in JSON) as a string; None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def language_hint(code: Any) -> str | None:
    """The first two letters of a platform language tag (IETF, e.g. "pl", "zh-hans") when we support them."""
    if not isinstance(code, str) or len(code) < 2:
        return None
    prefix = code[:2].lower()
    return prefix if prefix in SUPPORTED_LANGUAGES else None


def from_epoch(seconds: Any) -> datetime | None:
    """A Unix timestamp (number or numeric string) as an aware UTC datetime; None when absent or malformed."""
    if isinstance(seconds, bool):
        return None
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_epoch_ms(milliseconds: Any) -> datetime | None:
    """A Unix timestamp in milliseconds (number or numeric string) as an aware UTC datetime, or None."""
    seconds = seconds_or_none(milliseconds)
    return from_epoch(seconds / 1000) if seconds is not None else None


def compact_json(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes we send (and, where a signature covers them, sign)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(payload: Mapping[str, Any]) -> WebhookResponse:
    """A 200 whose JSON body the platform reads (Discord's PONG and deferrals, Telegram's method call, X's CRC)."""
    return WebhookResponse(status=200, body=compact_json(payload).decode(), content_type="application/json")


# --- outbound ---------------------------------------------------------------------------------------------------


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> httpx.Response | SendResult:
    """Send JSON and return the response, or the SendResult of a transport failure.

    Nothing left the machine (connect refused or timed out, no pooled connection): retryable. The request may have
    reached the platform (read/write timeout, connection dropped mid-exchange): outcome unknown, so the caller must
    not resend blindly. Error texts never include the URL (Telegram puts the bot token in the path)."""
    content = compact_json(payload) if body is None else body
    merged = {"Content-Type": JSON_CONTENT_TYPE, **dict(headers or {})}
    try:
        return client.request(method, url, content=content, headers=merged)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        return SendResult(ok=False, retryable=True, error=f"not sent: {type(error).__name__}")
    except (httpx.TimeoutException, httpx.TransportError) as error:
        return SendResult(ok=False, outcome_unknown=True, error=f"sent, no answer: {type(error).__name__}")


def send_json(
    client: httpx.Client,
    method: str,
    url: str,
    payload: Mapping[str, Any],
    read: Callable[[httpx.Response], SendResult],
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> SendResult:
    """`request_json`, with the platform's answer read by `read`; a transport failure is its own SendResult."""
    outcome = request_json(client, method, url, payload, headers=headers, body=body)
    return outcome if isinstance(outcome, SendResult) else read(outcome)


def response_json(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or an empty one when it is not."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def seconds_or_none(value: Any) -> float | None:
    """A non-negative number of seconds from a JSON number or header string."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(seconds, 0.0)


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header given in seconds (the form these platforms use)."""
    return seconds_or_none(response.headers.get("retry-after"))
