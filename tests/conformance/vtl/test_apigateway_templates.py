"""API Gateway mapping templates: $input, $util, $context and $stageVariables.

Sources (named per test):
REFERENCE = https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
EXAMPLES = https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-variable-examples.html
"""

from __future__ import annotations

import json

import pytest

from windtunnel.vtl import VtlRuntimeError, render_mapping_template

REFERENCE = ("https://docs.aws.amazon.com/apigateway/latest/developerguide/"
             "api-gateway-mapping-template-reference.html")
EXAMPLES = ("https://docs.aws.amazon.com/apigateway/latest/developerguide/"
            "api-gateway-mapping-variable-examples.html")


def test_context_variables_example() -> None:
    """Example 1 of EXAMPLES: $context variables fill a JSON payload."""
    template = (
        '{\n    "stage" : "$context.stage",\n    "request_id" : "$context.requestId",\n'
        '    "api_id" : "$context.apiId",\n    "http_method" : "$context.httpMethod",\n'
        '    "source_ip" : "$context.identity.sourceIp",\n'
        '    "user-agent" : "$context.identity.userAgent"\n}'
    )
    context = {"stage": "prod", "requestId": "abcdefg-000-000-0000-abcdefg",
               "apiId": "abcd1234", "httpMethod": "GET",
               "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/7.84.0"}}
    output = json.loads(render_mapping_template(template, context=context))
    assert output == {"stage": "prod", "request_id": "abcdefg-000-000-0000-abcdefg",
                      "api_id": "abcd1234", "http_method": "GET", "source_ip": "192.0.2.1",
                      "user-agent": "curl/7.84.0"}, EXAMPLES


def test_all_parameters_example() -> None:
    """Example 2 of EXAMPLES: $input.params() lists path, querystring and header maps."""
    template = (
        "#set($allParams = $input.params())\n{\n  \"params\" : {\n"
        "    #foreach($type in $allParams.keySet())\n"
        "    #set($params = $allParams.get($type))\n    \"$type\" : {\n"
        "      #foreach($paramName in $params.keySet())\n"
        "      \"$paramName\" : \"$util.escapeJavaScript($params.get($paramName))\"\n"
        "      #if($foreach.hasNext),#end\n      #end\n    }\n"
        "    #if($foreach.hasNext),#end\n    #end\n  }\n}"
    )
    params = {"path": {"id": "42"}, "querystring": {"q": "shoes", "page": "2"},
              "header": {"Accept": "*/*"}}
    output = json.loads(render_mapping_template(template, params=params))
    assert output == {"params": params}, EXAMPLES


def test_params_and_path_example() -> None:
    """REFERENCE, "Example request and response using $input": id and count."""
    template = ('{\n    "id" : "$input.params(\'id\')",\n'
                '    "count" : "$input.path(\'$.things\').size()"\n}')
    body = '{\n    "things" : {\n        "1" : {},\n        "2" : {},\n        "3" : {}\n    }\n}'
    output = render_mapping_template(template, body=body, params={"path": {"id": "abc"}})
    assert json.loads(output) == {"id": "abc", "count": "3"}, REFERENCE


def test_input_json_passes_body() -> None:
    """REFERENCE: $input.json('$') inserts the payload as JSON and params(name) a value."""
    template = '{\n    "name" : "$input.params(\'name\')",\n    "body" : $input.json(\'$\')\n}'
    body = '{"mykey": {"a": [1, 2.5, true, null]}}'
    output = render_mapping_template(template, body=body,
                                     params={"querystring": {"name": "Bob"}})
    assert json.loads(output) == {"name": "Bob", "body": json.loads(body)}, REFERENCE


def test_input_json_subsection() -> None:
    """REFERENCE: $input.json('$.mykey') returns one property of the payload."""
    output = render_mapping_template("$input.json('$.mykey')", body='{"mykey": {"x": "y"}}')
    assert json.loads(output) == {"x": "y"}, REFERENCE


def test_params_search_order() -> None:
    """REFERENCE: $input.params(x) searches the path, then the query string, then headers."""
    params = {"path": {"a": "path"}, "querystring": {"a": "query", "b": "query"},
              "header": {"a": "header", "b": "header", "c": "header"}}
    output = render_mapping_template("$input.params('a') $input.params('b') "
                                     "$input.params('c')", params=params)
    assert output == "path query header", REFERENCE


def test_body_is_raw_payload() -> None:
    """REFERENCE: $input.body returns the raw payload as a string."""
    assert render_mapping_template("$input.body", body="a=1&b=2") == "a=1&b=2", REFERENCE


def test_parse_json_example() -> None:
    """REFERENCE, $util.parseJson: a stringified JSON property becomes an object."""
    body = '{"errorMessage":"{\\"key1\\":\\"var1\\",\\"key2\\":{\\"arr\\":[1,2,3]}}"}'
    template = ("#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n"
                '{\n   "errorMessageObjKey2ArrVal" : $errorMessageObj.key2.arr[0]\n}\n')
    output = render_mapping_template(template, body=body)
    assert output == '{\n   "errorMessageObjKey2ArrVal" : 1\n}\n', REFERENCE


def test_escape_javascript_quotes() -> None:
    """REFERENCE: escapeJavaScript turns ' into \\' and replaceAll can turn it back."""
    template = ("$util.escapeJavaScript($data) "
                "$util.escapeJavaScript($data).replaceAll(\"\\\\'\",\"'\")")
    output = render_mapping_template("#set($data = $input.path('$.d'))" + template,
                                     body='{"d": "it\'s \\"q\\""}')
    assert output == "it\\'s \\\"q\\\" it's \\\"q\\\"", REFERENCE


@pytest.mark.parametrize(("template", "expected"), [
    ("$util.urlEncode('a b&c=d/é')", "a+b%26c%3Dd%2F%C3%A9"),
    ("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')", "a b&c=d/é"),
    ("$util.base64Encode('hello world')", "aGVsbG8gd29ybGQ="),
    ("$util.base64Decode('aGVsbG8gd29ybGQ=')", "hello world"),
])
def test_util_encodings(template: str, expected: str) -> None:
    """REFERENCE: urlEncode uses application/x-www-form-urlencoded; base64 is standard."""
    assert render_mapping_template(template) == expected, REFERENCE


def test_stage_variables_syntaxes() -> None:
    """REFERENCE, $stageVariables: dot, bracket and formal bracket syntaxes."""
    output = render_mapping_template(
        "$stageVariables.env ${stageVariables['env']} $stageVariables['env']",
        stage_variables={"env": "beta"})
    assert output == "beta beta beta", REFERENCE


def test_undefined_renders_empty() -> None:
    """A null reference renders empty: REFERENCE says $context.authorizer.claims is null.

    That null prints as an empty string is observed AWS behavior, not documented.
    """
    output = render_mapping_template('"$context.authorizer.claims" "$input.params(\'none\')"')
    assert output == '"" ""'


def test_invalid_body_for_path_raises() -> None:
    """$input.path on a body that is not JSON fails the template."""
    with pytest.raises(VtlRuntimeError, match="not valid JSON"):
        render_mapping_template("$input.path('$.a')", body="not json")
