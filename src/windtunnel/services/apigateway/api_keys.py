"""API keys and usage plans of REST API methods: the key, the plan, throttling and quota.

A method with ``apiKeyRequired`` needs an enabled API key (from the ``x-api-key`` header, or
from the Lambda authorizer's ``usageIdentifierKey`` when the API's key source is
``AUTHORIZER``) that belongs to a usage plan covering the API's stage. The plan's throttle
is a token bucket (``rateLimit`` requests per second, ``burstLimit`` tokens). Its quota
counts requests per day, week or month. Both run on the stack's clock. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
(API_KEY/INVALID_API_KEY 403 Forbidden, THROTTLED 429, QUOTA_EXCEEDED 429 Limit Exceeded)

Stage, method and account-level throttling live in ``throttling.py``.

Limitations: quota periods start at midnight UTC (week on Monday, month on the 1st) and the
``offset`` of a quota is not applied.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.dataplane import DataPlaneRequest

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["ApiKeyRejection", "check_api_key"]

_STATE = "apigateway-usage"
# The endpoint serves requests on several threads, which share the buckets and counts.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ApiKeyRejection:
    """The response that API Gateway returns when the key, throttle or quota stops a request."""

    status: int
    error_type: str
    message: str


@dataclass
class _Bucket:
    tokens: float
    updated: datetime


@dataclass
class _Usage:
    buckets: dict[tuple[str, str], _Bucket]
    counts: dict[tuple[str, str, str], int]


def _forbidden() -> ApiKeyRejection:
    return ApiKeyRejection(403, "ForbiddenException", "Forbidden")


def _enabled(key: Any) -> bool:
    return key.enabled is True or str(key.enabled).lower() == "true"


def check_api_key(cloud: Cloud, api: Any, api_id: str, stage: str, request: DataPlaneRequest,
                  usage_identifier_key: str | None) -> ApiKeyRejection | None:
    """Return why API Gateway stops a request to a method that requires an API key."""
    from moto.apigateway.models import apigateway_backends

    backend = apigateway_backends[cloud.account_id][cloud.region]
    source = str(getattr(api, "api_key_source", None) or "HEADER").upper()
    value = usage_identifier_key if source == "AUTHORIZER" else request.header("x-api-key")
    if not value:
        return _forbidden()
    key = next((key for key in backend.keys.values() if key.value == value), None)
    if key is None or not _enabled(key):
        return _forbidden()
    plan = next((plan for plan_id, plan in backend.usage_plans.items()
                 if key.id in backend.usage_plan_keys.get(plan_id, {})
                 and _covers(plan, api_id, stage)), None)
    if plan is None:
        return _forbidden()

    usage: _Usage = cloud.service_state.setdefault(_STATE, _Usage({}, {}))
    now = cloud.authorizer.clock()
    with _LOCK:
        throttled = _take_token(usage, plan, key.id, now)
        if throttled is not None:
            return throttled
        return _count_quota(usage, plan, key.id, now)


def _covers(plan: Any, api_id: str, stage: str) -> bool:
    return any(entry.get("apiId") == api_id and entry.get("stage") == stage
               for entry in plan.api_stages or [])


def _take_token(usage: _Usage, plan: Any, key_id: str,
                now: datetime) -> ApiKeyRejection | None:
    throttle = plan.throttle or {}
    rate: Any = throttle.get("rateLimit")
    burst: Any = throttle.get("burstLimit")
    if rate is None and burst is None:
        return None
    per_second = float(rate if rate is not None else burst)
    capacity = float(burst) if burst is not None else max(per_second, 1.0)
    bucket = usage.buckets.get((plan.id, key_id))
    if bucket is None:
        bucket = usage.buckets[(plan.id, key_id)] = _Bucket(capacity, now)
    elapsed = max((now - bucket.updated).total_seconds(), 0.0)
    bucket.tokens = min(capacity, bucket.tokens + elapsed * per_second)
    bucket.updated = now
    if bucket.tokens < 1:
        return ApiKeyRejection(429, "TooManyRequestsException", "Too Many Requests")
    bucket.tokens -= 1
    return None


def _count_quota(usage: _Usage, plan: Any, key_id: str,
                 now: datetime) -> ApiKeyRejection | None:
    quota = plan.quota or {}
    limit = quota.get("limit")
    if limit is None:
        return None
    period = str(quota.get("period") or "DAY").upper()
    window = (plan.id, key_id, _period_start(now, period).isoformat())
    used = usage.counts.get(window, 0)
    if used >= int(limit):
        return ApiKeyRejection(429, "LimitExceededException", "Limit Exceeded")
    usage.counts[window] = used + 1
    return None


def _period_start(now: datetime, period: str) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "WEEK":
        return day - timedelta(days=day.weekday())
    if period == "MONTH":
        return day.replace(day=1)
    return day
