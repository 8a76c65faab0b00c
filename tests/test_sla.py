"""The one SLA rule: the first answer is due the priority's configured minutes later, in business hours."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.domain.business_hours import BusinessHours, BusinessHoursConfig
from assistant.domain.messages import Priority
from assistant.domain.sla import FALLBACK_MINUTES, first_response_due, first_response_minutes
from assistant.settings import ServiceConfig

WARSAW = ZoneInfo("Europe/Warsaw")
SHIPPED = ServiceConfig().sla_first_response_minutes
ALWAYS = BusinessHours.from_config(
    BusinessHoursConfig(
        weekly={day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        holiday_country=None,
    )
)
OFFICE = BusinessHours.from_config(BusinessHoursConfig())  # Mon-Fri 09-18, Sat 10-14, Polish holidays


@pytest.mark.parametrize(
    ("priority", "minutes"),
    [(Priority.URGENT, 30), (Priority.HIGH, 60), (Priority.NORMAL, 240), (Priority.LOW, 1440)],
)
def test_each_priority_gets_its_shipped_minutes(priority: Priority, minutes: int) -> None:
    start = datetime(2026, 11, 23, 10, tzinfo=WARSAW)  # a Monday
    assert first_response_minutes(SHIPPED, priority) == minutes
    assert first_response_due(ALWAYS, SHIPPED, priority, start) == start + timedelta(minutes=minutes)


def test_configured_minutes_win_and_a_missing_priority_gets_the_normal_default() -> None:
    configured = {"urgent": 5}
    assert first_response_minutes(configured, Priority.URGENT) == 5
    assert FALLBACK_MINUTES == 240
    assert first_response_minutes(configured, Priority.LOW) == 240
    assert first_response_minutes({}, Priority.HIGH) == 240


def test_the_clock_stops_while_the_business_is_closed() -> None:
    friday_evening = datetime(2026, 11, 20, 17, 30, tzinfo=WARSAW)
    # 30 minutes on Friday before 18:00, the other 30 after Saturday's 10:00 opening.
    assert first_response_due(OFFICE, SHIPPED, Priority.HIGH, friday_evening) == datetime(
        2026, 11, 21, 10, 30, tzinfo=WARSAW
    )
