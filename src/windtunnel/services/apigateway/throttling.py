"""Server-side throttling of REST and HTTP APIs: token buckets on the stack's clock.

API Gateway throttles with the token bucket algorithm: a bucket contains at most ``burst``
tokens, refills at ``rate`` tokens per second, and each request takes one token or gets
429 Too Many Requests. A request must pass the limit of its method (REST) or route (HTTP
API) and the account-level limit of 10,000 requests per second with a burst of 5,000,
which bounds every API of the account in the Region. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html

Per-client limits of usage plans live in ``api_keys.py``.

Limitations:
    The stage's default limits (REST ``*/*``, HTTP API ``DefaultRouteSettings``) fill a
    separate bucket for each method or route, not one bucket shared by the stage. The
    account-level limit cannot be raised, as a quota increase would raise it on AWS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["ACCOUNT_LIMIT", "ThrottleLimit", "admit", "http_route_limit",
           "rest_method_limit"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThrottleLimit:
    """The steady-state rate and burst of one token bucket."""

    rate: float
    """Tokens added per second."""
    burst: int
    """The bucket's capacity: the most requests served at one instant."""


# The account-level limit per Region, from "Account-level throttling" in the REST and
# HTTP API throttling pages.
ACCOUNT_LIMIT = ThrottleLimit(rate=10_000.0, burst=5_000)

# Key in ``cloud.service_state``, so that snapshots and resets include the buckets.
_STATE = "apigateway-throttling"
# One lock for every bucket: a request checks several buckets and takes a token from all
# of them or from none.
_LOCK = threading.Lock()

# moto gives a REST method setting that sets other fields than throttling the rate 1000
# and burst 2000, the account-level limit that AWS once had. AWS fills in the current
# account-level limit there, which is what these values stand for.
_MOTO_RATE_PLACEHOLDER = 1000.0
_MOTO_BURST_PLACEHOLDER = 2000


@dataclass
class _Bucket:
    tokens: float
    updated: datetime


BucketKey = tuple[str, ...]


def admit(cloud: Cloud, limits: Sequence[tuple[BucketKey, ThrottleLimit]]) -> bool:
    """Take a token from each bucket and return True, or take none and return False.

    ``limits`` names each bucket and its limit; the account-level bucket is always added.
    """
    now = cloud.authorizer.clock()
    buckets: dict[BucketKey, _Bucket] | None = cloud.service_state.get(_STATE)
    if buckets is None:
        buckets = cloud.service_state.setdefault(_STATE, {})
    checked = [*limits, (("account", cloud.region), ACCOUNT_LIMIT)]

    with _LOCK:
        refilled = [_refill(buckets, key, limit, now) for key, limit in checked]
        if any(bucket.tokens < 1 for bucket in refilled):
            return False
        for bucket in refilled:
            bucket.tokens -= 1
    return True


def _refill(buckets: dict[BucketKey, _Bucket], key: BucketKey, limit: ThrottleLimit,
            now: datetime) -> _Bucket:
    """Return the bucket ``key`` with the tokens that its rate added since its last use.

    A new bucket starts full. A clock that moved back (a restored snapshot) adds nothing.
    """
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = _Bucket(float(limit.burst), now)
        return bucket
    elapsed = max((now - bucket.updated).total_seconds(), 0.0)
    bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
    bucket.updated = now
    return bucket


# --- REST APIs: stage method settings ----------------------------------------------------

def rest_method_limit(api_id: str, stage: Any, resource_path: str, http_method: str
                      ) -> list[tuple[BucketKey, ThrottleLimit]]:
    """Return the bucket and limit that the stage's method settings set for a method.

    A stage's ``methodSettings`` are keyed ``{resource path}/{HTTP method}``, with each
    ``/`` of the path written ``~1`` and the leading one dropped (``~1pets/GET``), and
    ``*/*`` contains the stage's default method throttling. A method's own setting overrides
    the default, and each of rate and burst that neither sets falls back to the
    account-level limit.
    """
    settings: Mapping[str, Any] = getattr(stage, "method_settings", None) or {}
    if not settings:
        return []
    escaped = resource_path.replace("/", "~1") if resource_path != "/" else "~1"
    candidates = [settings.get(f"{escaped}/{http_method.upper()}"),
                  settings.get(f"{escaped}/*"), settings.get("*/*")]
    rate = _first(candidates, "throttlingRateLimit", _MOTO_RATE_PLACEHOLDER)
    burst = _first(candidates, "throttlingBurstLimit", _MOTO_BURST_PLACEHOLDER)
    if rate is None and burst is None:
        return []
    limit = ThrottleLimit(
        rate=float(rate) if rate is not None else ACCOUNT_LIMIT.rate,
        burst=int(burst) if burst is not None else ACCOUNT_LIMIT.burst)
    key = ("rest", api_id, str(stage.name), resource_path, http_method.upper())
    return [(key, limit)]


def _first(candidates: Sequence[Mapping[str, Any] | None], name: str,
           placeholder: float) -> float | None:
    """Return the first value of ``name`` that a setting sets, or None.

    NOTE: moto stores its placeholder when a method setting leaves the field out, so an
    explicit rate of 1000 or burst of 2000 is read as unset, and the account-level value
    (or a less specific setting) applies. A negative value, which AWS uses for "throttling
    off" in a method setting, is also read as unset.
    """
    for setting in candidates:
        if not setting:
            continue
        value = setting.get(name)
        if value is None:
            continue
        number = float(value)
        if number == placeholder or number < 0:
            continue
        return number
    return None


# --- HTTP APIs: stage route settings -----------------------------------------------------

def http_route_limit(api_id: str, stage: Any, route_key: str
                     ) -> list[tuple[BucketKey, ThrottleLimit]]:
    """Return the bucket and limit that the stage's route settings set for a route.

    ``RouteSettings`` for the route key override ``DefaultRouteSettings``, field by field,
    and a field that neither sets falls back to the account-level limit. A burst of 0
    throttles every request.
    """
    default: Mapping[str, Any] = getattr(stage, "default_route_settings", None) or {}
    routes: Mapping[str, Any] = getattr(stage, "route_settings", None) or {}
    candidates = [routes.get(route_key) or {}, default]
    rate = next((setting["throttlingRateLimit"] for setting in candidates
                 if setting.get("throttlingRateLimit") is not None), None)
    burst = next((setting["throttlingBurstLimit"] for setting in candidates
                  if setting.get("throttlingBurstLimit") is not None), None)
    if rate is None and burst is None:
        return []
    limit = ThrottleLimit(
        rate=float(rate) if rate is not None else ACCOUNT_LIMIT.rate,
        burst=int(burst) if burst is not None else ACCOUNT_LIMIT.burst)
    key = ("http", api_id, str(stage.name), route_key)
    return [(key, limit)]
