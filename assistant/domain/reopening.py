"""When the support team is back, said in the sender's language: "tomorrow at 9:00", "w piątek o 10:00". The
calendar (`assistant.domain.business_hours`) finds the moment; this module only phrases it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from babel.dates import format_date, format_time

from assistant.domain.business_hours import aware_utc

__all__ = ["describe_reopening"]


class _Phrases(NamedTuple):
    today: str
    tomorrow: str
    weekday: str
    later: str
    weekday_pattern: str
    date_pattern: str


# Each phrase carries its own preposition, so templates read "will be back {back_at}." in every language.
_PHRASES = {
    "en": _Phrases(
        "today at {time}", "tomorrow at {time}", "on {day} at {time}", "on {date} at {time}", "EEEE", "EEEE, d MMMM"
    ),
    "fr": _Phrases(
        "aujourd'hui à {time}", "demain à {time}", "{day} à {time}", "le {date} à {time}", "EEEE", "EEEE d MMMM"
    ),
    "ru": _Phrases("сегодня в {time}", "завтра в {time}", "{day} в {time}", "{date} в {time}", "", "d MMMM"),
    "pl": _Phrases("dziś o {time}", "jutro o {time}", "{day} o {time}", "{date} o {time}", "", "d MMMM"),
    "zh": _Phrases("今天 {time}", "明天 {time}", "{day} {time}", "{date} {time}", "EEE", "M月d日"),
}

# CLDR has weekday names only in the nominative; after "в"/"w" Russian and Polish need the accusative (feminine
# days change), and the preposition itself grows a vowel before some words ("во вторник", "we wtorek").
_WEEKDAY_WITH_PREPOSITION = {
    "ru": ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу", "в воскресенье"),
    "pl": ("w poniedziałek", "we wtorek", "w środę", "w czwartek", "w piątek", "w sobotę", "w niedzielę"),
}


def _language(lang: str) -> str:
    base = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
    return base if base in _PHRASES else "en"


def describe_reopening(at: datetime, now: datetime, lang: str) -> str:
    """When the team is back, as a phrase in `lang` that brings its own preposition: "tomorrow at 9:00".

    `at` is shown in its own zone (pass the calendar's); `now` is moved into that zone to decide today/tomorrow.
    Unknown languages get English.
    """
    aware_utc(at, "describe_reopening()")
    aware_utc(now, "describe_reopening()")
    language = _language(lang)
    phrases = _PHRASES[language]
    day = at.date()
    clock = format_time(at.time(), "H:mm", locale=language)
    days_ahead = (day - now.astimezone(at.tzinfo).date()).days
    if days_ahead == 0:
        return phrases.today.format(time=clock)
    if days_ahead == 1:
        return phrases.tomorrow.format(time=clock)
    # Within six days the weekday alone is unambiguous; a week or more ahead (or in the past) needs the date.
    if 2 <= days_ahead <= 6:
        if language in _WEEKDAY_WITH_PREPOSITION:
            weekday = _WEEKDAY_WITH_PREPOSITION[language][day.weekday()]
        else:
            weekday = format_date(day, phrases.weekday_pattern, locale=language)
        return phrases.weekday.format(day=weekday, time=clock)
    pattern = phrases.date_pattern
    if language == "fr" and day.day == 1:
        # French writes the first of the month as an ordinal ("le mardi 1er décembre"); CLDR has no pattern for it.
        pattern = pattern.replace("d", "'1er'", 1)
    return phrases.later.format(date=format_date(day, pattern, locale=language), time=clock)
