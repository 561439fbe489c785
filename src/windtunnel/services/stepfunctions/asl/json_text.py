"""JSON text as Step Functions writes it in outputs and history: compact, UTF-8."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["from_json", "size_in_bytes", "to_json"]


def to_json(value: Any) -> str:
    """Serialize ``value`` without spaces, as execution outputs and history events are."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> Any:
    """Parse JSON text; ValueError if it is not valid JSON."""
    return json.loads(text)


def size_in_bytes(text: str) -> int:
    """The size of ``text`` in UTF-8, which the payload quota counts."""
    return len(text.encode("utf-8"))
