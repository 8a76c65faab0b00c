"""Bad JSON is bad input: on every platform's endpoint, a correctly signed body the parser cannot take (nested
100,000 deep, not UTF-8, a number past Python's digit limit, JSON that is not an object) is a 400 with a log line
that quotes nothing of the body, and nothing is queued or stored. The depth limit is checked before parsing."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adapters.signed_edge import SIGNERS, Edge, edge_fixture  # noqa: F401
from webhooks.adapters.base import PayloadError
from webhooks.adapters.signing import MAX_JSON_DEPTH, parse_json_object

# What a person might have written: it must never reach a log line.
PERSONAL = "Anna Kowalska +48 600 100 200"


def _nested(depth: int) -> bytes:
    return b"[" * depth + json.dumps(PERSONAL).encode() + b"]" * depth


BAD_BODIES: dict[str, bytes] = {
    "nested_100000_deep": _nested(100_000),
    "nested_objects_50000_deep": b'{"a":' * 50_000 + json.dumps(PERSONAL).encode() + b"}" * 50_000,
    "not_utf8": b'{"update_id": 1, "text": "' + PERSONAL.encode() + b' \xff\xfe"}',
    "number_past_the_digit_limit": b'{"update_id": ' + b"7" * 5000 + b', "text": "' + PERSONAL.encode() + b'"}',
    "array_not_object": json.dumps([PERSONAL]).encode(),
    "number_not_object": b"42",
    "string_not_object": json.dumps(PERSONAL).encode(),
}
TEXT_BODIES = sorted(name for name in BAD_BODIES if name != "not_utf8")


def _assert_refused_quietly(
    edge: Edge, caplog: pytest.LogCaptureFixture, platform: str, status: int, rows_before: dict[str, int]
) -> None:
    assert status == 400
    refusals = [r.getMessage() for r in caplog.records if f"/webhooks/{platform} refused: 400" in r.getMessage()]
    assert refusals, "the refusal is logged"
    assert not any(PERSONAL in r.getMessage() or "Kowalska" in r.getMessage() for r in caplog.records)
    assert edge.queued == []
    assert edge.redis.keys("*") == []  # no dedupe claim either
    assert edge.rows() == rows_before


@pytest.mark.parametrize("body_name", TEXT_BODIES)
@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_a_signed_body_the_parser_cannot_take_is_a_400_on_every_endpoint(
    edge: Edge, caplog: pytest.LogCaptureFixture, platform: str, body_name: str
) -> None:
    before = edge.rows()
    caplog.set_level(logging.INFO)
    status = edge.post(platform, BAD_BODIES[body_name])
    _assert_refused_quietly(edge, caplog, platform, status, before)


@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_a_signed_body_that_is_not_utf8_is_a_400(edge: Edge, caplog: pytest.LogCaptureFixture, platform: str) -> None:
    before = edge.rows()
    caplog.set_level(logging.INFO)
    status = edge.post(platform, BAD_BODIES["not_utf8"])
    _assert_refused_quietly(edge, caplog, platform, status, before)


@pytest.mark.parametrize("body_name", sorted(BAD_BODIES))
def test_slack_interactivity_payload_field_gets_the_same_check(
    edge: Edge, caplog: pytest.LogCaptureFixture, body_name: str
) -> None:
    # Slack posts button clicks form-encoded, the JSON in the `payload` field; the bytes are percent-encoded, so
    # invalid UTF-8 inside the field survives the form and reaches the JSON reader.
    before = edge.rows()
    caplog.set_level(logging.INFO)
    form = b"payload=" + quote(BAD_BODIES[body_name], safe="").encode()
    status = edge.post("slack", form, content_type="application/x-www-form-urlencoded")
    _assert_refused_quietly(edge, caplog, "slack", status, before)


# --- the depth limit --------------------------------------------------------------------------------------------


def _object_of_depth(depth: int) -> bytes:
    """An object whose deepest value sits `depth` levels down: the object itself and depth - 1 arrays."""
    return b'{"a":' + b"[" * (depth - 1) + b"1" + b"]" * (depth - 1) + b"}"


def test_a_body_at_the_depth_limit_parses_and_one_level_more_is_refused() -> None:
    assert parse_json_object(_object_of_depth(MAX_JSON_DEPTH))["a"]
    with pytest.raises(PayloadError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        parse_json_object(_object_of_depth(MAX_JSON_DEPTH + 1))


def test_many_shallow_brackets_are_not_depth() -> None:
    body = json.dumps({"rows": [[i, [i]] for i in range(5000)]}).encode()
    assert len(parse_json_object(body)["rows"]) == 5000


@pytest.mark.parametrize(
    "text",
    [
        "[" * 500 + "{" * 500,
        '\\"' + "[" * 500 + "\\\\",  # an escaped quote, brackets, an escaped backslash before the closing quote
        '\\\\\\"' + "{" * 500 + '\\\\\\\\\\"',  # backslash runs of 3 and 5 before a quote: escaped quotes
    ],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    body = b'{"text": "' + text.encode() + b'", "more": [["ok"]]}'
    parsed = parse_json_object(body)
    assert parsed["text"] == json.loads(f'"{text}"')
    assert parsed["more"] == [["ok"]]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab"\\[]{}\n\u00e9\U0001f600')),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=40,
)


@given(value=JSON_VALUES, ensure_ascii=st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_object_within_the_limit_reads_as_the_parser_reads_it(value: object, ensure_ascii: bool) -> None:
    # The padding puts more openers in the body than the limit, so the scan (not its shortcut) runs every time.
    document = {"pad": [[] for _ in range(MAX_JSON_DEPTH + 1)], "value": value}
    body = json.dumps(document, ensure_ascii=ensure_ascii).encode()
    assert parse_json_object(body) == json.loads(body)


def test_unbalanced_brackets_past_the_limit_are_refused_before_parsing() -> None:
    with pytest.raises(PayloadError, match="unbalanced"):
        parse_json_object(b'{"a":' + b"[" * 100_000)
