"""The EventBridge event-pattern language: validation, matching and an index of rules.

The implementation lives in the ``patterns_*`` modules beside this one:

- ``patterns_errors``: ``InvalidEventPatternError`` with AWS's message.
- ``patterns_compile``: validation with ruler's messages, and ``$or`` expansion.
- ``patterns_matchers``: one matcher class per operator.
- ``patterns_match``: event flattening and array-consistent matching.
- ``patterns_index``: ``PatternIndex``, a tree over the exact values of many rules that
  finds the ones an event matches.

Limitations compared with EventBridge:

- Rejection of wildcard patterns that are too complex is not implemented.
- A pattern that is not JSON gets a message of this module's own, not Jackson's text.
"""

from windtunnel.services.events.patterns_errors import InvalidEventPatternError
from windtunnel.services.events.patterns_index import PatternIndex
from windtunnel.services.events.patterns_match import (
    Pattern,
    compile_pattern,
    flatten_event,
    matches,
)

__all__ = [
    "InvalidEventPatternError",
    "Pattern",
    "PatternIndex",
    "compile_pattern",
    "flatten_event",
    "matches",
]
