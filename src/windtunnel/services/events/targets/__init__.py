"""Delivery of matched events to a rule's targets: target input, retries, dead-letter queues."""
