"""End-to-end tests of the onItemAdded subscription: in process and over WebSocket.

Sources:
- https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-data.html
  (``@aws_subscribe``: each addItem result is published to the onItemAdded subscribers)
- https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-enhanced-filtering.html
  (the response template's filter decides which results a subscriber gets)
- https://docs.aws.amazon.com/appsync/latest/devguide/real-time-websocket-client.html
  (the real-time protocol: the base64 ``header`` parameter, ``connection_init``,
  ``start`` with ``extensions.authorization``, ``start_ack``, ``data``)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from websockets.sync.client import connect
from windtunnel import EmulatedStack, GraphqlSubscriptionError

pytestmark = pytest.mark.e2e

ON_ITEM_ADDED = ("subscription Follow($userId: ID!) { onItemAdded(userId: $userId) "
                 "{ userId sku quantity } }")
ADD_ITEM = ("mutation Add($userId: ID!, $sku: String!, $quantity: Int!) { addItem(userId: "
            "$userId, sku: $sku, quantity: $quantity, price: 2.5) { userId sku quantity } }")


def add(stack: EmulatedStack, token: str, user_id: str, sku: str, quantity: int = 1) -> None:
    response = stack.graphql(ADD_ITEM, {"userId": user_id, "sku": sku, "quantity": quantity},
                             headers={"Authorization": token})
    assert "errors" not in response.json(), response.text


def test_owner_follows_own_cart(stack: EmulatedStack, sign_in: Callable[[str], str],
                                user_id: str) -> None:
    """A signed-in user gets the lines added to their cart, not to another user's."""
    owner = sign_in(user_id)
    other_id = f"{user_id}-other"
    other = sign_in(other_id)

    with stack.graphql.subscribe(ON_ITEM_ADDED, {"userId": user_id},
                                 headers={"Authorization": owner}) as subscription:
        add(stack, other, other_id, "INK")
        add(stack, owner, user_id, "PEN", 2)

        assert subscription.next() == {"data": {"onItemAdded": {
            "userId": user_id, "sku": "PEN", "quantity": 2}}}
        assert subscription.pending() == []


def test_user_cannot_follow_other_cart(stack: EmulatedStack, sign_in: Callable[[str], str],
                                          user_id: str) -> None:
    """The subscription resolver rejects a signed-in user who follows someone else."""
    token = sign_in(user_id)

    with pytest.raises(GraphqlSubscriptionError) as rejected:
        stack.graphql.subscribe(ON_ITEM_ADDED, {"userId": "someone-else"},
                                headers={"Authorization": token})

    assert rejected.value.errors[0]["errorType"] == "Unauthorized"


def test_back_office_follows_over_websocket(stack: EmulatedStack, api_key: str,
                                            sign_in: Callable[[str], str],
                                            user_id: str) -> None:
    """An API key client follows a cart over the real-time endpoint's WebSocket."""
    stack.serve()
    host = stack.outputs["GraphQLUrl"].split("/")[2]
    authorization = {"x-api-key": api_key, "host": host}
    header = base64.b64encode(json.dumps(authorization).encode()).decode()
    url = f"{stack.outputs['RealtimeUrl']}?header={header}&payload=e30="

    with connect(url, subprotocols=["graphql-ws"], open_timeout=10) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(socket.recv(timeout=5))["type"] == "connection_ack"
        data = json.dumps({"query": ON_ITEM_ADDED, "variables": {"userId": user_id}})
        socket.send(json.dumps({"id": "follow-1", "type": "start", "payload": {
            "data": data, "extensions": {"authorization": authorization}}}))
        messages = [json.loads(socket.recv(timeout=5)) for _ in range(2)]
        add(stack, sign_in(user_id), user_id, "PAD", 3)
        delivered = json.loads(socket.recv(timeout=5))

    assert [message["type"] for message in messages] == ["ka", "start_ack"]
    assert delivered == {"id": "follow-1", "type": "data", "payload": {"data": {
        "onItemAdded": {"userId": user_id, "sku": "PAD", "quantity": 3}}}}
