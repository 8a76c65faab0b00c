"""Opening hours: intervals, night shifts, holidays, one-off dates, DST, SLA arithmetic and the "back at" phrases."""

import dataclasses
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from assistant.domain.business_hours import (
    SEARCH_HORIZON_DAYS,
    BusinessHours,
    BusinessHoursConfig,
    CalendarError,
)
from assistant.domain.reopening import describe_reopening

WARSAW = ZoneInfo("Europe/Warsaw")
NO_DAYS: dict[str, list[str]] = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WARSAW, fold=fold)


def hours(**config: object) -> BusinessHours:
    return BusinessHours.from_config(BusinessHoursConfig.model_validate(config))


def only(**days: list[str]) -> dict[str, list[str]]:
    return NO_DAYS | days


DEFAULT = hours()
# Night shifts into the next day, overlapping Saturday's early hours and across Sun -> Mon, a Sunday shift over the
# 02:00-03:00 DST hour, no holidays.
NIGHTS = hours(
    weekly=only(
        mon=["00:00-06:00", "09:00-12:00", "13:00-18:00"],
        wed=["22:00-02:00"],
        fri=["09:00-18:00", "22:00-03:00"],
        sat=["00:30-01:00", "02:00-05:00"],
        sun=["01:30-03:30", "20:00-00:00"],
    ),
    holiday_country=None,
)


@pytest.mark.parametrize(
    ("day", "weekday"),
    [
        (date(2026, 11, 20), 4),  # Friday
        (date(2026, 11, 21), 5),  # Saturday
        (date(2026, 11, 23), 0),  # Monday
        (date(2026, 11, 11), 2),  # Independence Day, a Wednesday
        (date(2026, 12, 25), 4),  # Christmas, a Friday
        (date(2026, 8, 15), 5),  # Assumption Day, a Saturday
        (date(2026, 4, 6), 0),  # Easter Monday
        (date(2026, 3, 29), 6),  # clocks go forward
        (date(2026, 10, 25), 6),  # clocks go back
        (date(2027, 1, 5), 1),
    ],
)
def test_the_dates_used_here_fall_on_the_weekdays_assumed(day: date, weekday: int) -> None:
    assert day.weekday() == weekday


def test_polish_public_holidays_used_here_are_known() -> None:
    for day in (date(2026, 11, 11), date(2026, 12, 24), date(2026, 12, 25), date(2026, 8, 15), date(2026, 4, 6)):
        assert DEFAULT.is_holiday(day)
    assert not DEFAULT.is_holiday(date(2026, 11, 23))
    assert not hours(holiday_country=None).is_holiday(date(2026, 11, 11))


# --- open or closed ---------------------------------------------------------------------------------------------


def test_intervals_are_half_open() -> None:
    assert not DEFAULT.is_open(at(2026, 11, 23, 8, 59, 59))
    assert DEFAULT.is_open(at(2026, 11, 23, 9))
    assert DEFAULT.is_open(at(2026, 11, 23, 17, 59, 59))
    assert not DEFAULT.is_open(at(2026, 11, 23, 18))
    assert DEFAULT.is_open(at(2026, 11, 21, 10))
    assert not DEFAULT.is_open(at(2026, 11, 21, 14))
    assert not DEFAULT.is_open(at(2026, 11, 22, 12))


def test_other_zones_are_converted_to_the_calendars() -> None:
    assert DEFAULT.is_open(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # 09:00 in Warsaw
    assert not DEFAULT.is_open(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # 18:00 in Warsaw
    assert DEFAULT.is_open(datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("America/New_York")))  # 09:00


def test_lunch_gap_between_two_intervals() -> None:
    calendar = hours(weekly=only(mon=["09:00-12:00", "13:00-18:00"]))
    assert calendar.is_open(at(2026, 11, 23, 11, 59))
    assert not calendar.is_open(at(2026, 11, 23, 12))
    assert not calendar.is_open(at(2026, 11, 23, 12, 30))
    assert calendar.is_open(at(2026, 11, 23, 13))
    assert calendar.next_open(at(2026, 11, 23, 12, 30)) == at(2026, 11, 23, 13)
    assert calendar.next_close(at(2026, 11, 23, 10)) == at(2026, 11, 23, 12)


def test_back_to_back_intervals_are_one_opening() -> None:
    calendar = hours(weekly=only(mon=["09:00-12:00", "12:00-18:00"]))
    assert calendar.is_open(at(2026, 11, 23, 12))
    assert calendar.next_close(at(2026, 11, 23, 10)) == at(2026, 11, 23, 18)


def test_night_shift_runs_past_midnight() -> None:
    assert NIGHTS.is_open(at(2026, 11, 25, 22))  # Wednesday
    assert NIGHTS.is_open(at(2026, 11, 26, 1, 59))
    assert not NIGHTS.is_open(at(2026, 11, 26, 2))
    assert not NIGHTS.is_open(at(2026, 11, 25, 21, 59))
    assert NIGHTS.next_close(at(2026, 11, 25, 23)) == at(2026, 11, 26, 2)
    assert NIGHTS.next_open(at(2026, 11, 26, 2)) == at(2026, 11, 27, 9)


def test_night_shift_belongs_to_the_day_it_starts_even_into_a_holiday() -> None:
    calendar = hours(weekly=_default_week() | {"fri": ["09:00-18:00", "22:00-02:00"]})
    friday, saturday_holiday = date(2026, 8, 14), date(2026, 8, 15)
    assert calendar.is_holiday(saturday_holiday) and not calendar.is_holiday(friday)
    assert calendar.is_open(at(2026, 8, 15, 1))
    assert calendar.next_close(at(2026, 8, 15, 1)) == at(2026, 8, 15, 2)
    assert not calendar.is_open(at(2026, 8, 15, 11))  # Saturday's own hours are off for the holiday
    assert calendar.next_open(at(2026, 8, 15, 2)) == at(2026, 8, 17, 9)
    # And a shift that would start on a holiday does not run at all.
    assert not calendar.is_open(at(2026, 12, 25, 23))
    assert not calendar.is_open(at(2026, 12, 26, 1))


def test_overlapping_intervals_count_once() -> None:
    assert NIGHTS.next_close(at(2026, 11, 27, 23)) == at(2026, 11, 28, 5)
    assert NIGHTS.business_time_between(at(2026, 11, 27, 20), at(2026, 11, 28, 12)) == timedelta(hours=7)
    assert NIGHTS.add_business_time(at(2026, 11, 27, 20), timedelta(hours=6)) == at(2026, 11, 28, 4)


def test_night_shift_across_the_week_boundary_merges_with_monday() -> None:
    sunday_evening = at(2026, 11, 22, 21)
    assert NIGHTS.is_open(sunday_evening)
    assert NIGHTS.is_open(at(2026, 11, 23, 0))
    assert NIGHTS.is_open(at(2026, 11, 23, 3))
    assert NIGHTS.next_close(sunday_evening) == at(2026, 11, 23, 6)
    only_sunday = hours(weekly=only(sun=["22:00-04:00"]), holiday_country=None)
    assert only_sunday.is_open(at(2026, 11, 23, 3, 59))
    assert not only_sunday.is_open(at(2026, 11, 23, 4))
    assert only_sunday.next_open(at(2026, 11, 23, 4)) == at(2026, 11, 29, 22)


def test_whole_day_and_full_circle_intervals() -> None:
    calendar = hours(weekly=only(mon=["00:00-24:00"], wed=["12:00-12:00"]), holiday_country=None)
    assert calendar.is_open(at(2026, 11, 23, 0)) and calendar.is_open(at(2026, 11, 23, 23, 59, 59))
    assert calendar.next_close(at(2026, 11, 23, 5)) == at(2026, 11, 24, 0)
    assert calendar.next_close(at(2026, 11, 25, 12)) == at(2026, 11, 26, 12)


# --- holidays and one-off dates -----------------------------------------------------------------------------------


def test_public_holidays_are_closed() -> None:
    assert not DEFAULT.is_open(at(2026, 11, 11, 12))
    assert not DEFAULT.is_open(at(2026, 12, 25, 12))
    assert DEFAULT.next_open(at(2026, 11, 10, 18, 30)) == at(2026, 11, 12, 9)
    # Christmas Eve (a public holiday in Poland since 2025), Christmas and the second day, then Sunday.
    assert DEFAULT.next_open(at(2026, 12, 23, 18)) == at(2026, 12, 28, 9)
    assert hours(holiday_country=None).is_open(at(2026, 11, 11, 12))


def test_explicit_closed_date() -> None:
    calendar = hours(closed_dates=["2026-11-24"])
    assert not calendar.is_open(at(2026, 11, 24, 12))
    assert calendar.next_open(at(2026, 11, 23, 18)) == at(2026, 11, 25, 9)


def test_explicit_open_dates_override_sundays_and_holidays() -> None:
    calendar = hours(open_dates={"2026-11-22": ["10:00-12:00"], "2026-11-11": ["10:00-13:00"]})
    assert calendar.is_open(at(2026, 11, 22, 11))
    assert not calendar.is_open(at(2026, 11, 22, 12))
    assert calendar.next_open(at(2026, 11, 21, 15)) == at(2026, 11, 22, 10)
    assert not calendar.is_open(at(2026, 11, 11, 9, 30))  # the open date's own hours replace the weekday's
    assert calendar.is_open(at(2026, 11, 11, 10))
    assert not calendar.is_open(at(2026, 11, 11, 14))


def test_toml_shaped_config_parses_dates() -> None:
    document = tomllib.loads(
        'timezone = "Europe/Warsaw"\nclosed_dates = [2026-11-24]\n'
        '[weekly]\nmon = ["09:00-12:00", "13:00-18:00"]\n'
        '[open_dates]\n"2026-11-22" = ["10:00-12:00"]\n'
    )
    config = BusinessHoursConfig.model_validate(document)
    assert config.closed_dates == [date(2026, 11, 24)]
    assert config.open_dates == {date(2026, 11, 22): ["10:00-12:00"]}
    calendar = BusinessHours.from_config(config)
    assert not calendar.is_open(at(2026, 11, 25, 12))  # weekly given: days left out are closed
    assert calendar.is_open(at(2026, 11, 22, 11))


# --- daylight saving time in Europe/Warsaw ------------------------------------------------------------------------


def test_spring_forward_day() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 01:30-03:30 on the wall clock is one real hour.
    assert NIGHTS.is_open(at(2026, 3, 29, 1, 59, 59))
    assert NIGHTS.is_open(at(2026, 3, 29, 3))
    assert not NIGHTS.is_open(at(2026, 3, 29, 3, 30))
    assert NIGHTS.next_close(at(2026, 3, 29, 1, 45)) == at(2026, 3, 29, 3, 30)
    assert NIGHTS.business_time_between(at(2026, 3, 29, 0), at(2026, 3, 29, 12)) == timedelta(hours=1)
    assert NIGHTS.add_business_time(at(2026, 3, 29, 1, 30), timedelta(minutes=45)) == at(2026, 3, 29, 3, 15)


def test_spring_forward_gap_ends_and_empty_intervals() -> None:
    # An end inside the skipped hour closes at the jump; an interval wholly inside it never opens.
    ends_in_gap = hours(weekly=only(sun=["01:00-02:30"]), holiday_country=None)
    assert ends_in_gap.next_close(at(2026, 3, 29, 1, 30)) == at(2026, 3, 29, 3)
    assert ends_in_gap.business_time_between(at(2026, 3, 29, 0), at(2026, 3, 30, 0)) == timedelta(hours=1)
    inside_gap = hours(weekly=only(sun=["02:00-03:00"]), holiday_country=None)
    assert inside_gap.business_time_between(at(2026, 3, 29, 0), at(2026, 3, 30, 0)) == timedelta(0)
    assert inside_gap.next_open(at(2026, 3, 29, 0)) == at(2026, 4, 5, 2)
    # A night shift over the jump: 22:00 to 03:00 on the wall clock is four real hours.
    overnight = hours(weekly=only(sat=["22:00-03:00"]), holiday_country=None)
    assert overnight.business_time_between(at(2026, 3, 28, 12), at(2026, 3, 29, 12)) == timedelta(hours=4)


def test_fall_back_day() -> None:
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:00-02:59 happens twice and both times are open.
    first, second = at(2026, 10, 25, 2, 30, fold=0), at(2026, 10, 25, 2, 30, fold=1)
    assert second - first == timedelta(0) and second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert NIGHTS.is_open(first) and NIGHTS.is_open(second)
    assert not NIGHTS.is_open(at(2026, 10, 25, 3, 30))
    assert NIGHTS.next_close(first) == at(2026, 10, 25, 3, 30)
    assert NIGHTS.business_time_between(at(2026, 10, 25, 0), at(2026, 10, 25, 12)) == timedelta(hours=3)
    # 01:30 CEST is 23:30 UTC; two and a half business hours later is 02:00 UTC, 03:00 CET.
    assert NIGHTS.add_business_time(at(2026, 10, 25, 1, 30), timedelta(hours=2, minutes=30)) == at(2026, 10, 25, 3)
    one_hour = hours(weekly=only(sun=["02:00-03:00"]), holiday_country=None)
    assert one_hour.business_time_between(at(2026, 10, 25, 0), at(2026, 10, 26, 0)) == timedelta(hours=2)


def test_fall_back_end_inside_the_repeated_hour_waits_for_its_last_occurrence() -> None:
    # The span covers every moment the wall clock reads 00:00-02:30, so it closes at the second 02:30 (CET).
    calendar = hours(weekly=only(sun=["00:00-02:30"]), holiday_country=None)
    assert calendar.is_open(at(2026, 10, 25, 2, 45, fold=0))
    assert calendar.is_open(at(2026, 10, 25, 2, 15, fold=1))
    assert not calendar.is_open(at(2026, 10, 25, 2, 30, fold=1))
    closing = calendar.next_close(at(2026, 10, 25, 1))
    assert closing is not None and closing.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert calendar.business_time_between(at(2026, 10, 24, 12), at(2026, 10, 25, 12)) == timedelta(hours=3, minutes=30)


def test_ordinary_hours_on_dst_weekends_keep_the_wall_clock() -> None:
    assert DEFAULT.next_open(at(2026, 3, 28, 15)) == at(2026, 3, 30, 9)
    assert DEFAULT.next_open(at(2026, 3, 28, 15)).utcoffset() == timedelta(hours=2)
    assert DEFAULT.next_open(at(2026, 10, 24, 15)).utcoffset() == timedelta(hours=1)


# --- next_open and next_close ---------------------------------------------------------------------------------------


def test_next_open_over_the_weekend_and_a_holiday_monday() -> None:
    assert DEFAULT.next_open(at(2026, 11, 20, 19)) == at(2026, 11, 21, 10)
    assert DEFAULT.next_open(at(2026, 11, 21, 15)) == at(2026, 11, 23, 9)
    assert DEFAULT.next_open(at(2026, 4, 4, 15)) == at(2026, 4, 7, 9)  # Easter Monday
    assert DEFAULT.next_open(at(2027, 3, 27, 15)) == at(2027, 3, 30, 9)  # Easter Monday, the day after DST


def test_next_open_when_open_is_now_in_the_calendars_zone() -> None:
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    reopening = DEFAULT.next_open(moment)
    assert reopening == moment and reopening.tzinfo == WARSAW and reopening.hour == 10


def test_next_close() -> None:
    assert DEFAULT.next_close(at(2026, 11, 23, 10)) == at(2026, 11, 23, 18)
    assert DEFAULT.next_close(at(2026, 11, 21, 11)) == at(2026, 11, 21, 14)
    assert DEFAULT.next_close(at(2026, 11, 23, 18)) is None
    assert DEFAULT.next_close(at(2026, 11, 22, 12)) is None


# --- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda t: DEFAULT.is_open(t),
        lambda t: DEFAULT.next_open(t),
        lambda t: DEFAULT.next_close(t),
        lambda t: DEFAULT.business_time_between(t, at(2026, 11, 24)),
        lambda t: DEFAULT.add_business_time(t, timedelta(hours=1)),
        lambda t: describe_reopening(t, at(2026, 11, 23), "en"),
        lambda t: describe_reopening(at(2026, 11, 23), t, "en"),
    ],
)
def test_naive_datetimes_are_rejected(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 11, 23, 10, 0))


def test_a_calendar_that_is_never_open() -> None:
    never = hours(weekly=NO_DAYS, holiday_country=None)
    assert not never.is_open(at(2026, 11, 23, 10))
    assert never.next_close(at(2026, 11, 23, 10)) is None
    assert never.business_time_between(at(2026, 1, 1), at(2027, 12, 31)) == timedelta(0)
    with pytest.raises(CalendarError, match=f"no opening hours in the {SEARCH_HORIZON_DAYS} days"):
        never.next_open(at(2026, 11, 23, 10))
    with pytest.raises(CalendarError, match="no opening hours"):
        never.add_business_time(at(2026, 11, 23, 10), timedelta(minutes=1))
    once = hours(weekly=NO_DAYS, open_dates={"2026-11-22": ["10:00-12:00"]})
    assert once.next_open(at(2026, 11, 1)) == at(2026, 11, 22, 10)
    with pytest.raises(CalendarError):
        once.next_open(at(2026, 11, 22, 12))


def test_a_calendar_that_never_closes() -> None:
    always = hours(weekly={day: ["00:00-24:00"] for day in NO_DAYS}, holiday_country=None)
    moment = at(2026, 11, 23, 10)
    assert always.is_open(moment) and always.next_open(moment) == moment
    assert always.add_business_time(moment, timedelta(days=3)) == moment + timedelta(days=3)
    with pytest.raises(CalendarError, match="without a break"):
        always.next_close(moment)


@pytest.mark.parametrize("text", ["9-18", "25:00-26:00", "09:00-18:60", "9:00", "09:00-24:30", "24:00-02:00", "nine"])
def test_malformed_intervals_name_the_text(text: str) -> None:
    with pytest.raises(ValidationError, match=f"'{text}'"):
        BusinessHoursConfig(weekly={"mon": [text]})
    with pytest.raises(ValidationError, match=f"'{text}'"):
        BusinessHoursConfig.model_validate({"open_dates": {"2026-11-22": [text]}})


def test_unknown_timezone_country_weekday_and_keys() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        BusinessHoursConfig(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="no public holidays known for country 'XX'"):
        BusinessHoursConfig(holiday_country="XX")
    with pytest.raises(ValidationError, match="subdivision 'ZZ' of 'PL'"):
        BusinessHoursConfig(holiday_subdivision="ZZ")
    with pytest.raises(ValidationError, match="unknown weekday 'funday'"):
        BusinessHoursConfig(weekly={"funday": ["09:00-18:00"]})
    with pytest.raises(ValidationError, match="holiday_subdivision is set"):
        BusinessHoursConfig(holiday_country=None, holiday_subdivision="BY")
    with pytest.raises(ValidationError, match="both closed and open: 2026-11-24"):
        BusinessHoursConfig.model_validate({"closed_dates": ["2026-11-24"], "open_dates": {"2026-11-24": []}})
    with pytest.raises(ValidationError, match="opne_dates"):
        BusinessHoursConfig.model_validate({"opne_dates": {}})


def test_lenient_spellings_are_normalised() -> None:
    config = BusinessHoursConfig(holiday_country="pl", weekly={"Mon": ["9:00 - 18:00"]})
    assert config.holiday_country == "PL" and "mon" in config.weekly
    assert BusinessHoursConfig(holiday_country="").holiday_country is None
    assert BusinessHours.from_config(config).is_open(at(2026, 11, 23, 9))


def test_business_hours_are_immutable() -> None:
    calendar = hours(open_dates={"2026-11-22": ["10:00-12:00"]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        calendar.zone = ZoneInfo("UTC")  # type: ignore[misc]
    with pytest.raises(TypeError):
        calendar.open_dates[date(2026, 11, 29)] = ()  # type: ignore[index]


# --- business time (SLA clocks) -------------------------------------------------------------------------------------


def test_sla_due_time_skips_the_closed_night() -> None:
    received = at(2026, 11, 20, 17, 30)  # Friday
    due = DEFAULT.add_business_time(received, timedelta(hours=2))
    assert due == at(2026, 11, 21, 11, 30) and due.tzinfo == WARSAW
    assert DEFAULT.business_time_between(received, due) == timedelta(hours=2)


def test_business_time_edges() -> None:
    # Exactly using up an opening ends at its close, not at the next opening.
    assert DEFAULT.add_business_time(at(2026, 11, 20, 17), timedelta(hours=1)) == at(2026, 11, 20, 18)
    assert DEFAULT.add_business_time(at(2026, 11, 22, 12), timedelta(0)) == at(2026, 11, 22, 12)
    assert DEFAULT.add_business_time(at(2026, 11, 22, 12), timedelta(minutes=1)) == at(2026, 11, 23, 9, 1)
    with pytest.raises(ValueError, match="zero or more"):
        DEFAULT.add_business_time(at(2026, 11, 22, 12), timedelta(minutes=-1))
    week = (at(2026, 11, 23), at(2026, 11, 30))
    assert DEFAULT.business_time_between(*week) == timedelta(hours=5 * 9 + 4)
    assert DEFAULT.business_time_between(week[1], week[0]) == -timedelta(hours=5 * 9 + 4)
    assert DEFAULT.business_time_between(at(2026, 11, 9), at(2026, 11, 16)) == timedelta(hours=4 * 9 + 4)


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
calendars = st.sampled_from([DEFAULT, NIGHTS])


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=300)))
def test_adding_business_time_round_trips(calendar: BusinessHours, start: datetime, duration: timedelta) -> None:
    due = calendar.add_business_time(start, duration)
    assert due >= start
    assert calendar.business_time_between(start, due) == duration
    if duration:
        # The earliest such instant: any earlier moment has not used up the duration yet.
        assert calendar.business_time_between(start, due - timedelta(microseconds=1)) < duration


@settings(max_examples=150, deadline=None)
@given(calendars, moments, moments, moments)
def test_business_time_adds_up(calendar: BusinessHours, a: datetime, b: datetime, c: datetime) -> None:
    first, middle, last = sorted((a, b, c))
    whole = calendar.business_time_between(first, last)
    assert whole == calendar.business_time_between(first, middle) + calendar.business_time_between(middle, last)
    assert timedelta(0) <= whole <= last - first


@settings(max_examples=150, deadline=None)
@given(calendars, moments)
def test_next_open_and_next_close_agree_with_is_open(calendar: BusinessHours, moment: datetime) -> None:
    reopening = calendar.next_open(moment)
    assert reopening >= moment and calendar.is_open(reopening)
    assert calendar.business_time_between(moment, reopening) == timedelta(0)
    closing = calendar.next_close(moment)
    assert (closing is None) == (not calendar.is_open(moment))
    if closing is not None:
        assert not calendar.is_open(closing)
        assert calendar.business_time_between(moment, closing) == closing - moment


# --- "back at" phrases --------------------------------------------------------------------------------------------

MONDAY_NIGHT = at(2026, 11, 23, 19)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "today at 14:00"),
        ("fr", "aujourd'hui à 14:00"),
        ("ru", "сегодня в 14:00"),
        ("pl", "dziś o 14:00"),
        ("zh", "今天 14:00"),
    ],
)
def test_reopening_today(lang: str, expected: str) -> None:
    assert describe_reopening(at(2026, 11, 23, 14), at(2026, 11, 23, 12, 10), lang) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "tomorrow at 9:00"),
        ("fr", "demain à 9:00"),
        ("ru", "завтра в 9:00"),
        ("pl", "jutro o 9:00"),
        ("zh", "明天 9:00"),
    ],
)
def test_reopening_tomorrow(lang: str, expected: str) -> None:
    assert describe_reopening(at(2026, 11, 24, 9), MONDAY_NIGHT, lang) == expected


@pytest.mark.parametrize(
    ("now", "reopening", "expected"),
    [
        (
            at(2026, 11, 20, 19),
            at(2026, 11, 23, 9),
            {
                "en": "on Monday at 9:00",
                "fr": "lundi à 9:00",
                "ru": "в понедельник в 9:00",
                "pl": "w poniedziałek o 9:00",
                "zh": "周一 9:00",
            },
        ),
        (
            at(2026, 11, 21, 15),
            at(2026, 11, 24, 9),
            {
                "en": "on Tuesday at 9:00",
                "fr": "mardi à 9:00",
                "ru": "во вторник в 9:00",
                "pl": "we wtorek o 9:00",
                "zh": "周二 9:00",
            },
        ),
        (
            MONDAY_NIGHT,
            at(2026, 11, 25, 9),
            {
                "en": "on Wednesday at 9:00",
                "fr": "mercredi à 9:00",
                "ru": "в среду в 9:00",
                "pl": "w środę o 9:00",
                "zh": "周三 9:00",
            },
        ),
        (
            MONDAY_NIGHT,
            at(2026, 11, 26, 9),
            {
                "en": "on Thursday at 9:00",
                "fr": "jeudi à 9:00",
                "ru": "в четверг в 9:00",
                "pl": "w czwartek o 9:00",
                "zh": "周四 9:00",
            },
        ),
        (
            MONDAY_NIGHT,
            at(2026, 11, 27, 9),
            {
                "en": "on Friday at 9:00",
                "fr": "vendredi à 9:00",
                "ru": "в пятницу в 9:00",
                "pl": "w piątek o 9:00",
                "zh": "周五 9:00",
            },
        ),
        (
            MONDAY_NIGHT,
            at(2026, 11, 28, 10),
            {
                "en": "on Saturday at 10:00",
                "fr": "samedi à 10:00",
                "ru": "в субботу в 10:00",
                "pl": "w sobotę o 10:00",
                "zh": "周六 10:00",
            },
        ),
        (
            MONDAY_NIGHT,
            at(2026, 11, 29, 10),
            {
                "en": "on Sunday at 10:00",
                "fr": "dimanche à 10:00",
                "ru": "в воскресенье в 10:00",
                "pl": "w niedzielę o 10:00",
                "zh": "周日 10:00",
            },
        ),
    ],
)
def test_reopening_later_this_week_names_the_weekday(
    now: datetime, reopening: datetime, expected: dict[str, str]
) -> None:
    for lang, phrase in expected.items():
        assert describe_reopening(reopening, now, lang) == phrase


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "on Tuesday, 5 January at 9:00"),
        ("fr", "le mardi 5 janvier à 9:00"),
        ("ru", "5 января в 9:00"),
        ("pl", "5 stycznia o 9:00"),
        ("zh", "1月5日 9:00"),
    ],
)
def test_reopening_beyond_a_week_gives_the_date(lang: str, expected: str) -> None:
    assert describe_reopening(at(2027, 1, 5, 9), at(2026, 12, 23, 18), lang) == expected


def test_reopening_exactly_a_week_ahead_and_on_the_first_of_the_month() -> None:
    assert describe_reopening(at(2026, 11, 30, 9), at(2026, 11, 23, 10), "en") == "on Monday, 30 November at 9:00"
    assert describe_reopening(at(2026, 12, 1, 9), at(2026, 11, 23, 10), "fr") == "le mardi 1er décembre à 9:00"
    assert describe_reopening(at(2026, 12, 1, 9), at(2026, 11, 23, 10), "ru") == "1 декабря в 9:00"


def test_reopening_uses_the_calendar_day_of_the_reopening_zone() -> None:
    # 23:30 UTC on Monday is already Tuesday 00:30 in Warsaw, so Tuesday 9:00 is "today".
    assert describe_reopening(at(2026, 11, 24, 9), datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "en") == "today at 9:00"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("pl-PL", "jutro o 9:00"),
        ("zh_Hans", "明天 9:00"),
        ("RU", "завтра в 9:00"),
        ("de", "tomorrow at 9:00"),
        ("", "tomorrow at 9:00"),
    ],
)
def test_reopening_language_tags_and_fallback(lang: str, expected: str) -> None:
    assert describe_reopening(at(2026, 11, 24, 9), MONDAY_NIGHT, lang) == expected


def test_reopening_phrase_from_next_open_over_christmas() -> None:
    now = at(2026, 12, 23, 18, 5)
    assert describe_reopening(DEFAULT.next_open(now), now, "pl") == "w poniedziałek o 9:00"
    assert describe_reopening(DEFAULT.next_open(now), now, "ru") == "в понедельник в 9:00"


def _default_week() -> dict[str, list[str]]:
    return dict(BusinessHoursConfig().weekly)
