"""Integration tests: checkout executions against the local stack and the mock payments API.

Each test runs the state machine through ``stack.stepfunctions``, on the stack's virtual
clock, with the real handlers. The payments API is the mock server of conftest.py, or
``mocks=`` replaces a state's work as Step Functions Local's mocked responses do.

The expected behavior comes from AWS's documentation:
- a Lambda function's exception class is the task's error name:
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
- Retry waits IntervalSeconds, then multiplies the interval by BackoffRate, for at most
  MaxAttempts retries; Catch sets the error output (Error, Cause) at its ResultPath:
  https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
- a task that waits for a task token fails with States.Timeout after TimeoutSeconds, and
  SendTaskSuccess's output or SendTaskFailure's error completes it:
  https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
- a Fail state's ErrorPath and CausePath set the execution's error and cause:
  https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.integration

MACHINE = "CheckoutStateMachine"
FAILURE_PATH = ["ReleaseItems", "PublishOrderFailed", "CheckoutFailed"]


def _reservation(stack: EmulatedStack, order_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = stack.client("dynamodb").get_item(
        TableName=stack.outputs["ReservationsTableName"],
        Key={"orderId": {"S": order_id}}, ConsistentRead=True,
    ).get("Item")
    return item


def _confirmation(stack: EmulatedStack, charge_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = stack.client("dynamodb").get_item(
        TableName=stack.outputs["ConfirmationsTableName"],
        Key={"chargeId": {"S": charge_id}}, ConsistentRead=True,
    ).get("Item")
    return item


def _scheduled_times(history: list[dict[str, Any]], state_name: str) -> list[float]:
    """Return the virtual times (epoch seconds) at which ``state_name``'s task was scheduled.

    A retry schedules the task again inside the same state, with no new state entry.
    """
    times = []
    current_state = None
    for event in history:
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            current_state = entered["name"]
        elif event["type"] == "TaskScheduled" and current_state == state_name:
            times.append(event["timestamp"])
    return times


def _intervals(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def _webhook(stack: EmulatedStack, charge_id: str, status: str,
             reason: str | None = None) -> dict[str, Any]:
    """Invoke ConfirmPayment as the payments provider's webhook would, and return its result."""
    notification: dict[str, Any] = {"chargeId": charge_id, "status": status}
    if reason is not None:
        notification["failureReason"] = reason
    payload: dict[str, Any] = stack.invoke("ConfirmPayment", notification) \
        .raise_for_error().payload
    return payload


# --- the happy path ---------------------------------------------------------------------


def test_checkout_waits_then_completes(stack: EmulatedStack, payments: Any,
                                       order: dict[str, Any]) -> None:
    """The checkout charges, waits for the webhook, and succeeds once the charge is confirmed."""
    execution = stack.stepfunctions.start(MACHINE, order)

    waiting = stack.stepfunctions.result(execution.arn)
    assert waiting.status == "RUNNING"
    assert waiting.path == ["ReserveItems", "ChargePayment", "AwaitConfirmation"]

    [charge] = payments.charge_requests()
    assert charge.body == {"amount": 1150, "currency": "EUR", "reference": order["orderId"]}
    assert charge.headers["Idempotency-Key"] == order["orderId"]
    stored = _confirmation(stack, "ch_0001")
    assert stored is not None
    assert stored["orderId"] == {"S": order["orderId"]}
    assert stored["taskToken"]["S"]

    assert _webhook(stack, "ch_0001", "succeeded") == {"chargeId": "ch_0001",
                                                        "accepted": True}

    result = stack.stepfunctions.result(waiting.execution_arn)
    assert result.status == "SUCCEEDED"
    assert result.path == ["ReserveItems", "ChargePayment", "AwaitConfirmation",
                           "PublishOrderCompleted"]
    assert result.output["payment"] == {"chargeId": "ch_0001"}
    assert result.output["confirmation"] == {"chargeId": "ch_0001", "status": "succeeded"}
    assert result.output["reservation"]["amount"] == 1150
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["status"] == {"S": "RESERVED"}
    assert _confirmation(stack, "ch_0001") is None


def test_order_completed_event(stack: EmulatedStack, payments: Any,
                               order: dict[str, Any]) -> None:
    """A completed checkout puts an Order Completed event with the order's detail on the bus.

    The optimized PutEvents integration sends the Detail object as JSON text:
    https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html
    """
    arn = stack.stepfunctions.start(MACHINE, order).arn
    _webhook(stack, "ch_0001", "succeeded")
    assert stack.stepfunctions.result(arn).status == "SUCCEEDED"

    completed = stack.events.published(
        "CheckoutBus", {"source": ["checkout"], "detail-type": ["Order Completed"]})

    assert completed, "no Order Completed event was put on CheckoutBus"
    event = completed[0]
    assert event["detail"] == {"orderId": order["orderId"], "customerId": "customer-1",
                               "amount": 1150, "currency": "EUR", "chargeId": "ch_0001"}
    assert event["resources"] == []
    assert stack.events.published("CheckoutBus", detail_type="Order Failed") == []


def test_one_event_per_checkout(stack: EmulatedStack, payments: Any,
                                order: dict[str, Any]) -> None:
    """One completed checkout puts exactly one event on the bus."""
    arn = stack.stepfunctions.start(MACHINE, order).arn
    _webhook(stack, "ch_0001", "succeeded")
    assert stack.stepfunctions.result(arn).status == "SUCCEEDED"

    assert len(stack.events.published("CheckoutBus")) == 1


# --- a declined payment -----------------------------------------------------------------


def test_declined_by_api_releases(stack: EmulatedStack, payments: Any,
                                  order: dict[str, Any]) -> None:
    """HTTP 402 fails the checkout with PaymentDeclined, at once, and releases the items."""
    payments.respond_with(402)

    result = stack.stepfunctions.execute(MACHINE, order)

    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined"
    assert result.cause is not None
    assert json.loads(result.cause)["errorMessage"] == (
        f"the payments API declined the charge of order {order['orderId']}: "
        f"The card was declined")
    assert result.path == ["ReserveItems", "ChargePayment", *FAILURE_PATH]
    # Only PaymentThrottled is retried.
    assert len(payments.charge_requests()) == 1
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["status"] == {"S": "RELEASED"}
    assert reservation["releaseReason"] == {"S": "PaymentDeclined"}
    [failed] = stack.events.published("CheckoutBus", detail_type="Order Failed")[:1]
    assert failed["detail"] == {"orderId": order["orderId"], "customerId": "customer-1",
                                "error": "PaymentDeclined"}


def test_declined_by_mock_releases(stack: EmulatedStack, payments: Any,
                                   order: dict[str, Any]) -> None:
    """A mocked PaymentDeclined takes the same path, and the payments API gets no request."""
    result = stack.stepfunctions.execute(MACHINE, order, mocks={
        "ChargePayment": {"Throw": {"Error": "PaymentDeclined",
                                    "Cause": "insufficient funds"}},
    })

    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined"
    assert result.cause == "insufficient funds"
    assert result.path == ["ReserveItems", "ChargePayment", *FAILURE_PATH]
    assert payments.charge_requests() == []
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["status"] == {"S": "RELEASED"}


# --- throttling and retries -------------------------------------------------------------


def test_throttled_charge_is_retried(stack: EmulatedStack, payments: Any,
                                     order: dict[str, Any]) -> None:
    """Two 429 responses are retried after 2 and 4 virtual seconds, and the third call charges."""
    payments.respond_with(429, 429, 201)

    arn = stack.stepfunctions.start(MACHINE, order).arn
    # start() returns at the first wait, the 2-second retry interval, so the test moves the
    # clock through both intervals.
    stack.clock.advance(2)
    stack.clock.advance(4)
    waiting = stack.stepfunctions.result(arn)

    assert waiting.status == "RUNNING"
    assert waiting.path == ["ReserveItems", "ChargePayment", "AwaitConfirmation"]
    assert len(payments.charge_requests()) == 3
    failures = [event for event in waiting.events("TaskFailed")
                if event["taskFailedEventDetails"]["error"] == "PaymentThrottled"]
    assert len(failures) == 2
    assert _intervals(_scheduled_times(waiting.history, "ChargePayment")) == [2.0, 4.0]

    _webhook(stack, "ch_0001", "succeeded")
    assert stack.stepfunctions.result(arn).status == "SUCCEEDED"


def test_retries_exhausted_by_api(stack: EmulatedStack, payments: Any,
                                  order: dict[str, Any]) -> None:
    """Four 429 responses, 2, 4 and 8 virtual seconds apart, fail the checkout."""
    payments.respond_with(429)

    result = stack.stepfunctions.execute(MACHINE, order)

    assert result.status == "FAILED"
    assert result.error == "PaymentThrottled"
    assert result.path == ["ReserveItems", "ChargePayment", *FAILURE_PATH]
    assert len(payments.charge_requests()) == 4
    assert _intervals(_scheduled_times(result.history, "ChargePayment")) == [2.0, 4.0, 8.0]
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["releaseReason"] == {"S": "PaymentThrottled"}


def test_retries_exhausted_by_mock(stack: EmulatedStack, payments: Any,
                                   order: dict[str, Any]) -> None:
    """A mock that always throws PaymentThrottled is tried four times, then caught."""
    result = stack.stepfunctions.execute(MACHINE, order, mocks={
        "ChargePayment": {"Throw": {"Error": "PaymentThrottled", "Cause": "rate limited"}},
    })

    assert result.status == "FAILED"
    assert result.error == "PaymentThrottled"
    assert result.cause == "rate limited"
    assert len(result.events("TaskFailed")) == 4
    assert result.path == ["ReserveItems", "ChargePayment", *FAILURE_PATH]
    assert payments.charge_requests() == []


# --- the confirmation -------------------------------------------------------------------


def test_confirmation_times_out(stack: EmulatedStack, payments: Any,
                                order: dict[str, Any]) -> None:
    """With no webhook, the 300-second wait ends in States.Timeout in milliseconds."""
    clock_before = stack.clock.now()
    wall_before = time.perf_counter()

    result = stack.stepfunctions.execute(MACHINE, order)

    wall_seconds = time.perf_counter() - wall_before
    virtual_seconds = (stack.clock.now() - clock_before).total_seconds()
    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert result.path == ["ReserveItems", "ChargePayment", "AwaitConfirmation",
                           *FAILURE_PATH]
    [submitted] = result.events("TaskSubmitted")
    [timed_out] = result.events("TaskTimedOut")
    assert timed_out["timestamp"] - submitted["timestamp"] == 300.0
    assert virtual_seconds >= 300.0
    assert wall_seconds < 2.0, f"the 5-minute wait took {wall_seconds:.2f} s of wall time"
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["releaseReason"] == {"S": "States.Timeout"}
    [failed] = stack.events.published("CheckoutBus", detail_type="Order Failed")[:1]
    assert failed["detail"]["error"] == "States.Timeout"


def test_confirmation_timeout_by_mock(stack: EmulatedStack, payments: Any,
                                      order: dict[str, Any]) -> None:
    """A mocked States.Timeout skips the wait and RequestConfirmation, and releases the items."""
    result = stack.stepfunctions.execute(MACHINE, order, mocks={
        "AwaitConfirmation": {"Throw": {"Error": "States.Timeout", "Cause": ""}},
    })

    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert result.path == ["ReserveItems", "ChargePayment", "AwaitConfirmation",
                           *FAILURE_PATH]
    assert len(payments.charge_requests()) == 1
    assert _confirmation(stack, "ch_0001") is None
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["status"] == {"S": "RELEASED"}


def test_rejected_confirmation_releases(stack: EmulatedStack, payments: Any,
                                        order: dict[str, Any]) -> None:
    """A failed charge reported by the webhook fails the checkout with PaymentRejected."""
    arn = stack.stepfunctions.start(MACHINE, order).arn

    webhook_result = _webhook(stack, "ch_0001", "failed",
                              reason="3-D Secure authentication failed")

    assert webhook_result == {"chargeId": "ch_0001", "accepted": True}
    result = stack.stepfunctions.result(arn)
    assert result.status == "FAILED"
    assert result.error == "PaymentRejected"
    assert result.cause == "3-D Secure authentication failed"
    assert result.path == ["ReserveItems", "ChargePayment", "AwaitConfirmation",
                           *FAILURE_PATH]
    reservation = _reservation(stack, order["orderId"])
    assert reservation is not None
    assert reservation["releaseReason"] == {"S": "PaymentRejected"}
