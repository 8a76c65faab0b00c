"""When the first answer to an escalation is due: `service.sla_first_response_minutes` for its priority, counted in
business hours from a start time. The one SLA rule, used when the worker opens an escalation and when an agent
changes its priority. Pure: the calendar and the configuration come in as arguments."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from assistant.domain.business_hours import BusinessHours
from assistant.domain.messages import Priority
from assistant.settings import ServiceConfig

# A priority the configuration leaves out gets what the shipped configuration gives a normal one (240 minutes), so a
# partial `sla_first_response_minutes` still yields a due time; the figure lives in `ServiceConfig` only.
_SHIPPED_MINUTES: Mapping[str, int] = ServiceConfig.model_fields["sla_first_response_minutes"].default
FALLBACK_MINUTES: int = _SHIPPED_MINUTES[Priority.NORMAL.name.lower()]


def first_response_minutes(minutes_by_priority: Mapping[str, int], priority: Priority) -> int:
    """The configured minutes for `priority` (keys are the lower-case names: urgent, high, normal, low)."""
    return minutes_by_priority.get(priority.name.lower(), FALLBACK_MINUTES)


def first_response_due(
    hours: BusinessHours, minutes_by_priority: Mapping[str, int], priority: Priority, start: datetime
) -> datetime:
    """`start` plus the priority's minutes, counted only while the business is open."""
    return hours.add_business_time(start, timedelta(minutes=first_response_minutes(minutes_by_priority, priority)))
