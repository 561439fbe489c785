"""Lambda handlers for the payment confirmation: store the task token, then complete it."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# Created once per execution environment, as Lambda reuses it between invocations.
_dynamodb = boto3.resource("dynamodb")
_stepfunctions = boto3.client("stepfunctions")

# The errors SendTaskSuccess and SendTaskFailure return for a task that has ended, or a
# token that is not valid.
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
_CLOSED_TASK_ERRORS = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


def request_confirmation(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Store the task token of a charge until the provider confirms or rejects it.

    The checkout's AwaitConfirmation state invokes this with ``orderId``, ``chargeId``
    and ``taskToken``, and then waits until ``confirm_payment`` completes the token.
    """
    table = _dynamodb.Table(os.environ["CONFIRMATIONS_TABLE"])
    table.put_item(Item={"chargeId": str(event["chargeId"]),
                         "orderId": str(event["orderId"]),
                         "taskToken": str(event["taskToken"])})
    logger.info("charge %s of order %s awaits confirmation", event["chargeId"],
                event["orderId"])
    return {"chargeId": event["chargeId"], "status": "AWAITING_CONFIRMATION"}


def confirm_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Complete the checkout task waiting for a charge, as the provider's webhook reports it.

    The event is the provider's notification: ``chargeId`` and ``status`` ("succeeded" or
    "failed"), with a ``failureReason`` for a failed charge. A succeeded charge sends
    SendTaskSuccess, a failed one SendTaskFailure with the error ``PaymentRejected``.
    Returns whether a waiting task took the notification.
    """
    charge_id = str(event["chargeId"])
    status = event.get("status")
    if status not in ("succeeded", "failed"):
        raise ValueError(f"the status of charge {charge_id} must be 'succeeded' or "
                         f"'failed', not {status!r}")

    table = _dynamodb.Table(os.environ["CONFIRMATIONS_TABLE"])
    stored = table.get_item(Key={"chargeId": charge_id}, ConsistentRead=True).get("Item")
    if stored is None:
        logger.warning("no checkout awaits charge %s, so the notification is ignored", charge_id)
        return {"chargeId": charge_id, "accepted": False, "reason": "UnknownCharge"}

    try:
        if status == "succeeded":
            _stepfunctions.send_task_success(
                taskToken=stored["taskToken"],
                output=json.dumps({"chargeId": charge_id, "status": status}))
        else:
            _stepfunctions.send_task_failure(
                taskToken=stored["taskToken"], error="PaymentRejected",
                cause=str(event.get("failureReason") or "the provider rejected the charge"))
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code not in _CLOSED_TASK_ERRORS:
            raise
        # The checkout stopped waiting (it timed out, say), so the token is of no use.
        logger.warning("the checkout of charge %s no longer waits: %s", charge_id, code)
        table.delete_item(Key={"chargeId": charge_id})
        return {"chargeId": charge_id, "accepted": False, "reason": code}

    table.delete_item(Key={"chargeId": charge_id})
    logger.info("charge %s %s, and its checkout continues", charge_id, status)
    return {"chargeId": charge_id, "accepted": True}
