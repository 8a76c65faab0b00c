"""Canned replies: agents pick them (in the sender's language, a queue's own before the all-queue one); editors
and admins list, create, change and delete them. A text is checked at save with the KB answers' placeholder
rule, and shown to agents as the customer will read it (filled as at send time)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.domain.canned_replies import check_canned_reply, fill_for_customer
from assistant.domain.roles import Role
from assistant.domain.voice import BrandVoice
from assistant.errors import Forbidden, InputError, NotFound
from assistant.services.common import Audit
from assistant.settings import Settings
from assistant.store import CannedReplyRecord, ConsoleStore, UserRecord

EDIT_ROLES = (Role.EDITOR, Role.ADMIN)


@dataclass(frozen=True)
class CannedReplies:
    """The canned-reply use cases for `user`."""

    store: ConsoleStore
    settings: Settings
    voice: BrandVoice
    audit: Audit
    user: UserRecord

    @property
    def can_edit(self) -> bool:
        return self.user.role in EDIT_ROLES

    def listing(self, queue: str | None, language: str | None) -> list[CannedReplyRecord]:
        return self.store.canned_replies(queue=queue, language=language)

    def get(self, reply_id: int) -> CannedReplyRecord:
        record = self.store.canned_reply(reply_id)
        if record is None:
            raise NotFound(f"no canned reply {reply_id}")
        return record

    def for_conversation(self, queue: str, language: str | None) -> dict[str, CannedReplyRecord]:
        """Shortcode → reply in the sender's language, else the default language, else any."""
        default = self.settings.default_language
        order = [language or default, default]

        def rank(reply: CannedReplyRecord) -> tuple[int, int]:
            # A queue's own reply beats the all-queue one in the same language.
            return (order.index(reply.language) if reply.language in order else len(order), 0 if reply.queue else 1)

        chosen: dict[str, CannedReplyRecord] = {}
        for reply in self.store.canned_replies(queue=queue):
            current = chosen.get(reply.shortcode)
            if current is None or rank(reply) < rank(current):
                chosen[reply.shortcode] = reply
        return dict(sorted(chosen.items()))

    def as_sent(
        self, replies: dict[str, CannedReplyRecord], language: str | None, sender_name: str | None
    ) -> dict[str, str]:
        """Shortcode → the reply as this customer would get it (a text saved before placeholders were checked
        says why it cannot be sent instead of breaking the page)."""
        shown: dict[str, str] = {}
        for code, reply in replies.items():
            try:
                shown[code] = fill_for_customer(self.voice, reply.text, language or reply.language, sender_name)
            except InputError as error:
                shown[code] = f"(cannot be sent as it is: {error})"
        return shown

    def save(self, shortcode: str, language: str, text: str, queue: str | None) -> CannedReplyRecord:
        """Create the reply for (shortcode, language, queue), or replace its text."""
        self._check(shortcode, language, text, queue)
        record = self.store.save_canned_reply(shortcode, language, text, queue, self.user.id)
        self.audit("save_canned_reply", "canned_reply", record.id, shortcode=record.shortcode, language=language)
        return record

    def update(self, reply_id: int, shortcode: str, language: str, text: str, queue: str | None) -> CannedReplyRecord:
        self._check(shortcode, language, text, queue)
        record = self.store.update_canned_reply(reply_id, shortcode, language, text, queue)
        if record is None:
            raise NotFound(f"no canned reply {reply_id}")
        self.audit("update_canned_reply", "canned_reply", reply_id, shortcode=shortcode, language=language)
        return record

    def delete(self, reply_id: int) -> None:
        self._may_edit()
        if not self.store.delete_canned_reply(reply_id):
            raise NotFound(f"no canned reply {reply_id}")
        self.audit("delete_canned_reply", "canned_reply", reply_id)

    def _may_edit(self) -> None:
        if not self.can_edit:
            raise Forbidden("only editors and admins change canned replies; agents use them")

    def _check(self, shortcode: str, language: str, text: str, queue: str | None) -> None:
        self._may_edit()
        check_canned_reply(shortcode, language, text)
        if queue is not None and self.settings.console.queue(queue) is None:
            raise NotFound(f"unknown queue {queue!r}")
