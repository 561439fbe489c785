"""Lambda event source mappings: pollers that invoke functions with SQS messages and
Kinesis and DynamoDB stream records.

One module per source kind (``sqs``, ``streams`` with ``kinesis`` and ``dynamodb``), and
``pollers`` for the registry that schedules their polls on the virtual clock.
"""

from windtunnel.runtime.event_sources.pollers import EventSourcePollers

__all__ = ["EventSourcePollers"]
