"""The support team's opening hours (weekly schedule, public holidays, one-off dates) in one time zone: whether
the team is in, when it is back, and how much business time an SLA clock has used. Saying when it is back in the
sender's language is `assistant.domain.reopening`'s."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import NamedTuple, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.errors import InputError

__all__ = [
    "SEARCH_HORIZON_DAYS",
    "WEEKDAYS",
    "BusinessHours",
    "BusinessHoursConfig",
    "CalendarError",
    "aware_utc",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A year and a bit: long enough for any real closure (a Christmas-to-New-Year break, a move), short enough that
# a calendar which is never open fails within milliseconds instead of looping.
SEARCH_HORIZON_DAYS = 400

_MINUTES_PER_DAY = 24 * 60
_DAY = timedelta(days=1)
_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class CalendarError(InputError, ValueError):
    """The calendar cannot answer: it is never open, or never closes, within the search horizon."""


class _Interval(NamedTuple):
    """Minutes after the midnight of the day the interval starts on; `end` is above 1440 for overnight shifts."""

    start: int
    end: int


def _parse_interval(text: str) -> _Interval:
    match = _INTERVAL.match(text.strip())
    if match is None:
        raise ValueError(f"malformed opening interval {text!r}; write it as 'HH:MM-HH:MM', e.g. '09:00-18:00'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m != 0):
        raise ValueError(f"opening interval {text!r} has an impossible time; hours run 00-23 (24:00 only as an end)")
    start = start_h * 60 + start_m
    end = end_h * 60 + end_m
    # An end at or before the start is the usual way to write a night shift ("22:00-02:00").
    if end <= start:
        end += _MINUTES_PER_DAY
    return _Interval(start, end)


def _parse_intervals(texts: list[str]) -> tuple[_Interval, ...]:
    return tuple(sorted(_parse_interval(text) for text in texts))


def _load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Warsaw' or 'UTC'") from error


def _check_holiday_region(country: str, subdivision: str | None) -> None:
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as error:
        where = f"country {country!r}" if subdivision is None else f"subdivision {subdivision!r} of {country!r}"
        raise ValueError(
            f"no public holidays known for {where}; use an ISO 3166 code the `holidays` package supports, "
            "e.g. 'PL', 'FR', 'DE', or null to ignore public holidays"
        ) from error


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    # A fresh HolidayBase per year, frozen: the package fills years lazily inside `in`, which is not thread-safe.
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def _default_weekly() -> dict[str, list[str]]:
    return {
        "mon": ["09:00-18:00"],
        "tue": ["09:00-18:00"],
        "wed": ["09:00-18:00"],
        "thu": ["09:00-18:00"],
        "fri": ["09:00-18:00"],
        "sat": ["10:00-14:00"],
        "sun": [],
    }


class BusinessHoursConfig(BaseModel):
    """Opening hours as written in the settings file; intervals are wall-clock times in `timezone`.

    An interval belongs to the day it starts on: a Friday "22:00-02:00" shift is open early on Saturday even when
    Saturday is a holiday or a closed date. `open_dates` replaces every other rule for its date.
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Europe/Warsaw"
    weekly: dict[str, list[str]] = Field(default_factory=_default_weekly)
    holiday_country: str | None = "PL"
    holiday_subdivision: str | None = None
    closed_dates: list[date] = Field(default_factory=list)
    open_dates: dict[date, list[str]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _load_zone(value)
        return value

    @field_validator("weekly")
    @classmethod
    def _valid_week(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        week: dict[str, list[str]] = {}
        for key, intervals in value.items():
            day = key.strip().lower()
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {key!r} in weekly hours; use {', '.join(WEEKDAYS)}")
            _parse_intervals(intervals)
            week[day] = intervals
        return week

    @field_validator("open_dates")
    @classmethod
    def _valid_open_dates(cls, value: dict[date, list[str]]) -> dict[date, list[str]]:
        for intervals in value.values():
            _parse_intervals(intervals)
        return value

    @field_validator("holiday_country", "holiday_subdivision")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        # An environment variable cannot say null; an empty value is how it switches holidays off.
        if value is None or not value.strip():
            return None
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.holiday_country is not None:
            self.holiday_country = self.holiday_country.upper()
            _check_holiday_region(self.holiday_country, self.holiday_subdivision)
        elif self.holiday_subdivision is not None:
            raise ValueError("holiday_subdivision is set but holiday_country is not")
        both = sorted(set(self.closed_dates) & set(self.open_dates))
        if both:
            listed = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"dates both closed and open: {listed}; keep each in one of closed_dates, open_dates")
        return self


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _resolve(wall: datetime, zone: ZoneInfo, *, last: bool) -> datetime:
    """The UTC instant of a wall-clock time: its first occurrence, or with `last` its last one.

    Wall times repeated when clocks go back get both occurrences inside the span; wall times skipped when clocks go
    forward map to the moment of the jump, the first instant at which the clock shows that time or later.
    """
    candidates = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    real = [moment for moment in candidates if _wall_clock(moment, zone) == wall]
    if real:
        return max(real) if last else min(real)
    # In a gap the two folds bracket the jump; zoneinfo does not expose transitions, so find it by bisection.
    low, high = int(min(candidates).timestamp()), int(max(candidates).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall_clock(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def aware_utc(moment: datetime, caller: str) -> datetime:
    """`moment` in UTC; a ValueError naming `caller` for a naive datetime, which has no instant to compare."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{caller} needs a timezone-aware datetime, got naive {moment.isoformat()}; "
            "attach a zone, e.g. datetime(..., tzinfo=ZoneInfo('Europe/Warsaw')) or datetime.now(UTC)"
        )
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class BusinessHours:
    """When the team is in. Build it with `BusinessHours.from_config`; every answer is in `zone`."""

    zone: ZoneInfo
    weekly: tuple[tuple[_Interval, ...], ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    open_dates: Mapping[date, tuple[_Interval, ...]] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @classmethod
    def from_config(cls, config: BusinessHoursConfig) -> BusinessHours:
        return cls(
            zone=_load_zone(config.timezone),
            weekly=tuple(_parse_intervals(config.weekly.get(day, [])) for day in WEEKDAYS),
            holiday_country=config.holiday_country,
            holiday_subdivision=config.holiday_subdivision,
            closed_dates=frozenset(config.closed_dates),
            open_dates=MappingProxyType({day: _parse_intervals(texts) for day, texts in config.open_dates.items()}),
        )

    def is_holiday(self, day: date) -> bool:
        if self.holiday_country is None:
            return False
        return day in _public_holidays(self.holiday_country, self.holiday_subdivision, day.year)

    def is_open(self, t: datetime) -> bool:
        moment = aware_utc(t, "is_open()")
        today = self._local_day(moment)
        return any(start <= moment < end for start, end in self._open_pieces(today - timedelta(days=2), today + _DAY))

    def next_open(self, t: datetime) -> datetime:
        """`t` itself if the team is in, else the start of the next opening; CalendarError if none in ~400 days."""
        moment = aware_utc(t, "next_open()")
        for start, end in self._open_pieces(self._local_day(moment) - timedelta(days=2)):
            if end > moment:
                return max(start, moment).astimezone(self.zone)
        raise AssertionError("unreachable: the unbounded search raises CalendarError instead of ending")

    def next_close(self, t: datetime) -> datetime | None:
        """When the opening that `t` falls in ends, back-to-back intervals counted as one; None if closed at `t`."""
        moment = aware_utc(t, "next_close()")
        today = self._local_day(moment)
        horizon = timedelta(days=SEARCH_HORIZON_DAYS)
        period_end: datetime | None = None
        for start, end in self._open_pieces(today - timedelta(days=2), today + horizon + 2 * _DAY):
            if period_end is None:
                if end <= moment:
                    continue
                if start > moment:
                    return None
            elif start != period_end:
                break
            period_end = end
            if period_end - moment > horizon:
                raise CalendarError(
                    f"the team is open without a break for more than {SEARCH_HORIZON_DAYS} days after "
                    f"{moment.astimezone(self.zone).isoformat()}, so there is no closing time to give"
                )
        return None if period_end is None else period_end.astimezone(self.zone)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); negative when `end` is before `start`, so intervals add up."""
        first, last = aware_utc(start, "business_time_between()"), aware_utc(end, "business_time_between()")
        if last < first:
            return -self.business_time_between(end, start)
        total = timedelta()
        window = (self._local_day(first) - timedelta(days=2), self._local_day(last) + _DAY)
        for open_from, open_until in self._open_pieces(*window):
            if open_from >= last:
                break
            total += max(timedelta(), min(open_until, last) - max(open_from, first))
        return total

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of open time has passed since `start` (an SLA due time)."""
        moment = aware_utc(start, "add_business_time()")
        if duration < timedelta():
            raise ValueError(f"add_business_time() needs a duration of zero or more, got {duration}")
        if not duration:
            return moment.astimezone(self.zone)
        remaining = duration
        for open_from, open_until in self._open_pieces(self._local_day(moment) - timedelta(days=2)):
            if open_until <= moment:
                continue
            begin = max(open_from, moment)
            if remaining <= open_until - begin:
                return (begin + remaining).astimezone(self.zone)
            remaining -= open_until - begin
        raise AssertionError("unreachable: the unbounded search raises CalendarError instead of ending")

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _intervals_on(self, day: date) -> tuple[_Interval, ...]:
        if day in self.open_dates:
            return self.open_dates[day]
        if day in self.closed_dates or self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        midnight = datetime.combine(day, time())
        spans = []
        for interval in self._intervals_on(day):
            start = _resolve(midnight + timedelta(minutes=interval.start), self.zone, last=False)
            end = _resolve(midnight + timedelta(minutes=interval.end), self.zone, last=True)
            # Only an interval that lies wholly inside a spring-forward gap comes out empty.
            if end > start:
                spans.append((start, end))
        return sorted(spans)

    def _open_pieces(self, first_day: date, last_day: date | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Disjoint open spans in UTC, in order, from the intervals that start on `first_day` .. `last_day`.

        Overlaps (a night shift running into the next day's hours) are cut away, so the pieces can be summed;
        pieces may touch. Without `last_day` the walk is endless unless the calendar stays shut for the horizon.
        """
        covered: datetime | None = None
        closed_days = 0
        day = first_day
        while last_day is None or day <= last_day:
            opened = False
            for start, end in self._day_spans(day):
                begin = start if covered is None else max(start, covered)
                if end > begin:
                    covered, opened = end, True
                    yield begin, end
            closed_days = 0 if opened else closed_days + 1
            if last_day is None and closed_days > SEARCH_HORIZON_DAYS:
                raise CalendarError(
                    f"the calendar has no opening hours in the {SEARCH_HORIZON_DAYS} days after "
                    f"{(day - timedelta(days=SEARCH_HORIZON_DAYS)).isoformat()}; check business_hours.weekly, "
                    "holiday_country, closed_dates and open_dates"
                )
            day += _DAY
