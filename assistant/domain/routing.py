"""Which human queue an escalation goes to: the configured queues' rules (platform, language, intent or KB tag,
reason, the engine's queue) in order, first match wins; else the engine's queue if configured, else the default."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assistant.settings import ConsoleConfig, QueueRule

# "moderation" in a rule stands for every reason the engine moderates for.
REASON_ALIASES = {"moderation": frozenset({"abuse", "spam"})}


@dataclass(frozen=True)
class RoutingInput:
    """What is known about an escalation when it is opened."""

    platform: str
    reason: str
    language: str | None = None
    intent: str | None = None
    entry_id: str | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    engine_queue: str | None = None


@dataclass(frozen=True)
class Route:
    queue: str
    # Why: "rule <queue>#<n>", "engine queue" or "default queue", for the decision's reasons and the audit.
    why: str


def _lower(values: Iterable[str | None]) -> frozenset[str]:
    return frozenset(value.lower() for value in values if value)


def _reasons(rule: QueueRule) -> frozenset[str]:
    wanted: set[str] = set()
    for reason in _lower(rule.reasons):
        wanted |= REASON_ALIASES.get(reason, {reason})
    return frozenset(wanted)


def rule_matches(rule: QueueRule, item: RoutingInput) -> bool:
    """Every field the rule sets must match; a rule that sets nothing matches everything."""
    if rule.platforms and item.platform.lower() not in _lower(rule.platforms):
        return False
    if rule.languages and (item.language or "").lower() not in _lower(rule.languages):
        return False
    if rule.intents and not (_lower(rule.intents) & _lower([item.intent, item.entry_id, *item.tags])):
        return False
    if rule.reasons and item.reason.lower() not in _reasons(rule):
        return False
    return not (rule.engine_queues and (item.engine_queue or "").lower() not in _lower(rule.engine_queues))


def route(config: ConsoleConfig, item: RoutingInput) -> Route:
    """The queue for `item`; never fails, so no escalation is lost to a routing mistake."""
    for queue in config.queues:
        for number, rule in enumerate(queue.rules, start=1):
            if rule_matches(rule, item):
                return Route(queue.name, f"rule {queue.name}#{number}")
    if item.engine_queue and config.queue(item.engine_queue) is not None:
        return Route(item.engine_queue, "engine queue")
    return Route(config.default_queue, "default queue")
