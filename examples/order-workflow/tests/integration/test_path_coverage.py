"""Integration test: the checkout scenarios take every transition of the state machine.

``stack.stepfunctions.coverage()`` counts the transitions that executions took since the
stack was loaded; ``stack.reset()`` keeps the counts. Each pytest-xdist worker loads its
own stack, so the scenarios run in one module-scoped fixture: whichever worker runs a
test of this module has executed all of them, and the 100% check passes under ``-n``.

Mocked responses follow Step Functions Local's mock configuration: a ``Return`` stands
for the task's result and a ``Throw`` for its error, for each invocation in turn.
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from windtunnel import EmulatedStack

pytestmark = pytest.mark.integration

MACHINE = "CheckoutStateMachine"
FAILURE_PATH = ["ReleaseItems", "PublishOrderFailed", "CheckoutFailed"]

# The response of ChargePayment's Lambda invoke, whose payload the ResultSelector reads.
CHARGED = {"Return": {"StatusCode": 200, "Payload": {"chargeId": "ch_mock",
                                                     "status": "pending"}}}
CONFIRMED = {"Return": {"chargeId": "ch_mock", "status": "succeeded"}}


def _throw(error: str) -> dict[str, Any]:
    return {"Throw": {"Error": error, "Cause": f"mocked {error}"}}


@dataclass(frozen=True)
class Scenario:
    """One way through the checkout: the mocks that steer it and where it must end."""

    mocks: dict[str, Any]
    status: str
    path: list[str]
    error: str | None = None
    order: dict[str, Any] = field(default_factory=lambda: {
        "orderId": "order-coverage", "customerId": "customer-1", "currency": "EUR",
        "items": [{"sku": "PEN", "quantity": 1, "unitPrice": 175}]})


SCENARIOS = {
    "completed": Scenario(
        mocks={"ChargePayment": CHARGED, "AwaitConfirmation": CONFIRMED},
        status="SUCCEEDED",
        path=["ReserveItems", "ChargePayment", "AwaitConfirmation", "PublishOrderCompleted"]),
    "throttled once": Scenario(
        mocks={"ChargePayment": [_throw("PaymentThrottled"), CHARGED],
               "AwaitConfirmation": CONFIRMED},
        status="SUCCEEDED",
        path=["ReserveItems", "ChargePayment", "AwaitConfirmation", "PublishOrderCompleted"]),
    "declined": Scenario(
        mocks={"ChargePayment": _throw("PaymentDeclined")},
        status="FAILED", error="PaymentDeclined",
        path=["ReserveItems", "ChargePayment", *FAILURE_PATH]),
    "retries exhausted": Scenario(
        mocks={"ChargePayment": _throw("PaymentThrottled")},
        status="FAILED", error="PaymentThrottled",
        path=["ReserveItems", "ChargePayment", *FAILURE_PATH]),
    "confirmation timed out": Scenario(
        mocks={"ChargePayment": CHARGED, "AwaitConfirmation": _throw("States.Timeout")},
        status="FAILED", error="States.Timeout",
        path=["ReserveItems", "ChargePayment", "AwaitConfirmation", *FAILURE_PATH]),
    "confirmation rejected": Scenario(
        mocks={"ChargePayment": CHARGED, "AwaitConfirmation": _throw("PaymentRejected")},
        status="FAILED", error="PaymentRejected",
        path=["ReserveItems", "ChargePayment", "AwaitConfirmation", *FAILURE_PATH]),
}


@pytest.fixture(scope="module")
def scenario_results(windtunnel_stack: EmulatedStack) -> dict[str, Any]:
    """Run every scenario once on this worker's stack and return the results by name."""
    results = {}
    for number, (name, scenario) in enumerate(SCENARIOS.items()):
        # ReserveItems is not mocked, so each execution needs an order of its own.
        order = {**scenario.order, "orderId": f"order-coverage-{number}"}
        results[name] = windtunnel_stack.stepfunctions.execute(MACHINE, order,
                                                               mocks=scenario.mocks)
    return results


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_path(scenario_results: dict[str, Any], name: str) -> None:
    """Each scenario ends with its status and error, through its states."""
    scenario = SCENARIOS[name]
    result = scenario_results[name]

    assert result.status == scenario.status
    assert result.error == scenario.error
    assert result.path == scenario.path


def test_every_transition_taken(stack: EmulatedStack,
                                scenario_results: dict[str, Any]) -> None:
    """The scenarios take all transitions of the checkout, retries and catches included."""
    machine_name = stack.stepfunctions.arn(MACHINE).rsplit(":", 1)[-1]

    report = stack.stepfunctions.coverage()

    [checkout] = [machine for machine in report.machines if machine.name == machine_name]
    assert checkout.missed_edges == [], report.text()
    assert checkout.percent == 100.0
    assert all(checkout.states.values()), report.text()
    # The graph: the start, six Next and End transitions, one retry and four catches.
    assert len(checkout.edges) == 12, checkout.mermaid()
