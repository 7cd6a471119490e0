"""Node.js (async and callback handlers, ES modules and CommonJS) and `provided` functions
(the zip's own bootstrap, here a shell script speaking the Runtime API through curl)."""

import json

import pytest

from lambda_helpers import create, lambda_client, tail


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


def invoke(lam, name, event, **kw):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
    return resp, json.loads(resp["Payload"].read())


def test_node_esm_async_handler(lam):
    name = create(lam, {"index.mjs": """
export const handler = async (event, context) => {
  console.log("got", event.n);
  return { echo: event, id: context.awsRequestId, fn: context.functionName,
           left: context.getRemainingTimeInMillis(), pid: process.pid,
           memory: context.memoryLimitInMB };
};
"""}, runtime="nodejs20.x", handler="index.handler")
    resp, out = invoke(lam, name, {"n": 7}, LogType="Tail")
    assert "FunctionError" not in resp, out
    assert out["echo"] == {"n": 7} and out["fn"] == name
    assert out["id"] == resp["ResponseMetadata"]["RequestId"]
    assert 0 < out["left"] <= 3000 and str(out["memory"]) == "128"
    log = tail(resp)
    assert "\tINFO\tgot 7" in log and "REPORT RequestId: " + out["id"] in log
    _, again = invoke(lam, name, {"n": 8})
    assert again["pid"] == out["pid"]


def test_node_type_module_package(lam):
    name = create(lam, {"package.json": '{"type": "module"}',
                        "src/handler.js": "export async function main(event) { return {esm: true, got: event}; }\n"},
                  runtime="nodejs18.x", handler="src/handler.main")
    _, out = invoke(lam, name, {"a": 1})
    assert out == {"esm": True, "got": {"a": 1}}


def test_node_commonjs_callback_handler(lam):
    name = create(lam, {"app.js": """
exports.handler = function (event, context, callback) {
  setTimeout(() => callback(null, { cjs: true, doubled: event.n * 2 }), 10);
};
"""}, runtime="nodejs20.x", handler="app.handler")
    _, out = invoke(lam, name, {"n": 21})
    assert out == {"cjs": True, "doubled": 42}


def test_node_errors(lam):
    name = create(lam, {"app.js": """
exports.handler = async (event) => { const e = new TypeError("bad order " + event.id); throw e; };
exports.cb = (event, context, callback) => callback(new Error("via callback"));
"""}, runtime="nodejs20.x", handler="app.handler")
    resp, out = invoke(lam, name, {"id": 5})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError" and out["errorMessage"] == "bad order 5"
    assert out["trace"][0].startswith("TypeError: bad order 5")
    lam.update_function_configuration(FunctionName=name, Handler="app.cb")
    resp, out = invoke(lam, name, {})
    assert out["errorType"] == "Error" and out["errorMessage"] == "via callback"
    missing = create(lam, {"app.js": "exports.other = 1;\n"}, runtime="nodejs20.x", handler="app.handler")
    resp, out = invoke(lam, missing, {})
    assert out["errorType"] == "Runtime.HandlerNotFound"
    nofile = create(lam, {"x.js": ""}, runtime="nodejs20.x", handler="app.handler")
    resp, out = invoke(lam, nofile, {})
    assert out["errorType"] == "Runtime.ImportModuleError"


BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS="$(mktemp)"
trap 'rm -f "$HEADERS"' EXIT
while true; do
  EVENT="$(curl -sS -f -D "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i '^lambda-runtime-aws-request-id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')"
  echo "shell handler $_HANDLER got $EVENT"
  if [ "$EVENT" = '"fail"' ]; then
    curl -sS -f -X POST "$API/invocation/$ID/error" \
      -H 'Lambda-Runtime-Function-Error-Type: Shell.Failure' \
      -d '{"errorMessage":"asked to fail","errorType":"Shell.Failure"}' >/dev/null
  else
    curl -sS -f -X POST "$API/invocation/$ID/response" \
      -d "{\"echo\":$EVENT,\"handler\":\"$_HANDLER\",\"pid\":$$}" >/dev/null
  fi
done
"""


@pytest.mark.parametrize("runtime", ["provided", "provided.al2023"])
def test_provided_shell_bootstrap(lam, runtime):
    name = create(lam, {"bootstrap": BOOTSTRAP}, runtime=runtime, handler="my.handler",
                  modes={"bootstrap": 0o755})
    resp, out = invoke(lam, name, {"k": [1, 2]}, LogType="Tail")
    assert out["echo"] == {"k": [1, 2]} and out["handler"] == "my.handler"
    assert 'shell handler my.handler got {"k": [1, 2]}' in tail(resp)
    _, again = invoke(lam, name, {})
    assert again["pid"] == out["pid"]
    resp, out = invoke(lam, name, "fail")
    assert resp["FunctionError"] == "Unhandled"
    assert out == {"errorMessage": "asked to fail", "errorType": "Shell.Failure"}


def test_provided_without_bootstrap(lam):
    name = create(lam, {"readme.txt": "no bootstrap"}, runtime="provided.al2023", handler="x")
    resp, out = invoke(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.InvalidEntrypoint"
    assert "Couldn't find valid bootstrap" in out["errorMessage"]
