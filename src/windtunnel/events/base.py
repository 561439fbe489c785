"""Shared pieces of the event generators: source descriptions, options and AWS-style IDs."""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from windtunnel.errors import WindtunnelError

__all__ = [
    "COMMON_OPTIONS",
    "Context",
    "EventOptionError",
    "Option",
    "Source",
]

Event = dict[str, Any]


class EventOptionError(WindtunnelError, ValueError):
    """An unknown event source, an unknown option, or an option value that is invalid."""


@dataclass(frozen=True)
class Option:
    """One keyword argument that a generator accepts, with its help text."""

    name: str
    help: str


@dataclass(frozen=True)
class Source:
    """An event source: its name, the AWS page that documents its event, and its generator."""

    name: str
    description: str
    doc_url: str
    build: Callable[[Context, dict[str, Any]], Event]
    options: tuple[Option, ...]
    # The option that 'generate-event --body' sets: a request body, message or detail.
    payload_option: str | None = None
    # Whether that option takes structured data, so the command line decodes --body as JSON.
    payload_is_json: bool = False

    def option_names(self) -> list[str]:
        """Return every option this source accepts, the common ones included."""
        return [option.name for option in (*self.options, *COMMON_OPTIONS)]


COMMON_OPTIONS = (
    Option("region", f"the AWS Region in ARNs and fields (default: {DEFAULT_REGION})"),
    Option("account", f"the 12-digit AWS account ID (default: {DEFAULT_ACCOUNT_ID})"),
    Option("seed", "an integer or string that makes IDs and timestamps repeatable"),
    Option("time", "the event time: a datetime, an ISO 8601 string or epoch milliseconds "
                   "(default: now, or a fixed time derived from the seed)"),
)

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# With a seed and no time, events fall in the year after this instant, so runs repeat.
_SEEDED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits


class Context:
    """The Region, account, clock and random source that one generated event shares."""

    def __init__(self, *, region: str, account: str, random_source: random.Random,
                 now: datetime) -> None:
        self.region = region
        self.account = account
        self.random = random_source
        self.now = now

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Context:
        """Take the common options out of ``options`` and build the context from them."""
        region = options.pop("region", DEFAULT_REGION)
        account = options.pop("account", DEFAULT_ACCOUNT_ID)
        seed = options.pop("seed", None)
        time = options.pop("time", None)

        if not isinstance(region, str) or not _REGION.match(region):
            raise EventOptionError(f"invalid region {region!r}; expected a Region code "
                                   f"such as {DEFAULT_REGION}")
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise EventOptionError(f"invalid account {account!r}; expected 12 digits "
                                   f"such as {DEFAULT_ACCOUNT_ID}")
        if seed is not None and not isinstance(seed, int | str):
            raise EventOptionError(f"invalid seed {seed!r}; expected an integer or a string")

        random_source = random.Random(seed)
        if time is not None:
            now = parse_time(time)
        elif seed is not None:
            offset = random_source.randrange(365 * 24 * 3600 * 1000)
            now = _SEEDED_EPOCH + timedelta(milliseconds=offset)
        else:
            now = datetime.now(UTC)
        # AWS event times carry at most millisecond precision.
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        return cls(region=region, account=account, random_source=random_source, now=now)

    # Identifiers.

    def uuid(self) -> str:
        """Return a random version 4 UUID drawn from this context's random source."""
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def hex(self, length: int, *, upper: bool = False) -> str:
        """Return ``length`` random hexadecimal digits."""
        digits = "0123456789ABCDEF" if upper else "0123456789abcdef"
        return "".join(self.random.choice(digits) for _ in range(length))

    def digits(self, length: int) -> str:
        """Return ``length`` random decimal digits, the first one not zero."""
        first = self.random.choice("123456789")
        return first + "".join(self.random.choice(string.digits) for _ in range(length - 1))

    def alnum(self, length: int, *, lower: bool = False, upper: bool = False) -> str:
        """Return ``length`` random letters and digits."""
        if lower:
            alphabet = _LOWER_ALNUM
        elif upper:
            alphabet = _UPPER_ALNUM
        else:
            alphabet = string.ascii_letters + string.digits
        return "".join(self.random.choice(alphabet) for _ in range(length))

    def base64(self, size: int) -> str:
        """Return ``size`` random bytes in base64."""
        return base64.b64encode(self.random.randbytes(size)).decode("ascii")

    def iam_user_id(self) -> str:
        """Return a unique ID of an IAM user (``AIDA`` and 17 characters), as SQS senders have."""
        return "AIDA" + self.alnum(17, upper=True)

    def source_ip(self) -> str:
        """Return an address from 203.0.113.0/24, the range RFC 5737 reserves for examples."""
        return f"203.0.113.{self.random.randint(1, 254)}"

    # Times.

    def epoch_millis(self) -> int:
        """Return the event time in milliseconds since the epoch."""
        return int(self.now.timestamp() * 1000)

    def iso_time(self, *, millis: bool = False) -> str:
        """Return the event time in ISO 8601 UTC with a ``Z``, with or without milliseconds."""
        if millis:
            return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def clf_time(self) -> str:
        """Return the event time in Common Log Format, as API Gateway writes ``requestTime``."""
        return self.now.strftime("%d/%b/%Y:%H:%M:%S +0000")

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        """Return an ARN in this context's partition, Region and account."""
        region_part = self.region if region else ""
        return f"arn:aws:{service}:{region_part}:{self.account}:{resource}"


def parse_time(value: object) -> datetime:
    """Turn a datetime, an ISO 8601 string or epoch milliseconds into an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str) and value.isdigit():
        moment = datetime.fromtimestamp(int(value) / 1000, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise EventOptionError(f"invalid time {value!r}; expected ISO 8601 such as "
                                   f"2024-05-01T12:00:00Z") from None
    else:
        raise EventOptionError(f"invalid time {value!r}; expected a datetime, an ISO 8601 "
                               f"string or epoch milliseconds")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Option readers. Each removes its option from ``options`` so that generate() can tell
# which options a generator did not read.

def take_string(options: dict[str, Any], name: str, default: str) -> str:
    """Remove option ``name`` and return it, checking that it is a string."""
    value = options.pop(name, default)
    if not isinstance(value, str):
        raise EventOptionError(f"invalid {name} {value!r}; expected a string")
    return value


def take_optional_string(options: dict[str, Any], name: str) -> str | None:
    """Remove option ``name`` and return it, or None when it is absent."""
    value = options.pop(name, None)
    if value is not None and not isinstance(value, str):
        raise EventOptionError(f"invalid {name} {value!r}; expected a string")
    return value


def take_int(options: dict[str, Any], name: str, default: int) -> int:
    """Remove option ``name`` and return it as an integer, which may be given as digits."""
    value = options.pop(name, default)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise EventOptionError(f"invalid {name} {value!r}; expected an integer")
    return value


def take_choice(options: dict[str, Any], name: str, default: str,
                choices: tuple[str, ...]) -> str:
    """Remove option ``name`` and return it, checking that it is one of ``choices``."""
    value = take_string(options, name, default)
    if value not in choices:
        raise EventOptionError(f"invalid {name} {value!r}; expected one of: "
                               f"{', '.join(choices)}")
    return value


def take_mapping(options: dict[str, Any], name: str) -> dict[str, Any] | None:
    """Remove option ``name`` and return a copy of it, or None when it is absent."""
    value = options.pop(name, None)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise EventOptionError(f"invalid {name} {value!r}; expected a mapping")
    copy: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise EventOptionError(f"invalid {name}: key {key!r} is not a string")
        copy[key] = item
    return copy


def take_string_mapping(options: dict[str, Any], name: str) -> dict[str, str] | None:
    """Remove option ``name``: a mapping whose values are all strings."""
    value = take_mapping(options, name)
    if value is None:
        return None
    for key, item in value.items():
        if not isinstance(item, str):
            raise EventOptionError(f"invalid {name}: the value of {key!r} is {item!r}, "
                                   f"expected a string")
    return value


def take_string_list(options: dict[str, Any], name: str) -> list[str] | None:
    """Remove option ``name``: a list of strings, or None when it is absent."""
    value = options.pop(name, None)
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise EventOptionError(f"invalid {name} {value!r}; expected a list of strings")
    for item in value:
        if not isinstance(item, str):
            raise EventOptionError(f"invalid {name}: {item!r} is not a string")
    return list(value)


def payload_text(value: object, name: str) -> str:
    """Return a message payload as text: a string as it is, other values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        raise EventOptionError(f"invalid {name}: bytes are not allowed here; pass text "
                               f"or a value to encode as JSON")
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise EventOptionError(f"invalid {name} {value!r}: not serializable as JSON "
                               f"({error})") from None
