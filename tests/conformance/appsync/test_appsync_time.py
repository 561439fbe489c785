"""AppSync's $util.time helpers, with the examples of the AWS documentation.

Source: TIME = https://docs.aws.amazon.com/appsync/latest/devguide/time-helpers-in-util-time.html
("Standalone function examples" and "Conversion examples"); the documentation's clock
reads 2018-02-06T19:01:35.749Z in its "now" examples.
"""

from __future__ import annotations

import datetime

import pytest

from windtunnel.services.appsync.evaluate import evaluate_template

TIME = "https://docs.aws.amazon.com/appsync/latest/devguide/time-helpers-in-util-time.html"
NOW = datetime.datetime(2018, 2, 6, 19, 1, 35, 749000, tzinfo=datetime.UTC)


def render(template: str) -> str:
    result = evaluate_template(template, {}, now=lambda: NOW)
    assert result.error_message is None, result.error_message
    assert result.evaluation_result is not None
    return result.evaluation_result


@pytest.mark.parametrize(("template", "expected"), [
    ("$util.time.nowISO8601()", "2018-02-06T19:01:35.749Z"),
    ("$util.time.nowEpochSeconds()", "1517943695"),
    ("$util.time.nowEpochMilliSeconds()", "1517943695749"),
    ('$util.time.nowFormatted("yyyy-MM-dd HH:mm:ssZ")', "2018-02-06 19:01:35+0000"),
    ('$util.time.nowFormatted("yyyy-MM-dd HH:mm:ssZ", "+08:00")', "2018-02-07 03:01:35+0800"),
    ('$util.time.nowFormatted("yyyy-MM-dd HH:mm:ssZ", "Australia/Perth")',
     "2018-02-07 03:01:35+0800"),
    ('$util.time.parseFormattedToEpochMilliSeconds("2018-02-01 17:21:05.180+0000", '
     '"yyyy-MM-dd HH:mm:ss.SSSZ")', "1517505665180"),
    ('$util.time.parseFormattedToEpochMilliSeconds("2018-02-01 17:21:05.180+08:00", '
     '"yyyy-MM-dd HH:mm:ss.SSSXXX", "Australia/Perth")', "1517476865180"),
    ('$util.time.parseISO8601ToEpochMilliSeconds("2018-02-01T17:21:05.180+08:00")',
     "1517476865180"),
    ("$util.time.epochMilliSecondsToSeconds(1517943695758)", "1517943695"),
    ("$util.time.epochMilliSecondsToISO8601(1517943695758)", "2018-02-06T19:01:35.758Z"),
    ('$util.time.epochMilliSecondsToFormatted(1517943695758, "yyyy-MM-dd HH:mm:ssZ")',
     "2018-02-06 19:01:35+0000"),
    ('$util.time.epochMilliSecondsToFormatted(1517943695758, "yyyy-MM-dd HH:mm:ssZ", '
     '"Australia/Perth")', "2018-02-07 03:01:35+0800"),
])
def test_time_example(template: str, expected: str) -> None:
    """Each $util.time example of TIME gives the documented value."""
    assert render(template) == expected, TIME


@pytest.mark.parametrize(("pattern", "expected"), [
    ("EEE, d MMM yyyy", "Tue, 6 Feb 2018"),
    ("EEEE MMMM dd yy", "Tuesday February 06 18"),
    ("hh:mm a", "07:01 PM"),
    ("HH:mm:ss.SSS XXX", "19:01:35.749 Z"),
    ("yyyy-MM-dd'T'HH:mm:ss''x", "2018-02-06T19:01:35'+00"),
    ("D", "37"),
])
def test_datetime_formatter_patterns(pattern: str, expected: str) -> None:
    """TIME: formats follow java.time.format.DateTimeFormatter's pattern letters."""
    assert render(f'$util.time.nowFormatted("{pattern}")') == expected, TIME


def test_parse_without_zone_fails() -> None:
    """TIME: parseFormattedToEpochMilliSeconds(String, String) needs a zone in the format."""
    result = evaluate_template('$util.time.parseFormattedToEpochMilliSeconds("2018-02-01", '
                               '"yyyy-MM-dd")', {})
    assert result.error_message is not None
    assert "DateTimeParseException" in result.error_message, TIME


def test_unknown_zone_fails() -> None:
    """TIME: an unknown time zone ID fails the template."""
    result = evaluate_template('$util.time.nowFormatted("yyyy", "Mars/Base")', {})
    assert result.error_message is not None
    assert "Unknown time-zone ID: Mars/Base" in result.error_message, TIME
