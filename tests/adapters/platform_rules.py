"""What each platform refuses in a message with quick replies or buttons, as its API would: the checks a send's body
must pass before the tests believe it is valid. Each returns the violations found (empty: the platform accepts it).

The limits are written out here from the platforms' documentation, independently of the adapters' own constants, so a
wrong constant in an adapter fails a test instead of agreeing with itself."""

from __future__ import annotations

from typing import Any


def _text_problems(where: str, value: Any, limit: int, *, unit: str = "chars") -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return [f"{where}: must be a non-empty string"]
    size = len(value.encode("utf-8")) if unit == "bytes" else len(value)
    return [f"{where}: {size} {unit} > {limit}"] if size > limit else []


def _unique(where: str, values: list[Any]) -> list[str]:
    return [f"{where}: not unique: {values}"] if len(values) != len(set(values)) else []


def messenger(body: dict[str, Any]) -> list[str]:
    """Send API message (Messenger, Instagram): text ≤ 2,000; ≤ 13 text quick replies, title ≤ 20, payload ≤ 1,000."""
    message = body.get("message", {})
    problems = _text_problems("message.text", message.get("text"), 2000)
    replies = message.get("quick_replies")
    if replies is None:
        return problems
    if not isinstance(replies, list) or not 1 <= len(replies) <= 13:
        return [*problems, f"quick_replies: 1-13 expected, got {replies!r}"]
    for index, reply in enumerate(replies):
        where = f"quick_replies[{index}]"
        if reply.get("content_type") != "text":
            problems.append(f"{where}.content_type must be 'text'")
        problems += _text_problems(f"{where}.title", reply.get("title"), 20)
        problems += _text_problems(f"{where}.payload", reply.get("payload"), 1000)
    return problems


def whatsapp(body: dict[str, Any]) -> list[str]:
    """Cloud API message: text body ≤ 4,096; interactive body ≤ 1,024 with 1-3 reply buttons (title ≤ 20, unique; id
    ≤ 256, unique) or a list (button ≤ 20; ≤ 10 sections and ≤ 10 rows in all; row id ≤ 200 unique, title ≤ 24,
    description ≤ 72)."""
    if body.get("type") == "text":
        return _text_problems("text.body", body.get("text", {}).get("body"), 4096)
    if body.get("type") != "interactive" or "text" in body:
        return [f"type must be text or interactive, alone: {body.get('type')!r}"]
    interactive = body.get("interactive", {})
    problems = _text_problems("interactive.body.text", interactive.get("body", {}).get("text"), 1024)
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return [*problems, f"buttons: 1-3 expected, got {buttons!r}"]
        for index, button in enumerate(buttons):
            if button.get("type") != "reply":
                problems.append(f"buttons[{index}].type must be 'reply'")
            problems += _text_problems(f"buttons[{index}].reply.title", button.get("reply", {}).get("title"), 20)
            problems += _text_problems(f"buttons[{index}].reply.id", button.get("reply", {}).get("id"), 256)
        problems += _unique("button titles", [b.get("reply", {}).get("title") for b in buttons])
        problems += _unique("button ids", [b.get("reply", {}).get("id") for b in buttons])
        return problems
    if interactive.get("type") == "list":
        problems += _text_problems("action.button", action.get("button"), 20)
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            return [*problems, f"sections: 1-10 expected, got {sections!r}"]
        rows = [row for section in sections for row in section.get("rows", [])]
        if not 1 <= len(rows) <= 10:
            problems.append(f"rows: 1-10 in all sections expected, got {len(rows)}")
        for index, row in enumerate(rows):
            problems += _text_problems(f"rows[{index}].id", row.get("id"), 200)
            problems += _text_problems(f"rows[{index}].title", row.get("title"), 24)
            if "description" in row:
                problems += _text_problems(f"rows[{index}].description", row.get("description"), 72)
        problems += _unique("row ids", [row.get("id") for row in rows])
        return problems
    return [*problems, f"interactive.type must be button or list: {interactive.get('type')!r}"]


def telegram(body: dict[str, Any]) -> list[str]:
    """sendMessage: text 1-4,096; an inline keyboard is rows of buttons, each with text and callback_data of 1-64
    bytes."""
    problems = _text_problems("text", body.get("text"), 4096)
    markup = body.get("reply_markup")
    if markup is None:
        return problems
    keyboard = markup.get("inline_keyboard")
    if not isinstance(keyboard, list) or not keyboard or not all(isinstance(row, list) and row for row in keyboard):
        return [*problems, f"inline_keyboard must be non-empty rows of buttons: {keyboard!r}"]
    for r, row in enumerate(keyboard):
        for c, button in enumerate(row):
            if not isinstance(button.get("text"), str) or not button["text"].strip():
                problems.append(f"button [{r}][{c}] has no text")
            data = button.get("callback_data")
            problems += _text_problems(f"button [{r}][{c}].callback_data", data, 64, unit="bytes")
    return problems


def slack(body: dict[str, Any]) -> list[str]:
    """chat.postMessage: ≤ 50 blocks; section text ≤ 3,000; an actions block ≤ 25 elements; a button's plain_text ≤ 75,
    action_id ≤ 255 and unique in the message, value ≤ 2,000."""
    problems = _text_problems("text", body.get("text"), 40000)
    blocks = body.get("blocks")
    if blocks is None:
        return problems
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        return [*problems, "blocks: 1-50 expected"]
    action_ids: list[Any] = []
    for index, block in enumerate(blocks):
        if block.get("type") == "section":
            problems += _text_problems(f"blocks[{index}].text.text", block.get("text", {}).get("text"), 3000)
        elif block.get("type") == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                problems.append(f"blocks[{index}].elements: 1-25 expected")
                continue
            for e, element in enumerate(elements):
                where = f"blocks[{index}].elements[{e}]"
                if element.get("type") != "button" or element.get("text", {}).get("type") != "plain_text":
                    problems.append(f"{where}: a button with plain_text expected")
                problems += _text_problems(f"{where}.text.text", element.get("text", {}).get("text"), 75)
                problems += _text_problems(f"{where}.action_id", element.get("action_id"), 255)
                problems += _text_problems(f"{where}.value", element.get("value"), 2000)
                action_ids.append(element.get("action_id"))
        else:
            problems.append(f"blocks[{index}]: unexpected type {block.get('type')!r}")
    return problems + _unique("action_ids", action_ids)


def discord(body: dict[str, Any]) -> list[str]:
    """Message: content ≤ 2,000; ≤ 5 action rows of 1-5 buttons; a non-link button has style 1-4, a label ≤ 80 and a
    custom_id ≤ 100, unique in the message."""
    problems = _text_problems("content", body.get("content"), 2000)
    rows = body.get("components")
    if rows is None:
        return problems
    if not isinstance(rows, list) or not 1 <= len(rows) <= 5:
        return [*problems, "components: 1-5 action rows expected"]
    custom_ids: list[Any] = []
    for r, row in enumerate(rows):
        items = row.get("components")
        if row.get("type") != 1 or not isinstance(items, list) or not 1 <= len(items) <= 5:
            problems.append(f"components[{r}]: an action row of 1-5 expected")
            continue
        for c, item in enumerate(items):
            where = f"components[{r}][{c}]"
            if item.get("type") != 2 or item.get("style") not in (1, 2, 3, 4):
                problems.append(f"{where}: a non-link button expected")
            problems += _text_problems(f"{where}.label", item.get("label"), 80)
            problems += _text_problems(f"{where}.custom_id", item.get("custom_id"), 100)
            custom_ids.append(item.get("custom_id"))
    return problems + _unique("custom_ids", custom_ids)
