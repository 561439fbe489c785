"""The JavaScript side of the APPSYNC_JS runtime: ``@aws-appsync/utils`` and the runner.

Sources: https://docs.aws.amazon.com/appsync/latest/devguide/built-in-util-js.html
(``util``), https://docs.aws.amazon.com/appsync/latest/devguide/runtime-utils-js.html
(``runtime.earlyReturn``), https://docs.aws.amazon.com/appsync/latest/devguide/extensions-js.html
(``extensions``) and https://docs.aws.amazon.com/appsync/latest/devguide/built-in-modules-js.html
(``@aws-appsync/utils/dynamodb``).

The helpers that the VTL dialect already has (IDs, ``util.time``, ``util.dynamodb``,
``util.transform``, encodings) are called in Python. The engine's Python callbacks are
asynchronous only, so a call works by replay. When the code reaches the i-th helper call
and no result is recorded for it, the runner stops and returns the call. Python computes
the result and runs the code again from the start with the results recorded so far.
``Date`` and ``Math.random`` are fixed for one evaluation, so every run makes the same
calls in the same order.
"""

from __future__ import annotations

__all__ = ["BRIDGED_UTIL", "LIBRARY_SOURCE"]

# The ``util`` members computed in Python, by group ("" is ``util`` itself).
BRIDGED_UTIL: dict[str, tuple[str, ...]] = {
    "": ("urlEncode", "urlDecode", "base64Encode", "base64Decode", "autoId", "autoUlid",
         "autoKsuid", "matches", "authType", "escapeJavaScript", "isNull", "isNullOrEmpty",
         "isNullOrBlank", "defaultIfNull", "defaultIfNullOrEmpty", "defaultIfNullOrBlank",
         "isString", "isNumber", "isBoolean", "isList", "isMap", "typeOf"),
    "time": ("nowISO8601", "nowEpochSeconds", "nowEpochMilliSeconds", "nowFormatted",
             "parseFormattedToEpochMilliSeconds", "parseISO8601ToEpochMilliSeconds",
             "epochMilliSecondsToSeconds", "epochMilliSecondsToISO8601",
             "epochMilliSecondsToFormatted"),
    "dynamodb": ("toDynamoDB", "toString", "toStringSet", "toNumber", "toNumberSet",
                 "toBinary", "toBinarySet", "toBoolean", "toNull", "toList", "toMap",
                 "toMapValues", "toS3Object", "fromS3ObjectJson"),
    "transform": ("toDynamoDBFilterExpression", "toDynamoDBConditionExpression",
                  "toSubscriptionFilter"),
}

LIBRARY_SOURCE = r"""
"use strict";
globalThis.__appsync = (function () {
  const state = { results: [], index: 0, logs: [], outErrors: [], extensions: [] };

  function call(path, args) {
    const position = state.index;
    state.index += 1;
    if (position < state.results.length) {
      const recorded = state.results[position];
      if (recorded.path !== path) {
        throw new Error("internal: the code called " + path + " where it called " +
                        recorded.path + " in the previous run, so it is not deterministic");
      }
      if (recorded.error !== undefined) {
        throw new Error(recorded.error);
      }
      return recorded.value;
    }
    throw { __appsyncNeed: { path: path, args: args } };
  }

  function graphqlError(message, errorType, data, errorInfo) {
    return { message: String(message), errorType: errorType ?? null,
             data: data ?? null, errorInfo: errorInfo ?? null };
  }

  const util = {
    error(message, errorType, data, errorInfo) {
      throw { __appsyncError: graphqlError(message, errorType, data, errorInfo) };
    },
    appendError(message, errorType, data, errorInfo) {
      state.outErrors.push(graphqlError(message, errorType, data, errorInfo));
    },
    unauthorized() {
      throw { __appsyncUnauthorized: true };
    },
  };
  for (const [group, names] of Object.entries(BRIDGED)) {
    const target = group === "" ? util : (util[group] = {});
    for (const name of names) {
      const path = group === "" ? name : group + "." + name;
      target[name] = (...args) => call(path, args);
    }
  }

  const runtime = {
    earlyReturn(value) {
      throw { __appsyncEarlyReturn: true, value: value };
    },
  };

  const extensions = {};
  for (const name of ["setSubscriptionFilter", "setSubscriptionInvalidationFilter",
                      "invalidateSubscriptions", "evictFromApiCache"]) {
    extensions[name] = (...args) => { state.extensions.push({ name: name, args: args }); };
  }

  function keyCondition(query) {
    const names = {};
    const values = {};
    const parts = [];
    const comparisons = { eq: "=", lt: "<", le: "<=", gt: ">", ge: ">=" };
    for (const [field, condition] of Object.entries(query ?? {})) {
      names["#" + field] = field;
      for (const [operator, operand] of Object.entries(condition ?? {})) {
        const placeholder = ":" + field + "_" + operator;
        if (operator in comparisons) {
          values[placeholder] = operand;
          parts.push("#" + field + " " + comparisons[operator] + " " + placeholder);
        } else if (operator === "beginsWith") {
          values[placeholder] = operand;
          parts.push("begins_with(#" + field + ", " + placeholder + ")");
        } else if (operator === "between") {
          values[placeholder + "_0"] = operand[0];
          values[placeholder + "_1"] = operand[1];
          parts.push("#" + field + " BETWEEN " + placeholder + "_0 AND " + placeholder + "_1");
        } else {
          throw new Error("unsupported key condition operator '" + operator + "' for " + field);
        }
      }
    }
    return { expression: parts.join(" AND "), expressionNames: names,
             expressionValues: util.dynamodb.toMapValues(values) };
  }

  function withOptions(request, options, members) {
    for (const member of members) {
      if (options[member] !== undefined) {
        request[member] = options[member];
      }
    }
    if (options.filter) {
      request.filter = JSON.parse(util.transform.toDynamoDBFilterExpression(options.filter));
    }
    return request;
  }

  const dynamodb = {
    get(options) {
      return withOptions({ operation: "GetItem", key: util.dynamodb.toMapValues(options.key) },
                         options, ["consistentRead"]);
    },
    put(options) {
      const request = { operation: "PutItem", key: util.dynamodb.toMapValues(options.key),
                        attributeValues: util.dynamodb.toMapValues(options.item) };
      if (options.condition) {
        request.condition = JSON.parse(
          util.transform.toDynamoDBConditionExpression(options.condition));
      }
      return request;
    },
    remove(options) {
      const request = { operation: "DeleteItem", key: util.dynamodb.toMapValues(options.key) };
      if (options.condition) {
        request.condition = JSON.parse(
          util.transform.toDynamoDBConditionExpression(options.condition));
      }
      return request;
    },
    scan(options) {
      return withOptions({ operation: "Scan" }, options ?? {},
                         ["limit", "nextToken", "consistentRead", "segment", "totalSegments",
                          "index"]);
    },
    query(options) {
      const request = { operation: "Query", query: keyCondition(options.query) };
      return withOptions(request, options,
                         ["limit", "nextToken", "consistentRead", "index", "scanIndexForward"]);
    },
    update() {
      throw new Error("update from @aws-appsync/utils/dynamodb is not supported by the " +
                      "emulation; build the UpdateItem request object instead");
    },
  };

  const modules = {
    "@aws-appsync/utils": { util: util, runtime: runtime, extensions: extensions },
    "@aws-appsync/utils/dynamodb": dynamodb,
  };

  function fixClock(nowMilliseconds, seed) {
    const NativeDate = Date;
    class FixedDate extends NativeDate {
      constructor(...args) {
        if (args.length === 0) {
          super(nowMilliseconds);
        } else {
          super(...args);
        }
      }
      static now() {
        return nowMilliseconds;
      }
    }
    globalThis.Date = FixedDate;
    let current = seed >>> 0;
    Math.random = function () {
      current = (current + 0x6d2b79f5) >>> 0;
      let mixed = current;
      mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
      mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
      return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
    };
  }

  function describe(error) {
    if (error instanceof Error) {
      return error.name + ": " + error.message;
    }
    return String(error);
  }

  function run(factory, functionName, context, configuration) {
    state.results = configuration.results;
    fixClock(configuration.nowMilliseconds, configuration.seed);
    context.args = context.arguments;
    const outcome = {};
    try {
      const exported = factory(modules);
      const handler = exported[functionName];
      if (typeof handler !== "function") {
        outcome.error = { message: "The code does not export a " + functionName +
                                   " function." };
      } else {
        const value = handler(context);
        outcome.result = value === undefined ? null : value;
      }
    } catch (error) {
      if (error && error.__appsyncNeed) {
        return JSON.stringify({ need: error.__appsyncNeed });
      }
      if (error && error.__appsyncEarlyReturn) {
        outcome.earlyReturn = true;
        outcome.result = error.value === undefined ? null : error.value;
      } else if (error && error.__appsyncError) {
        outcome.error = error.__appsyncError;
      } else if (error && error.__appsyncUnauthorized) {
        outcome.unauthorized = true;
      } else {
        outcome.error = { message: describe(error) };
      }
    }
    outcome.stash = context.stash;
    outcome.logs = state.logs;
    outcome.outErrors = state.outErrors;
    outcome.extensions = state.extensions;
    return JSON.stringify(outcome);
  }

  function log(level) {
    return (...values) => {
      state.logs.push(level + " - " + values.map(
        (value) => typeof value === "string" ? value : JSON.stringify(value)).join(" "));
    };
  }
  globalThis.console = { log: log("INFO"), info: log("INFO"), debug: log("DEBUG"),
                         warn: log("WARN"), error: log("ERROR") };

  return { run: run };
})();
"""
