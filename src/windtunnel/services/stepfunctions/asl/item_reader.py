"""A Distributed Map's ItemReader: items from an S3 object (JSON, JSON Lines, CSV) or listing.

https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from windtunnel.services.stepfunctions.asl import dataflow
from windtunnel.services.stepfunctions.asl.definition import State
from windtunnel.services.stepfunctions.asl.errors import ITEM_READER_FAILED, StatesError
from windtunnel.services.stepfunctions.asl.execution import Execution
from windtunnel.services.stepfunctions.asl.payload import Scope, render_template
from windtunnel.services.stepfunctions.asl.resources import parse_resource

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.asl.interpreter import Interpreter

__all__ = ["read_items"]

_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


def read_items(interpreter: Interpreter, execution: Execution, state: State, scope: Scope,
               selected: Any) -> list[Any]:
    """The items the state's ItemReader reads, at most ReaderConfig.MaxItems of them."""
    reader = state.get("ItemReader")
    resource = parse_resource(str(reader.get("Resource", "")))
    if state.jsonata:
        parameters = dataflow.jsonata_value(reader.get("Arguments", {}), scope,
                                            dataflow.jsonata_states(selected, scope),
                                            field="ItemReader/Arguments")
    else:
        parameters = render_template(reader.get("Parameters", {}), selected, scope)
    config = reader.get("ReaderConfig") or {}
    if resource is None or resource.service != "s3" or \
            resource.action not in ("getObject", "listObjectsV2"):
        raise StatesError(ITEM_READER_FAILED, (
            f"windtunnel reads Map items from arn:aws:states:::s3:getObject and "
            f"arn:aws:states:::s3:listObjectsV2 only, not {reader.get('Resource')}"))

    call = interpreter.tasks.call_service
    if resource.action == "listObjectsV2":
        items = _listed_objects(call, execution, parameters)
    else:
        response = call(execution, "s3", "GetObject", parameters)
        body = response["Body"]
        text = body.decode() if isinstance(body, bytes) else str(body)
        items = _parse_object(text, config, state.name)

    max_items = config.get("MaxItems")
    if max_items is not None:
        items = items[:int(max_items)]
    return items


def _listed_objects(call: Any, execution: Execution, parameters: dict[str, Any]) -> list[Any]:
    items: list[Any] = []
    request = dict(parameters)
    while True:
        response = call(execution, "s3", "ListObjectsV2", request)
        for entry in response.get("Contents", ()):
            items.append({"Etag": entry.get("ETag"), "Key": entry.get("Key"),
                          "LastModified": entry.get("LastModified"),
                          "Size": entry.get("Size"),
                          "StorageClass": entry.get("StorageClass")})
        token = response.get("NextContinuationToken")
        if not token:
            return items
        request["ContinuationToken"] = token


def _parse_object(text: str, config: dict[str, Any], state_name: str) -> list[Any]:
    input_type = config.get("InputType", "JSON")
    try:
        if input_type == "JSON":
            items = json.loads(text)
            if not isinstance(items, list):
                raise StatesError(ITEM_READER_FAILED, (
                    f"The JSON object read by the ItemReader of the state '{state_name}' "
                    f"must be an array"))
            return items
        if input_type == "JSONL":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as error:
        raise StatesError(ITEM_READER_FAILED, f"The object is not valid {input_type}: "
                                              f"{error}") from None
    if input_type == "CSV":
        return _csv_rows(text, config)
    raise StatesError(ITEM_READER_FAILED, (
        f"windtunnel does not read ItemReader input of type {input_type}; it reads JSON, "
        f"JSONL and CSV"))


def _csv_rows(text: str, config: dict[str, Any]) -> list[dict[str, str]]:
    delimiter = _DELIMITERS.get(str(config.get("CSVDelimiter", "COMMA")), ",")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
        headers = [str(header) for header in config.get("CSVHeaders", ())]
    else:
        if not rows:
            return []
        headers, rows = rows[0], rows[1:]
    return [dict(zip(headers, row, strict=False)) for row in rows]
