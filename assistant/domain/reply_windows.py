"""Whether a reply may go out now: the one reading of a platform's reply windows (`PlatformRules` on its adapter).

Pure: the delivery use case (before it sends) and the console (before it reserves a reply, and on the conversation
page) both call `reply_window` with the adapter's rules, the person's last message and the time; neither keeps its
own list of platforms or windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from assistant.domain.channels import PlatformRules


@dataclass(frozen=True)
class ReplyWindow:
    """Open, closed, or closed with a tagged reply (Meta's HUMAN_AGENT) still allowed until `human_agent_until`."""

    open: bool
    closes_at: datetime | None = None  # None: the platform has no window, or nobody has written yet
    human_agent_until: datetime | None = None  # set when a tagged reply is the way out

    @property
    def human_agent_allowed(self) -> bool:
        return self.human_agent_until is not None

    def allows(self, tagged: bool) -> bool:
        """Whether a reply sent now goes through: any reply while open, a tagged one while the tag window lasts."""
        return self.open or (tagged and self.human_agent_allowed)


def reply_window(
    rules: PlatformRules, last_inbound_at: datetime | None, now: datetime, offer_tag: bool = True
) -> ReplyWindow:
    """The window state at `now`; both ends inclusive (a reply at exactly 24 h still goes).

    `offer_tag=False` (the console's `offer_human_agent_tag` off) never offers the tagged way out."""
    if rules.reply_window is None or last_inbound_at is None:
        return ReplyWindow(True)
    closes = last_inbound_at + rules.reply_window
    if now <= closes:
        return ReplyWindow(True, closes)
    if offer_tag and rules.tagged_reply_window is not None:
        tag_until = last_inbound_at + rules.tagged_reply_window
        if now <= tag_until:
            return ReplyWindow(False, closes, tag_until)
    return ReplyWindow(False, closes)
