"""AppSync resolver templates: $context, the general $util helpers and #return.

Sources (named per case):
UTIL = https://docs.aws.amazon.com/appsync/latest/devguide/utility-helpers-in-util.html
CONTEXT = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html
REFERENCE = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html
"""

from __future__ import annotations

import json
import re

import pytest

from windtunnel.services.appsync.evaluate import evaluate_template

UTIL = "https://docs.aws.amazon.com/appsync/latest/devguide/utility-helpers-in-util.html"
CONTEXT = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html"
REFERENCE = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html"


def render(template: str, context: dict[str, object] | None = None) -> str:
    result = evaluate_template(template, context or {})
    assert result.error_message is None, result.error_message
    assert result.evaluation_result is not None
    return result.evaluation_result


@pytest.mark.parametrize(("template", "expected", "source"), [
    ('$util.isNull($ctx.args.missing)', "true", UTIL),
    ('$util.isNull("")', "false", UTIL),
    ('$util.isNullOrEmpty("")', "true", UTIL),
    ('$util.isNullOrEmpty(" ")', "false", UTIL),
    ('$util.isNullOrBlank(" \t")', "true", UTIL),
    ('$util.isNullOrBlank("a")', "false", UTIL),
    ('$util.defaultIfNull($ctx.args.missing, "d")', "d", UTIL),
    ('$util.defaultIfNull("x", "d")', "x", UTIL),
    ('$util.defaultIfNullOrEmpty("", "d")', "d", UTIL),
    ('$util.defaultIfNullOrBlank("  ", "d")', "d", UTIL),
    ('$util.defaultIfNullOrBlank(" x ", "d")', " x ", UTIL),
    ('$util.isString("a") $util.isString(1)', "true false", UTIL),
    ('$util.isNumber(1) $util.isNumber(1.5) $util.isNumber("1")', "true true false", UTIL),
    ('$util.isBoolean(true) $util.isBoolean("true")', "true false", UTIL),
    ('$util.isList([1]) $util.isList({})', "true false", UTIL),
    ('$util.isMap({}) $util.isMap([])', "true false", UTIL),
    ('$util.typeOf($ctx.args.missing)', "Null", UTIL),
    ('$util.typeOf(1) $util.typeOf("a") $util.typeOf([]) $util.typeOf({}) $util.typeOf(true)',
     "Number String List Map Boolean", UTIL),
    ('$util.matches("a*b", "aaaaab")', "true", UTIL),
    ('$util.matches("a*b", "aaaaabc")', "false", UTIL),
    ('$util.urlEncode("a b&c=d/é")', "a+b%26c%3Dd%2F%C3%A9", UTIL),
    ('$util.urlDecode("a+b%26c")', "a b&c", UTIL),
    ('$util.base64Encode("hello")', "aGVsbG8=", UTIL),
    ('$util.base64Decode("aGVsbG8=")', "hello", UTIL),
    ("$util.escapeJavaScript(\"it's\")", "it\\'s", UTIL),
    ('$util.toJson({"a": [1, 2.5, true, "x"], "b": $ctx.args.missing})',
     '{"a":[1,2.5,true,"x"],"b":null}', UTIL),
    ("#set($v = $util.parseJson('{\"a\": [1, 2.5]}'))$v.a.get(1) $v.a.get(0).class.name",
     "2.5 java.lang.Integer", UTIL),
    ("#set($list = [1])before$util.qr($list.add(2))after$list", "beforeafter[1, 2]", UTIL),
    ("#set($list = [1])before$util.quiet($list.add(2))after$list", "beforeafter[1, 2]", UTIL),
])
def test_util_helper(template: str, expected: str, source: str) -> None:
    """Each general helper returns the value its documentation gives."""
    assert render(template, {"arguments": {}}) == expected, source


@pytest.mark.parametrize(("identity", "expected"), [
    (None, "API Key Authorization"),
    ({"accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:user/a"},
     "IAM Authorization"),
    ({"sub": "u", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
      "claims": {}}, "User Pool Authorization"),
    ({"sub": "u", "issuer": "https://id.example.com", "claims": {}},
     "Open ID Connect Authorization"),
    ({"resolverContext": {"a": "b"}}, "Lambda Authorization"),
])
def test_auth_type(identity: object, expected: str) -> None:
    """UTIL, $util.authType(): names the authorization type by the identity's shape."""
    assert render("$util.authType()", {"identity": identity}) == expected, UTIL


def test_context_arguments_and_args() -> None:
    """CONTEXT: $context.arguments and $ctx.args are the same map."""
    context = {"arguments": {"id": "p1", "limit": 10}, "source": {"author": "ann"},
               "identity": {"sub": "u1"}, "info": {"fieldName": "getPost",
                                                   "parentTypeName": "Query"},
               "request": {"headers": {"x-trace": "t"}}, "prev": {"result": {"n": 1}}}
    template = ("$ctx.args.id $context.arguments.limit $ctx.source.author $ctx.identity.sub "
                "$ctx.info.fieldName $ctx.info.parentTypeName $ctx.request.headers.x-trace "
                "$ctx.prev.result.n")
    assert render(template, context) == "p1 10 ann u1 getPost Query t 1", CONTEXT


def test_undefined_reference_prints_itself() -> None:
    """CONTEXT: a missing argument is null; VTL prints a null reference as its text."""
    output = render('"$ctx.args.nextToken" "$!ctx.args.nextToken" $util.toJson($ctx.args.x)',
                    {"arguments": {}})
    assert output == '"$ctx.args.nextToken" "" null', CONTEXT


def test_missing_argument_is_false_in_if() -> None:
    """CONTEXT: #if on a missing argument takes the else branch (the nextToken idiom)."""
    template = "#if($ctx.args.nextToken)set#else unset#end #if(!$ctx.args.nextToken)none#end"
    assert render(template, {"arguments": {}}) == " unset none", CONTEXT


def test_stash_is_returned() -> None:
    """CONTEXT: the stash is a map that templates change with put and #set."""
    result = evaluate_template(
        '$util.qr($ctx.stash.put("a", 1))#set($ctx.stash.b = {"c": [true]})',
        {"stash": {"start": "s"}})
    assert result.stash == {"start": "s", "a": 1, "b": {"c": [True]}}, CONTEXT
    assert json.loads(result.to_response()["stash"]) == result.stash  # type: ignore[arg-type]


def test_error_stops_template() -> None:
    """UTIL, $util.error(String, String, Object, Object): throws a custom error."""
    result = evaluate_template('a$util.error("Bad id", "InvalidId", {"id": 1}, {"hint": "h"})b',
                               {})
    assert result.evaluation_result is None, UTIL
    assert result.error_message == "Bad id", UTIL
    assert result.error is not None
    assert result.error.to_json_object() == {"message": "Bad id", "errorType": "InvalidId",
                                             "data": {"id": 1}, "errorInfo": {"hint": "h"}}


def test_append_error_keeps_rendering() -> None:
    """UTIL, $util.appendError: adds an error and the template goes on."""
    result = evaluate_template('a$util.appendError("first", "T1")b$util.appendError("second")c',
                               {})
    assert result.evaluation_result == "abc", UTIL
    assert [error.message for error in result.out_errors] == ["first", "second"], UTIL
    assert [error.error_type for error in result.out_errors] == ["T1", None], UTIL
    out_errors = json.loads(str(result.to_response()["outErrors"]))
    assert out_errors[0]["message"] == "first"


@pytest.mark.parametrize(("condition", "failed"), [("true", False), ("false", True)])
def test_validate(condition: str, failed: bool) -> None:
    """UTIL, $util.validate(Boolean, String, String): throws when the condition is false."""
    result = evaluate_template(f'$util.validate({condition}, "must hold", "Invalid")ok', {})
    assert (result.error_message == "must hold") is failed, UTIL
    assert (result.evaluation_result == "ok") is not failed, UTIL


def test_unauthorized() -> None:
    """UTIL, $util.unauthorized(): throws Unauthorized for the field being resolved."""
    result = evaluate_template("$util.unauthorized()",
                               {"info": {"fieldName": "getPost", "parentTypeName": "Query"}})
    assert result.error is not None
    assert result.error.error_type == "Unauthorized", UTIL
    assert result.error_message == "Not Authorized to access getPost on type Query"


def test_return_ends_template() -> None:
    """REFERENCE, #return(Object): returns early from the template with the value."""
    template = ('#foreach($i in [1, 2, 3])#if($i == 2)#return({"stopped": $i})#end$i#end'
                " never")
    result = evaluate_template(template, {})
    assert result.json() == {"stopped": 2}, REFERENCE


def test_return_without_value() -> None:
    """REFERENCE, #return: the same as #return(Object) with null."""
    result = evaluate_template("text #return more", {})
    assert result.evaluation_result == "null", REFERENCE


def test_auto_ids() -> None:
    """UTIL: autoId is a UUID, autoUlid a 26-character ULID, autoKsuid 27 base62 characters."""
    output = render("$util.autoId() $util.autoUlid() $util.autoKsuid()").split(" ")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        output[0]), UTIL
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", output[1]), UTIL
    assert re.fullmatch(r"[0-9A-Za-z]{27}", output[2]), UTIL


def test_log_messages() -> None:
    """UTIL, $util.log.info(String, List): {} placeholders take the values in order."""
    result = evaluate_template('$util.log.info("got {} and {}", [1, "two"])'
                               '$util.log.error({"a": 1})', {})
    assert result.logs == ["got 1 and two", "{a=1}"], UTIL


def test_invalid_parse_json_fails() -> None:
    """UTIL, $util.parseJson: text that is not JSON fails the template."""
    result = evaluate_template('$util.parseJson("{nope")', {})
    assert result.error_message is not None
    assert "JsonParseException" in result.error_message, UTIL


# The resolvers that AWS Amplify's GraphQL transformer generates for AppSync write null as
# a literal: "#return($util.toJson(null))" (aws-amplify/amplify-category-api,
# packages/amplify-graphql-relational-transformer/src/resolvers.ts).
AMPLIFY_RESOLVERS = "https://github.com/aws-amplify/amplify-category-api"


@pytest.mark.parametrize(("template", "expected"), [
    ("$util.toJson(null)", "null"),
    ("#if($util.isNull(null))empty#end", "empty"),
    ('$util.defaultIfNull(null, "d")', "d"),
])
def test_null_literal(template: str, expected: str) -> None:
    """AMPLIFY_RESOLVERS: ``null`` is the null value in AppSync templates."""
    assert render(template) == expected
