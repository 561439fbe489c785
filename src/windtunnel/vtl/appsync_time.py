"""AppSync's ``$util.time``: timestamps, with ``java.time.format.DateTimeFormatter`` patterns.

Source: https://docs.aws.amazon.com/appsync/latest/devguide/time-helpers-in-util-time.html
(methods) and https://docs.oracle.com/javase/8/docs/api/java/time/format/DateTimeFormatter.html
(pattern letters).

Limitations:
- Pattern letters for week-based fields (``Y w W e c``), quarters (``Q q``), day periods
  and nano-of-day (``n N A``) and localized zone names (``zzzz``, ``v``) raise an error
  that names the letter. Optional sections (``[ ]``) are always formatted, and parsed
  as required.
- Text is English (``Tue``, ``February``, ``PM``), as in Java's default ``Locale.US``.
- Parsing a pattern without hours, minutes or seconds takes 0 for them, where Java needs
  a parse default. Parsing needs a year, a month and a day.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from windtunnel.vtl.methods import JavaException
from windtunnel.vtl.values import JavaObject, MissingMember, is_number, to_java_string

__all__ = ["TimeUtil", "format_datetime", "parse_datetime"]

logger = logging.getLogger(__name__)

_UNSUPPORTED_LETTERS = frozenset("YwWecQqnNAvgBb")
_SUPPORTED_LETTERS = frozenset("GuyDMLdHhkKmsSaEzVOXxZ")


@dataclass(frozen=True)
class _Field:
    letter: str
    count: int


Token = _Field | str


def _tokenize(pattern: str) -> list[Token]:
    """Split a DateTimeFormatter pattern into letter runs and literal text."""
    tokens: list[Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = index + 1
            literal: list[str] = []
            while True:
                if end >= len(pattern):
                    raise JavaException(
                        "java.lang.IllegalArgumentException",
                        f"Pattern ends with an incomplete string literal: {pattern}")
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        literal.append("'")
                        end += 2
                        continue
                    break
                literal.append(pattern[end])
                end += 1
            # '' outside a literal is one quote.
            tokens.append("".join(literal) if end > index + 1 else "'")
            index = end + 1
        elif char.isascii() and char.isalpha():
            end = index
            while end < len(pattern) and pattern[end] == char:
                end += 1
            if char in _UNSUPPORTED_LETTERS or (char == "z" and end - index >= 4):
                raise JavaException(
                    "java.lang.IllegalArgumentException",
                    f"pattern letter '{char}' is not supported by the emulation: {pattern}")
            if char not in _SUPPORTED_LETTERS:
                raise JavaException("java.lang.IllegalArgumentException",
                                    f"Unknown pattern letter: {char}")
            tokens.append(_Field(char, end - index))
            index = end
        elif char in "[]":
            index += 1
        else:
            tokens.append(char)
            index += 1
    return tokens


# --- formatting ---------------------------------------------------------------


def _offset_text(offset: datetime.timedelta, *, colon: bool, minutes: str,
                 zero: str | None) -> str:
    """Format a zone offset; ``minutes`` is "always", "nonzero" or "never"."""
    total = int(offset.total_seconds())
    if total == 0 and zero is not None:
        return zero
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minute, second = divmod(rest, 60)
    text = f"{sign}{hours:02d}"
    if minutes == "always" or (minutes == "nonzero" and minute):
        text += (":" if colon else "") + f"{minute:02d}"
    if second:
        text += (":" if colon else "") + f"{second:02d}"
    return text


def _format_offset(letter: str, count: int, moment: datetime.datetime) -> str:
    offset = moment.utcoffset() or datetime.timedelta(0)
    if letter == "Z":
        if count <= 3:
            return _offset_text(offset, colon=False, minutes="always", zero=None)
        if count == 4:
            return "GMT" + ("" if not offset else _offset_text(
                offset, colon=True, minutes="always", zero=None))
        return _offset_text(offset, colon=True, minutes="always", zero="Z")
    if letter == "O":
        if not offset:
            return "GMT"
        if count == 1:
            text = _offset_text(offset, colon=True, minutes="nonzero", zero=None)
            return "GMT" + text[0] + text[1:].lstrip("0")
        return "GMT" + _offset_text(offset, colon=True, minutes="always", zero=None)
    zero = "Z" if letter == "X" else None
    if count == 1:
        return _offset_text(offset, colon=False, minutes="nonzero", zero=zero)
    return _offset_text(offset, colon=count in (3, 5), minutes="always", zero=zero)


def _format_field(field: _Field, moment: datetime.datetime) -> str:
    letter, count = field.letter, field.count

    if letter in "uy":
        if count == 2:
            return f"{moment.year % 100:02d}"
        return str(moment.year).zfill(count)
    if letter in "ML":
        if count >= 5:
            return calendar.month_name[moment.month][0]
        if count == 4:
            return calendar.month_name[moment.month]
        if count == 3:
            return calendar.month_abbr[moment.month]
        return str(moment.month).zfill(count)
    if letter == "E":
        name = calendar.day_name[moment.weekday()]
        if count == 4:
            return name
        return name[0] if count == 5 else name[:3]
    if letter == "S":
        return f"{moment.microsecond:06d}000"[:count]
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "G":
        return {4: "Anno Domini", 5: "A"}.get(count, "AD")
    if letter == "z":
        return moment.tzname() or "UTC"
    if letter == "V":
        zone = moment.tzinfo
        return zone.key if isinstance(zone, zoneinfo.ZoneInfo) else "Z"
    if letter in "ZOXx":
        return _format_offset(letter, count, moment)

    numbers = {
        "d": moment.day, "D": moment.timetuple().tm_yday, "H": moment.hour,
        "h": (moment.hour % 12) or 12, "K": moment.hour % 12, "k": moment.hour or 24,
        "m": moment.minute, "s": moment.second,
    }
    return str(numbers[letter]).zfill(count)


def format_datetime(moment: datetime.datetime, pattern: str) -> str:
    """Format an aware datetime with a DateTimeFormatter pattern."""
    output: list[str] = []
    for token in _tokenize(pattern):
        output.append(token if isinstance(token, str) else _format_field(token, moment))
    return "".join(output)


# --- parsing ------------------------------------------------------------------

_OFFSET_PATTERN = r"Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?"


def _field_regex(field: _Field) -> str:
    letter, count = field.letter, field.count
    if letter in "uy":
        return r"\d{2}" if count == 2 else rf"[+-]?\d{{{max(count, 1)},9}}"
    if letter in "ML" and count >= 3:
        return "[A-Za-z]+"
    if letter == "E" or letter == "G" or letter == "a":
        return "[A-Za-z ]+?" if letter == "G" else "[A-Za-z]+"
    if letter == "S":
        return rf"\d{{{count}}}"
    if letter == "z" or letter == "V":
        return r"[A-Za-z_/+\-0-9]+"
    if letter == "O":
        return r"GMT(?:[+-]\d{1,2}(?::\d{2})?)?"
    if letter == "Z" and count == 4:
        return r"GMT(?:[+-]\d{2}:\d{2})?"
    if letter in "ZXx":
        return _OFFSET_PATTERN
    if count > 1:
        return rf"\d{{{count}}}"
    return r"\d{1,3}" if letter == "D" else r"\d{1,2}"


def _parse_offset(text: str) -> datetime.timezone:
    if text in ("Z", "GMT"):
        return datetime.UTC
    text = text.removeprefix("GMT")
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) <= 2 and ":" in text[1:]:
        digits = digits.zfill(2)
    hours = int(digits[:2]) if len(digits) >= 2 else int(digits)
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    seconds = int(digits[4:6]) if len(digits) >= 6 else 0
    return datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes,
                                                       seconds=seconds))


def _parse_error(text: str, reason: str) -> JavaException:
    return JavaException("java.time.format.DateTimeParseException",
                         f"Text '{text}' could not be parsed{reason}")


def parse_datetime(text: str, pattern: str,
                   zone: datetime.tzinfo | None = None) -> datetime.datetime:
    """Parse ``text`` with a DateTimeFormatter pattern into an aware datetime.

    An offset or zone in the text wins over ``zone``, as with Java's ``withZone``.
    """
    tokens = _tokenize(pattern)
    fields: list[_Field] = []
    expression: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            expression.append(re.escape(token))
        else:
            fields.append(token)
            expression.append(f"({_field_regex(token)})")
    match = re.fullmatch("".join(expression), text)
    if match is None:
        raise _parse_error(text, f" with the pattern '{pattern}'")

    values: dict[str, int] = {"hour": 0, "minute": 0, "second": 0, "microsecond": 0}
    found_zone: datetime.tzinfo | None = None
    pm: bool | None = None
    twelve_hour: int | None = None
    for field, part in zip(fields, match.groups(), strict=True):
        letter = field.letter
        if letter in "uy":
            year = int(part)
            values["year"] = 2000 + year if field.count == 2 else year
        elif letter in "ML":
            if field.count >= 3:
                names = [name.lower() for name in (calendar.month_name if field.count == 4
                                                   else calendar.month_abbr)]
                if part.lower() not in names:
                    raise _parse_error(text, f": unknown month '{part}'")
                values["month"] = names.index(part.lower())
            else:
                values["month"] = int(part)
        elif letter == "d":
            values["day"] = int(part)
        elif letter == "H" or letter == "k":
            values["hour"] = int(part) % 24
        elif letter == "h" or letter == "K":
            twelve_hour = int(part) % 12
        elif letter == "a":
            pm = part.upper() == "PM"
        elif letter == "m":
            values["minute"] = int(part)
        elif letter == "s":
            values["second"] = int(part)
        elif letter == "S":
            values["microsecond"] = int((part + "000000")[:6])
        elif letter in "zV":
            try:
                found_zone = (datetime.UTC if part in ("Z", "UTC", "GMT")
                              else zoneinfo.ZoneInfo(part))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise _parse_error(text, f": unknown time-zone ID '{part}'") from None
        elif letter in "ZOXx":
            found_zone = _parse_offset(part)
    if twelve_hour is not None:
        values["hour"] = twelve_hour + (12 if pm else 0)

    if not {"year", "month", "day"} <= values.keys():
        raise _parse_error(text, ": Unable to obtain ZonedDateTime from TemporalAccessor")
    chosen = found_zone or zone
    if chosen is None:
        raise _parse_error(text, ": Unable to obtain ZonedDateTime from TemporalAccessor")
    try:
        return datetime.datetime(tzinfo=chosen, **values)
    except ValueError as error:
        raise _parse_error(text, f": {error}") from None


# --- $util.time ---------------------------------------------------------------


def _zone(name: object) -> datetime.tzinfo:
    text = to_java_string(name)
    if text in ("UTC", "Z", "GMT"):
        return datetime.UTC
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if re.fullmatch(_OFFSET_PATTERN, text):
            return _parse_offset(text)
        raise JavaException("java.time.zone.ZoneRulesException",
                            f"Unknown time-zone ID: {text}") from None


def _iso_instant(moment: datetime.datetime) -> str:
    """Format as ``Instant.toString`` does for a millisecond instant: UTC, no ``.000``.

    AppSync's times have millisecond precision, so microseconds are truncated.
    """
    moment = moment.astimezone(datetime.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    milliseconds = moment.microsecond // 1000
    if milliseconds:
        text += f".{milliseconds:03d}"
    return text + "Z"


def _from_epoch_milliseconds(value: object) -> datetime.datetime:
    if not is_number(value):
        raise MissingMember("epoch milliseconds must be a number")
    assert isinstance(value, (int, float))
    milliseconds = int(value)
    return (datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
            + datetime.timedelta(milliseconds=milliseconds))


def _epoch_milliseconds(moment: datetime.datetime) -> int:
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _parse_iso8601(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise _parse_error(text, " at index 0") from None
    if moment.tzinfo is None:
        raise _parse_error(text, ": Unable to obtain ZonedDateTime from TemporalAccessor")
    return moment


class TimeUtil(JavaObject):
    """``$util.time``: the current time, epoch conversions, formatting and parsing."""

    java_class_name = "com.amazonaws.deepdish.transform.util.TimeUtils"

    def __init__(self, now: Callable[[], datetime.datetime]) -> None:
        self.now = now

    def call(self, name: str, arguments: list[object]) -> object:
        count = len(arguments)
        if any(argument is None for argument in arguments):
            return None
        texts = [to_java_string(argument) for argument in arguments]
        if name == "nowISO8601" and count == 0:
            return _iso_instant(self.now())
        if name == "nowEpochSeconds" and count == 0:
            return _epoch_milliseconds(self.now()) // 1000
        if name == "nowEpochMilliSeconds" and count == 0:
            return _epoch_milliseconds(self.now())
        if name == "nowFormatted" and count in (1, 2):
            zone = _zone(arguments[1]) if count == 2 else datetime.UTC
            return format_datetime(self.now().astimezone(zone), texts[0])
        if name == "parseFormattedToEpochMilliSeconds" and count in (2, 3):
            default_zone = _zone(arguments[2]) if count == 3 else None
            return _epoch_milliseconds(parse_datetime(texts[0], texts[1], default_zone))
        if name == "parseISO8601ToEpochMilliSeconds" and count == 1:
            return _epoch_milliseconds(_parse_iso8601(texts[0]))
        if name == "epochMilliSecondsToSeconds" and count == 1:
            return _epoch_milliseconds(_from_epoch_milliseconds(arguments[0])) // 1000
        if name == "epochMilliSecondsToISO8601" and count == 1:
            return _iso_instant(_from_epoch_milliseconds(arguments[0]))
        if name == "epochMilliSecondsToFormatted" and count in (2, 3):
            zone = _zone(arguments[2]) if count == 3 else datetime.UTC
            moment = _from_epoch_milliseconds(arguments[0]).astimezone(zone)
            return format_datetime(moment, texts[1])
        raise MissingMember(name)
