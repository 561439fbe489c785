"""AMAZON_DYNAMODB data sources: AppSync's DynamoDB request documents as DynamoDB calls.

Source: https://docs.aws.amazon.com/appsync/latest/devguide/resolver-mapping-template-reference-dynamodb.html
and its pages on each operation (GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan,
BatchGetItem, BatchPutItem, BatchDeleteItem, TransactGetItems, TransactWriteItems), on
condition expressions and on type system (request and response mapping).

Results are plain JSON: typed attribute values become strings, numbers, booleans, lists
and maps, as AppSync converts them for the response template. A failed call raises
DataSourceError with the type ``DynamoDB:{error code}`` and the message AppSync forms
from the SDK's error: ``{message} (Service: DynamoDb, Status Code: {status}, Request ID:
{request id})``.

Limitations:
- When a condition check fails, AppSync compares the current item with the one the
  request would have written and reports success when they match. windtunnel does this for
  PutItem (without the ``equalsIgnore`` attributes) and DeleteItem (no current item), not
  for UpdateItem, whose resulting item it would have to compute.
- ``conditionalCheckFailedHandler`` with the ``Custom`` strategy (a Lambda function that
  decides) and versioned data sources (``_version``, conflict detection) are not emulated
  and raise an error that names them.
- ``nextToken`` is base64 JSON of DynamoDB's ``LastEvaluatedKey``; AppSync's tokens are
  opaque and encrypted.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from windtunnel.services.appsync.datasources import DataSourceError

__all__ = ["call_dynamodb", "from_attribute_value"]

logger = logging.getLogger(__name__)


def _wire_value(value: Any) -> Any:
    """Turn an attribute value of a mapping document into DynamoDB's wire form.

    Mapping templates may write numbers as JSON numbers (``{"N": 1}``); DynamoDB takes
    them as strings. Binary values stay base64 text, which botocore decodes.
    """
    if isinstance(value, Mapping):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if key == "N" and not isinstance(item, str) and not isinstance(item, bool):
                converted[key] = _number_text(item)
            elif key == "NS" and isinstance(item, list):
                converted[key] = [_number_text(number) for number in item]
            elif key == "B" and isinstance(item, str):
                converted[key] = _decode_binary(item)
            elif key == "BS" and isinstance(item, list):
                converted[key] = [_decode_binary(str(binary)) for binary in item]
            else:
                converted[key] = _wire_value(item)
        return converted
    if isinstance(value, list):
        return [_wire_value(item) for item in value]
    return value


def _number_text(number: Any) -> str:
    if isinstance(number, float) and number.is_integer():
        return repr(number)
    return str(number)


def _decode_binary(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        raise DataSourceError(f"The binary value {text!r} is not valid base64.",
                              "DynamoDB:ValidationException") from None


def _attributes(mapping: Any) -> dict[str, Any]:
    """Convert a ``key`` or ``attributeValues`` member to attribute values in wire form."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise DataSourceError("Expected a map of attribute values.", "MappingTemplate")
    return {str(name): _wire_value(value) for name, value in mapping.items()}


def from_attribute_value(value: Mapping[str, Any]) -> Any:
    """Convert one DynamoDB attribute value to the plain value that templates read."""
    kind, item = next(iter(value.items()))
    if kind == "S":
        return item
    if kind == "N":
        return _number(item)
    if kind == "BOOL":
        return bool(item)
    if kind == "NULL":
        return None
    if kind == "B":
        return base64.b64encode(item).decode("ascii")
    if kind == "M":
        return {name: from_attribute_value(member) for name, member in item.items()}
    if kind == "L":
        return [from_attribute_value(member) for member in item]
    if kind == "SS":
        return list(item)
    if kind == "NS":
        return [_number(number) for number in item]
    if kind == "BS":
        return [base64.b64encode(binary).decode("ascii") for binary in item]
    raise DataSourceError(f"Unknown attribute value type {kind}.", "DynamoDB:Unknown")


def _number(text: Any) -> int | float:
    number = Decimal(str(text))
    if number == number.to_integral_value() and "." not in str(text) and "e" not in \
            str(text).lower():
        return int(number)
    return float(number)


def _item(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {name: from_attribute_value(value) for name, value in item.items()}


def _expression(parameters: dict[str, Any], member: Any, expression_key: str) -> None:
    """Copy an expression member (``expression``, names, values) into API parameters."""
    if member is None:
        return
    if not isinstance(member, Mapping) or "expression" not in member:
        raise DataSourceError(f"The {expression_key} must have an expression.",
                              "MappingTemplate")
    parameters[expression_key] = str(member["expression"])
    names = member.get("expressionNames")
    if names:
        parameters.setdefault("ExpressionAttributeNames", {}).update(names)
    values = member.get("expressionValues")
    if values:
        parameters.setdefault("ExpressionAttributeValues", {}).update(_attributes(values))


def _encode_token(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    plain = {name: _plain_wire(value) for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode("ascii")


def _plain_wire(value: Any) -> Any:
    """Make a botocore attribute value JSON-serializable (bytes as base64)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _plain_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_wire(item) for item in value]
    return value


def _decode_token(token: Any) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token)))
    except (binascii.Error, ValueError):
        raise DataSourceError("The nextToken is not valid.",
                              "DynamoDB:ValidationException") from None
    if not isinstance(decoded, dict):
        raise DataSourceError("The nextToken is not valid.", "DynamoDB:ValidationException")
    return _attributes(decoded)


def _table(data_source: Mapping[str, Any]) -> str:
    config = data_source.get("dynamodbConfig") or {}
    if config.get("versioned"):
        raise DataSourceError("Versioned DynamoDB data sources (conflict detection and "
                              "_version) are not supported by the emulation.",
                              "UnsupportedOperation")
    return str(config.get("tableName", ""))


def _client_error(error: Any) -> DataSourceError:
    response = error.response
    details = response.get("Error", {})
    metadata = response.get("ResponseMetadata", {})
    code = str(details.get("Code", "Unknown"))
    message = (f"{details.get('Message', '')} (Service: DynamoDb, Status Code: "
               f"{metadata.get('HTTPStatusCode', 400)}, Request ID: "
               f"{metadata.get('RequestId', '')})")
    data: object = None
    if code == "TransactionCanceledException":
        reasons = [{"type": reason.get("Code", "None"), "message": reason.get("Message")}
                   for reason in response.get("CancellationReasons", [])]
        data = {"keys": None, "cancellationReasons": reasons}
    return DataSourceError(message, f"DynamoDB:{code}", data)


def call_dynamodb(client: Any, data_source: Mapping[str, Any],
                  document: Mapping[str, Any]) -> object:
    """Run the operation of a DynamoDB request mapping document and return its result."""
    from botocore.exceptions import ClientError, ParamValidationError

    operation = str(document.get("operation", ""))
    handler = _OPERATIONS.get(operation)
    if handler is None:
        raise DataSourceError(f"Unsupported operation '{operation}' for a DynamoDB data "
                              f"source.", "MappingTemplate")
    if "_version" in document:
        raise DataSourceError("The _version field (conflict detection) is not supported by "
                              "the emulation.", "UnsupportedOperation")
    try:
        return handler(client, _table(data_source), document)
    except ClientError as error:
        raise _client_error(error) from None
    except ParamValidationError as error:
        raise DataSourceError(str(error).replace("\n", " "),
                              "DynamoDB:ValidationException") from None


def _get_item(client: Any, table: str, document: Mapping[str, Any]) -> object:
    parameters: dict[str, Any] = {"TableName": table, "Key": _attributes(document.get("key"))}
    if "consistentRead" in document:
        parameters["ConsistentRead"] = bool(document["consistentRead"])
    _expression(parameters, document.get("projection"), "ProjectionExpression")
    return _item(client.get_item(**parameters).get("Item"))


def _condition(parameters: dict[str, Any], document: Mapping[str, Any]) -> None:
    condition = document.get("condition")
    if condition is None:
        return
    handler = (condition.get("conditionalCheckFailedHandler") or {}) if isinstance(
        condition, Mapping) else {}
    if handler.get("strategy", "Reject") != "Reject":
        raise DataSourceError("conditionalCheckFailedHandler with the Custom strategy is not "
                              "supported by the emulation.", "UnsupportedOperation")
    _expression(parameters, condition, "ConditionExpression")


def _write_with_condition(client: Any, call: str, parameters: dict[str, Any],
                          key: dict[str, Any], document: Mapping[str, Any],
                          desired: dict[str, Any] | None, comparable: bool) -> Any:
    """Make a write call whose condition may fail.

    When the condition fails and the current item equals ``desired`` (None for no item),
    the write counts as successful. Otherwise the failure is raised with the current item
    as the error's data.
    """
    from botocore.exceptions import ClientError

    try:
        return getattr(client, call)(**parameters)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        condition = document.get("condition") or {}
        consistent = bool(condition.get("consistentRead", True))
        found = client.get_item(TableName=parameters["TableName"], Key=key,
                                ConsistentRead=consistent).get("Item")
        current = _item(found)
        ignored = set(condition.get("equalsIgnore") or [])
        if comparable and _without(current, ignored) == _without(desired, ignored):
            logger.debug("condition failed but the item is as requested: %s succeeds", call)
            return {"Attributes": found}
        failure = _client_error(error)
        failure.data = current
        raise failure from None


def _without(item: dict[str, Any] | None, ignored: set[str]) -> dict[str, Any] | None:
    if item is None:
        return None
    return {name: value for name, value in item.items() if name not in ignored}


def _put_item(client: Any, table: str, document: Mapping[str, Any]) -> object:
    key = _attributes(document.get("key"))
    item = {**_attributes(document.get("attributeValues")), **key}
    parameters: dict[str, Any] = {"TableName": table, "Item": item}
    _condition(parameters, document)
    desired = _item(item)
    _write_with_condition(client, "put_item", parameters, key, document, desired,
                          comparable=True)
    return desired


def _update_item(client: Any, table: str, document: Mapping[str, Any]) -> object:
    parameters: dict[str, Any] = {"TableName": table, "Key": _attributes(document.get("key")),
                                  "ReturnValues": "ALL_NEW"}
    _expression(parameters, document.get("update"), "UpdateExpression")
    _condition(parameters, document)
    response = _write_with_condition(client, "update_item", parameters, parameters["Key"],
                                     document, None, comparable=False)
    return _item(response.get("Attributes"))


def _delete_item(client: Any, table: str, document: Mapping[str, Any]) -> object:
    parameters: dict[str, Any] = {"TableName": table, "Key": _attributes(document.get("key")),
                                  "ReturnValues": "ALL_OLD"}
    _condition(parameters, document)
    response = _write_with_condition(client, "delete_item", parameters, parameters["Key"],
                                     document, None, comparable=True)
    return _item(response.get("Attributes"))


def _read_options(parameters: dict[str, Any], document: Mapping[str, Any]) -> None:
    """Copy the options that Query and Scan share into API parameters."""
    _expression(parameters, document.get("filter"), "FilterExpression")
    _expression(parameters, document.get("projection"), "ProjectionExpression")
    if document.get("index"):
        parameters["IndexName"] = str(document["index"])
    if document.get("limit") is not None:
        parameters["Limit"] = int(document["limit"])
    if document.get("nextToken"):
        parameters["ExclusiveStartKey"] = _decode_token(document["nextToken"])
    if "consistentRead" in document:
        parameters["ConsistentRead"] = bool(document["consistentRead"])
    if document.get("select"):
        parameters["Select"] = str(document["select"])


def _page(response: Mapping[str, Any]) -> dict[str, Any]:
    return {"items": [_item(item) for item in response.get("Items", [])],
            "nextToken": _encode_token(response.get("LastEvaluatedKey")),
            "scannedCount": response.get("ScannedCount", 0)}


def _query(client: Any, table: str, document: Mapping[str, Any]) -> object:
    parameters: dict[str, Any] = {"TableName": table}
    _expression(parameters, document.get("query"), "KeyConditionExpression")
    _read_options(parameters, document)
    if "scanIndexForward" in document:
        parameters["ScanIndexForward"] = bool(document["scanIndexForward"])
    return _page(client.query(**parameters))


def _scan(client: Any, table: str, document: Mapping[str, Any]) -> object:
    parameters: dict[str, Any] = {"TableName": table}
    _read_options(parameters, document)
    if document.get("totalSegments") is not None:
        parameters["TotalSegments"] = int(document["totalSegments"])
        parameters["Segment"] = int(document.get("segment", 0))
    return _page(client.scan(**parameters))


def _tables(document: Mapping[str, Any]) -> Mapping[str, Any]:
    tables = document.get("tables")
    if not isinstance(tables, Mapping) or not tables:
        raise DataSourceError("The tables member must name at least one table.",
                              "MappingTemplate")
    return tables


def _batch_get_item(client: Any, _table_name: str, document: Mapping[str, Any]) -> object:
    request: dict[str, Any] = {}
    wanted: dict[str, list[dict[str, Any]]] = {}
    for table, spec in _tables(document).items():
        keys = [_attributes(key) for key in spec.get("keys", [])]
        wanted[table] = keys
        request[table] = {"Keys": keys}
        if "consistentRead" in spec:
            request[table]["ConsistentRead"] = bool(spec["consistentRead"])
    response = client.batch_get_item(RequestItems=request)

    # AppSync lists the items in the order of the keys, with null for a key not found.
    data: dict[str, list[Any]] = {}
    for table, keys in wanted.items():
        found = response.get("Responses", {}).get(table, [])
        items = []
        for key in keys:
            match = next((item for item in found
                          if all(item.get(name) == value for name, value in key.items())),
                         None)
            items.append(_item(match))
        data[table] = items
    unprocessed = {table: [_item(key) for key in spec.get("Keys", [])]
                   for table, spec in response.get("UnprocessedKeys", {}).items()}
    return {"data": data,
            "unprocessedKeys": {table: unprocessed.get(table, []) for table in wanted}}


def _batch_write(client: Any, document: Mapping[str, Any], put: bool) -> object:
    request: dict[str, list[dict[str, Any]]] = {}
    data: dict[str, list[Any]] = {}
    for table, entries in _tables(document).items():
        values = [_attributes(entry) for entry in entries]
        data[table] = [_item(value) for value in values]
        request[table] = [{"PutRequest": {"Item": value}} if put else
                          {"DeleteRequest": {"Key": value}} for value in values]
    response = client.batch_write_item(RequestItems=request)
    member = "unprocessedItems" if put else "unprocessedKeys"
    unprocessed: dict[str, list[Any]] = {table: [] for table in data}
    for table, requests in response.get("UnprocessedItems", {}).items():
        for entry in requests:
            value = entry["PutRequest"]["Item"] if put else entry["DeleteRequest"]["Key"]
            unprocessed.setdefault(table, []).append(_item(value))
    return {"data": data, member: unprocessed}


def _batch_put_item(client: Any, _table_name: str, document: Mapping[str, Any]) -> object:
    return _batch_write(client, document, put=True)


def _batch_delete_item(client: Any, _table_name: str, document: Mapping[str, Any]) -> object:
    return _batch_write(client, document, put=False)


def _transact_get_items(client: Any, _table_name: str, document: Mapping[str, Any]) -> object:
    items = []
    for entry in document.get("transactItems") or []:
        get: dict[str, Any] = {"TableName": str(entry.get("table")),
                               "Key": _attributes(entry.get("key"))}
        _expression(get, entry.get("projection"), "ProjectionExpression")
        items.append({"Get": get})
    response = client.transact_get_items(TransactItems=items)
    return {"items": [_item(found.get("Item")) for found in response.get("Responses", [])],
            "cancellationReasons": None}


def _transact_write_items(client: Any, _table_name: str,
                          document: Mapping[str, Any]) -> object:
    items = []
    keys = []
    for entry in document.get("transactItems") or []:
        operation = entry.get("operation")
        key = _attributes(entry.get("key"))
        keys.append(_item(key))
        call: dict[str, Any] = {"TableName": str(entry.get("table"))}
        condition = entry.get("condition")
        if operation == "PutItem":
            call["Item"] = {**_attributes(entry.get("attributeValues")), **key}
            kind = "Put"
        elif operation == "UpdateItem":
            call["Key"] = key
            _expression(call, entry.get("update"), "UpdateExpression")
            kind = "Update"
        elif operation == "DeleteItem":
            call["Key"] = key
            kind = "Delete"
        elif operation == "ConditionCheck":
            call["Key"] = key
            kind = "ConditionCheck"
        else:
            raise DataSourceError(f"Unsupported operation '{operation}' in transactItems.",
                                  "MappingTemplate")
        _expression(call, condition, "ConditionExpression")
        if isinstance(condition, Mapping) and condition.get(
                "returnValuesOnConditionCheckFailure"):
            call["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        items.append({kind: call})
    client.transact_write_items(TransactItems=items)
    return {"keys": keys, "cancellationReasons": None}


_OPERATIONS: dict[str, Any] = {
    "GetItem": _get_item,
    "PutItem": _put_item,
    "UpdateItem": _update_item,
    "DeleteItem": _delete_item,
    "Query": _query,
    "Scan": _scan,
    "BatchGetItem": _batch_get_item,
    "BatchPutItem": _batch_put_item,
    "BatchDeleteItem": _batch_delete_item,
    "TransactGetItems": _transact_get_items,
    "TransactWriteItems": _transact_write_items,
}
