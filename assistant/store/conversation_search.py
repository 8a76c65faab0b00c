"""Full-text search over the messages' text: one interface, `MessageSearch`, and its two implementations, SQLite
FTS5 and PostgreSQL full text (a tsvector per message with a GIN index). Both live in the `message_search` table
that migration 0008 creates and backfills; `ConversationStore`'s two message writes add each new message to it in
the same transaction, so the index never lags the history.

Both tokenise the same way for the languages the bot serves: words split on Unicode word boundaries, case
folded, no stemming (FTS5 `unicode61`, PostgreSQL's `simple` configuration), every word of the query must occur
(AND). FTS5 also folds diacritics ("cafe" finds "café"); PostgreSQL's `simple` does not."""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import Connection, TextClause, text

# Words: letters, digits and underscores of any script; everything else separates (and is never syntax).
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 12


def query_words(query: str) -> list[str]:
    """The words of a search box's text, lowercased, at most MAX_QUERY_WORDS; [] when there are none."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_QUERY_WORDS]


class MessageSearch(Protocol):
    """The full-text index of message texts on one backend."""

    def add(self, connection: Connection, message_id: int, body: str) -> None:
        """Index one message, inside the caller's transaction."""

    def matches(self, words: list[str]) -> tuple[TextClause, dict[str, str]]:
        """SQL selecting `message_id` of every message containing all `words`, with its parameters; usable as a
        subquery (`... WHERE id IN (<it>)`)."""


class SqliteSearch:
    """FTS5, contentless (the text stays in `messages`; the index keeps only its terms), rowid = message id."""

    def add(self, connection: Connection, message_id: int, body: str) -> None:
        connection.execute(
            text("INSERT INTO message_search (rowid, body) VALUES (:id, :body)"), {"id": message_id, "body": body}
        )

    def matches(self, words: list[str]) -> tuple[TextClause, dict[str, str]]:
        # Each word as an FTS5 string ("…", quotes doubled): a query's punctuation is never FTS5 syntax.
        expression = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        sql = text("SELECT rowid AS message_id FROM message_search WHERE message_search MATCH :fts")
        return sql, {"fts": expression}


class PostgresSearch:
    """A tsvector per message (`simple` configuration) in its own table, GIN-indexed."""

    def add(self, connection: Connection, message_id: int, body: str) -> None:
        connection.execute(
            text(
                "INSERT INTO message_search (message_id, document) VALUES (:id, to_tsvector('simple', :body)) "
                "ON CONFLICT (message_id) DO NOTHING"
            ),
            {"id": message_id, "body": body},
        )

    def matches(self, words: list[str]) -> tuple[TextClause, dict[str, str]]:
        # plainto_tsquery ANDs the words and ignores any operator characters in them.
        sql = text("SELECT message_id FROM message_search WHERE document @@ plainto_tsquery('simple', :words)")
        return sql, {"words": " ".join(words)}


def search_for(dialect: str) -> MessageSearch:
    return PostgresSearch() if dialect == "postgresql" else SqliteSearch()
