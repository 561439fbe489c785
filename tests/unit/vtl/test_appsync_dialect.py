"""The AppSync dialect: building $context, the rendering record and the time formatter."""

from __future__ import annotations

import datetime
import random

import pytest

from windtunnel.vtl.appsync import AppSyncRendering, build_context, render_resolver_template
from windtunnel.vtl.appsync_json import to_json
from windtunnel.vtl.appsync_time import format_datetime, parse_datetime
from windtunnel.vtl.errors import VtlRuntimeError, VtlSyntaxError
from windtunnel.vtl.methods import JavaException

MOMENT = datetime.datetime(2024, 2, 29, 13, 5, 9, 42000, tzinfo=datetime.UTC)


def test_args_alias_arguments() -> None:
    """$ctx.args and $ctx.arguments are one map, so a change through one shows in both."""
    context = build_context({"args": {"a": 1}})
    assert context["args"] is context["arguments"]
    output = render_resolver_template("#set($ctx.args.b = 2)$context.arguments.b", context)
    assert output.output == "2"


def test_context_defaults() -> None:
    """An empty context still has arguments, stash and prev.result."""
    context = build_context({})
    assert context["arguments"] == {}
    assert context["stash"] == {}
    assert context["prev"] == {"result": None}


def test_caller_context_not_changed() -> None:
    """Rendering works on a copy, so the caller's mappings keep their values."""
    stash: dict[str, object] = {}
    render_resolver_template('$util.qr($ctx.stash.put("k", 1))', {"stash": stash})
    assert stash == {}


def test_into_keeps_logs_after_error() -> None:
    """Logs written before $util.error stay in the rendering passed as ``into``."""
    rendering = AppSyncRendering()
    with pytest.raises(Exception, match="stop"):
        render_resolver_template('$util.log.info("before")$util.error("stop")', {},
                                 into=rendering)
    assert rendering.logs == [("INFO", "before")]


def test_seeded_ids_repeat() -> None:
    """The same seed gives the same generated IDs."""
    template = "$util.autoId() $util.autoUlid()"
    first = render_resolver_template(template, {}, now=lambda: MOMENT,
                                     randomness=random.Random(1))
    second = render_resolver_template(template, {}, now=lambda: MOMENT,
                                      randomness=random.Random(1))
    assert first.output == second.output


def test_ulid_starts_with_time() -> None:
    """A ULID's first ten characters encode the milliseconds since the epoch."""
    output = render_resolver_template("$util.autoUlid()", {}, now=lambda: MOMENT).output
    milliseconds = int(MOMENT.timestamp() * 1000)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    decoded = 0
    for char in output[:10]:
        decoded = decoded * 32 + alphabet.index(char)
    assert decoded == milliseconds


def test_syntax_error_raises() -> None:
    """A template that does not parse raises VtlSyntaxError with its location."""
    with pytest.raises(VtlSyntaxError):
        render_resolver_template("#foreach($a in $b)", {})


def test_unsupported_rds_names_itself() -> None:
    """$util.rds raises an error that names the missing helper."""
    with pytest.raises(VtlRuntimeError, match=r"\$util.rds is not supported"):
        render_resolver_template("$util.rds.toJsonObject('{}')", {})


@pytest.mark.parametrize(("value", "expected"), [
    (1.0, "1.0"), (1e20, "1.0E20"), ("é\n", '"é\\n"'), ({"a": None}, '{"a":null}'),
    ([True, 2, 2.5], "[true,2,2.5]"),
])
def test_to_json_java_forms(value: object, expected: str) -> None:
    """toJson writes doubles as Java does and keeps non-ASCII characters."""
    assert to_json(value) == expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ("yyyy-MM-dd", "2024-02-29"),
    ("y M d", "2024 2 29"),
    ("yy", "24"),
    ("h:mm a", "1:05 PM"),
    ("K k H", "1 13 13"),
    ("SSS SS", "042 04"),
    ("MMM MMMM MMMMM", "Feb February F"),
    ("E EEEE EEEEE", "Thu Thursday T"),
    ("X XX XXX x Z ZZZZZ O", "Z Z Z +00 +0000 Z GMT"),
    ("'at' HH 'o''clock'", "at 13 o'clock"),
])
def test_format_patterns(pattern: str, expected: str) -> None:
    """Pattern letters format as java.time.format.DateTimeFormatter does."""
    assert format_datetime(MOMENT, pattern) == expected


def test_format_offset_zone() -> None:
    """Offsets with minutes print them; 'O' drops leading zeros."""
    zone = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    moment = MOMENT.astimezone(zone)
    assert format_datetime(moment, "X XX XXX O OOOO") == "+0530 +0530 +05:30 GMT+5:30 GMT+05:30"


@pytest.mark.parametrize(("text", "pattern", "expected"), [
    ("2024-02-29 13:05:09.042+0000", "yyyy-MM-dd HH:mm:ss.SSSZ", MOMENT),
    ("29 Feb 2024 01:05:09 PM Z", "dd MMM yyyy hh:mm:ss a X",
     MOMENT.replace(microsecond=0)),
    ("2024-02-29T18:35:09.042+05:30", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", MOMENT),
])
def test_parse_patterns(text: str, pattern: str, expected: datetime.datetime) -> None:
    """Parsing with a pattern gives the instant, using the offset in the text."""
    assert parse_datetime(text, pattern) == expected


def test_parse_mismatch_raises() -> None:
    """Text that does not match the pattern raises DateTimeParseException."""
    with pytest.raises(JavaException) as raised:
        parse_datetime("2024/02/29", "yyyy-MM-dd", datetime.UTC)
    assert raised.value.java_class_name == "java.time.format.DateTimeParseException"


def test_unsupported_letter_names_itself() -> None:
    """Week-based pattern letters raise an error that names the letter."""
    with pytest.raises(JavaException, match="pattern letter 'w' is not supported"):
        format_datetime(MOMENT, "ww")
