"""Unit tests: ChargePayment's handler called directly against the mock payments API.

The handler maps the API's HTTP statuses to the exceptions the state machine's Retry and
Catch name. Lambda reports an exception's class name as the error type, which Step
Functions takes as the task's error:
https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from checkout.payments import (
    PaymentApiError,
    PaymentDeclined,
    PaymentThrottled,
    charge_payment,
)

pytestmark = pytest.mark.unit

CHARGE = {"orderId": "order-1", "amount": 1150, "currency": "EUR"}


@pytest.fixture
def payments_url(payments: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point PAYMENTS_API_URL at the mock payments API, as the template's parameter does."""
    monkeypatch.setenv("PAYMENTS_API_URL", payments.url + "/")
    return payments


def test_charge_returns_charge_id(payments_url: Any) -> None:
    """A 201 response returns the charge's ID and status."""
    result = charge_payment(CHARGE, None)

    assert result == {"chargeId": "ch_0001", "status": "pending"}
    [request] = payments_url.charge_requests()
    assert request.body == {"amount": 1150, "currency": "EUR", "reference": "order-1"}
    assert request.headers["Idempotency-Key"] == "order-1"
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("status", "exception", "message"), [
    (429, PaymentThrottled,
     "the payments API throttled the charge of order order-1: Too many requests"),
    (402, PaymentDeclined,
     "the payments API declined the charge of order order-1: The card was declined"),
    (500, PaymentApiError,
     "the payments API returned HTTP 500 for the charge of order order-1: "
     "The payments API failed"),
])
def test_error_status_raises(payments_url: Any, status: int, exception: type[Exception],
                             message: str) -> None:
    """Each error status raises the exception that the state machine handles."""
    payments_url.respond_with(status)

    with pytest.raises(exception) as raised:
        charge_payment(CHARGE, None)

    assert str(raised.value) == message
    assert len(payments_url.charge_requests()) == 1


def test_unreachable_api_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection raises PaymentApiError with the URL."""
    # A port that was free a moment ago: nothing listens on it, so connecting fails.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PAYMENTS_API_URL", f"http://127.0.0.1:{port}")

    with pytest.raises(PaymentApiError) as raised:
        charge_payment(CHARGE, None)

    assert str(raised.value).startswith(
        f"the payments API at http://127.0.0.1:{port}/charges could not be reached")
