"""AppSync operations that windtunnel serves before moto: template and code evaluation.

EvaluateMappingTemplate renders a VTL resolver template with windtunnel's AppSync dialect;
EvaluateCode runs the request or response function of APPSYNC_JS code. Every other
AppSync operation is moto's; the GraphQL API operations get the API's real ``uris`` and
``dns`` (GRAPHQL and REALTIME), which moto leaves as placeholders. API reference:
https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateMappingTemplate.html
and https://docs.aws.amazon.com/appsync/latest/APIReference/API_EvaluateCode.html
(``uris`` and ``dns``: https://docs.aws.amazon.com/appsync/latest/APIReference/API_GraphqlApi.html)

Limitations:
    The messages of BadRequestException for an invalid request and of a template or code
    that fails to parse are windtunnel's own, not recorded from AWS.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
from collections.abc import Callable

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.deploy.resources.appsync import api_hostnames
from windtunnel.services.appsync.evaluate import evaluate_template
from windtunnel.services.appsync.js_runtime import CodeEvaluation, evaluate_code
from windtunnel.vtl.appsync_json import to_json

__all__ = ["AppSyncProvider"]

logger = logging.getLogger(__name__)

# Lengths that the AppSync API model allows for the members of the evaluate operations.
_TEMPLATE_LENGTH = (2, 65_536)
_CONTEXT_LENGTH = (2, 28_000)
_CODE_LENGTH = (1, 32_768)
_RANDOM_SEED = 20101


class AppSyncProvider:
    """Evaluates mapping templates and code; leaves the other AppSync operations to moto."""

    service = "appsync"

    def __init__(self, *, now: Callable[[], datetime.datetime] | None = None,
                 randomness: random.Random | None = None,
                 moto: Callable[[AwsRequest], AwsResponse] | None = None) -> None:
        """``now`` is the clock of ``$util.time`` (a stack passes its virtual clock),
        ``randomness`` the source of generated IDs, seeded so that runs repeat, and ``moto``
        dispatches a request to moto (the cloud's ``dispatch_to_moto``)."""
        self.now = now
        self.random = randomness or random.Random(_RANDOM_SEED)
        self.moto = moto

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Serve EvaluateMappingTemplate and EvaluateCode, and correct the GraphQL API
        operations; return None for the others."""
        if request.operation == "EvaluateMappingTemplate":
            return self.evaluate_mapping_template(request)
        if request.operation == "EvaluateCode":
            return self.evaluate_code(request)
        if request.operation in _GRAPHQL_API_OPERATIONS and self.moto is not None:
            return _with_endpoints(self.moto(request), request.region)
        return None

    def evaluate_mapping_template(self, request: AwsRequest) -> AwsResponse:
        """EvaluateMappingTemplate: render ``template`` against the JSON ``context``."""
        parameters = _parameters(request)
        template = _member(parameters, "template", _TEMPLATE_LENGTH)
        context = _context(parameters)

        result = evaluate_template(template, context, now=self.now, randomness=self.random)
        body = json.dumps(result.to_response()).encode()
        return AwsResponse(200, {"Content-Type": "application/json"}, body)


    def evaluate_code(self, request: AwsRequest) -> AwsResponse:
        """EvaluateCode: run the ``request`` or ``response`` function of APPSYNC_JS code."""
        parameters = _parameters(request)
        runtime = parameters.get("runtime")
        if not isinstance(runtime, dict):
            raise AwsError("BadRequestException", "1 validation error detected: Value at "
                                                  "'runtime' failed to satisfy constraint: "
                                                  "Member must not be null")
        if runtime.get("name") != "APPSYNC_JS":
            raise AwsError("BadRequestException", f"1 validation error detected: Value "
                                                  f"'{runtime.get('name')}' at 'runtime.name' "
                                                  f"failed to satisfy constraint: Member must "
                                                  f"satisfy enum value set: [APPSYNC_JS]")
        if runtime.get("runtimeVersion") != "1.0.0":
            raise AwsError("BadRequestException",
                           f"Unsupported runtime version '{runtime.get('runtimeVersion')}' "
                           f"for APPSYNC_JS; the supported version is 1.0.0.")
        code = _member(parameters, "code", _CODE_LENGTH)
        context = _context(parameters)
        function = parameters.get("function", "request")
        if function not in ("request", "response"):
            raise AwsError("BadRequestException",
                           f"The function must be request or response, not '{function}'.")

        evaluation = evaluate_code(code, context, str(function), now=self.now,
                                   randomness=self.random)
        body = json.dumps(_code_response(evaluation)).encode()
        return AwsResponse(200, {"Content-Type": "application/json"}, body)


# The operations whose responses describe GraphQL APIs, with their uris and dns maps.
_GRAPHQL_API_OPERATIONS = frozenset({"CreateGraphqlApi", "GetGraphqlApi", "ListGraphqlApis",
                                     "UpdateGraphqlApi"})


def _with_endpoints(response: AwsResponse, region: str) -> AwsResponse:
    """Put each API's GraphQL and real-time URLs and hostnames into moto's response."""
    if response.status >= 300:
        return response
    try:
        document = json.loads(response.body)
    except ValueError:
        return response
    apis = document.get("graphqlApis") if "graphqlApis" in document else [
        document.get("graphqlApi")]
    for api in apis:
        if not isinstance(api, dict) or "apiId" not in api:
            continue
        graphql, realtime = api_hostnames(str(api["apiId"]), region)
        api["uris"] = {"GRAPHQL": f"https://{graphql}/graphql",
                       "REALTIME": f"wss://{realtime}/graphql"}
        api["dns"] = {"GRAPHQL": graphql, "REALTIME": realtime}
    response.body = json.dumps(document).encode()
    if "Content-Length" in response.headers:
        response.headers["Content-Length"] = str(len(response.body))
    return response


def _code_response(evaluation: CodeEvaluation) -> dict[str, object]:
    """Return the EvaluateCode response body for an evaluation."""
    body: dict[str, object] = {}
    if evaluation.error is None:
        body["evaluationResult"] = json.dumps(evaluation.result)
    else:
        error: dict[str, object] = {"message": evaluation.error.message}
        if evaluation.code_errors:
            error["codeErrors"] = [item.to_json_object() for item in evaluation.code_errors]
        body["error"] = error
    body["logs"] = list(evaluation.logs)
    body["stash"] = to_json(evaluation.stash)
    body["outErrors"] = to_json([error.to_json_object() for error in evaluation.out_errors])
    return body


def _parameters(request: AwsRequest) -> dict[str, object]:
    try:
        parameters = json.loads(request.body or b"{}")
    except ValueError:
        raise AwsError("BadRequestException", "The request body is not valid JSON.") from None
    if not isinstance(parameters, dict):
        raise AwsError("BadRequestException", "The request body must be a JSON object.")
    return parameters


def _context(parameters: dict[str, object]) -> dict[str, object]:
    context_text = _member(parameters, "context", _CONTEXT_LENGTH)
    try:
        context = json.loads(context_text)
    except ValueError as error:
        raise AwsError("BadRequestException",
                       f"The context is not valid JSON: {error}") from None
    if not isinstance(context, dict):
        raise AwsError("BadRequestException", "The context must be a JSON object.")
    return context


def _member(parameters: dict[str, object], name: str, length: tuple[int, int]) -> str:
    """Return a required string member, checked against the model's length limits."""
    value = parameters.get(name)
    if not isinstance(value, str):
        raise AwsError("BadRequestException", f"1 validation error detected: Value at "
                                              f"'{name}' failed to satisfy constraint: Member "
                                              f"must not be null")
    minimum, maximum = length
    if len(value) < minimum:
        raise AwsError("BadRequestException", f"1 validation error detected: Value at "
                                              f"'{name}' failed to satisfy constraint: Member "
                                              f"must have length greater than or equal to "
                                              f"{minimum}")
    if len(value) > maximum:
        raise AwsError("BadRequestException", f"1 validation error detected: Value at "
                                              f"'{name}' failed to satisfy constraint: Member "
                                              f"must have length less than or equal to "
                                              f"{maximum}")
    return value
