"""Lambda handler that charges an order through the external payments API."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# Seconds to wait for the payments API, well under the function's 10-second timeout.
_REQUEST_TIMEOUT = 5


class PaymentThrottled(Exception):
    """The payments API rejected the request with HTTP 429, which the state machine retries."""


class PaymentDeclined(Exception):
    """The payments API declined the charge with HTTP 402."""


class PaymentApiError(Exception):
    """The payments API could not be reached or returned an unexpected status."""


def charge_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Create a charge of ``amount`` (minor units) in ``currency`` for ``orderId``.

    POSTs JSON to ``$PAYMENTS_API_URL/charges`` with the order ID as the idempotency key,
    so a retried request cannot charge twice. Returns the charge's ID and status.
    """
    order_id = str(event["orderId"])
    url = os.environ["PAYMENTS_API_URL"].rstrip("/") + "/charges"
    body = json.dumps({"amount": event["amount"], "currency": event["currency"],
                       "reference": order_id}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": order_id})

    try:
        with urllib.request.urlopen(request, timeout=_REQUEST_TIMEOUT) as response:
            charge = json.loads(response.read())
    except urllib.error.HTTPError as error:
        reason = _error_message(error)
        if error.code == 429:
            logger.warning("payments API throttled the charge of order %s", order_id)
            raise PaymentThrottled(f"the payments API throttled the charge of order "
                                   f"{order_id}: {reason}") from None
        if error.code == 402:
            logger.info("payments API declined the charge of order %s: %s", order_id, reason)
            raise PaymentDeclined(f"the payments API declined the charge of order "
                                  f"{order_id}: {reason}") from None
        raise PaymentApiError(f"the payments API returned HTTP {error.code} for the charge "
                              f"of order {order_id}: {reason}") from None
    except urllib.error.URLError as error:
        raise PaymentApiError(f"the payments API at {url} could not be reached: "
                              f"{error.reason}") from None

    logger.info("charge %s created for order %s", charge["id"], order_id)
    return {"chargeId": charge["id"], "status": charge["status"]}


def _error_message(error: urllib.error.HTTPError) -> str:
    """Return the ``message`` of a JSON error body, or the HTTP reason phrase."""
    try:
        body = json.loads(error.read())
    except ValueError:
        return str(error.reason)
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else str(error.reason)
