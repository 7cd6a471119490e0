"""C functions on the `provided.al2023` runtime, through libsluice's runtime client: the
order-validation example (examples/lambda-c/handler.c) and a fault fixture
(lambda_c_faults.c), zipped as `bootstrap` and driven with boto3: results, function errors
(X-Amz-Function-Error and errorType), an initialisation error, the deadline, a crashing
process, an oversized response, and a worker that stays warm through all of it; and a
server started with a relative --data-dir (make run's ./data), whose workers must still
find their code.

The bootstraps are built by CMake next to sluiced (BUILD/lambda-c/NAME/bootstrap, never
sanitized: see CMakeLists.txt); SLUICE_LAMBDA_C_DIR overrides where they are looked for."""

import json
import os
import time

import pytest

import helpers
from helpers import SLOW, Server
from lambda_helpers import create, lambda_client, tail

LAMBDA_C_DIR = os.environ.get("SLUICE_LAMBDA_C_DIR") or os.path.join(
    os.path.dirname(helpers.SLUICED), "lambda-c")

ORDER = {"orderId": "ord_67890", "customerId": "cust_111",
         "items": [{"productId": "prod_222", "quantity": 2, "price": 29.99},
                   {"productId": "prod_333", "quantity": 1, "price": 5}],
         "total": 64.98}


def bootstrap(name):
    path = os.path.join(LAMBDA_C_DIR, name, "bootstrap")
    if not os.access(path, os.X_OK):
        pytest.fail("no %s: build the CMake target sluice-lambda-%s (or set SLUICE_LAMBDA_C_DIR)"
                    % (path, name))
    with open(path, "rb") as f:
        return f.read()


def create_c(lam, name, **kw):
    return create(lam, {"bootstrap": bootstrap(name)}, runtime="provided.al2023",
                  handler="bootstrap", modes={"bootstrap": 0o755}, **kw)


def invoke(lam, name, event, **kw):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
    return resp, json.loads(resp["Payload"].read())


def function_error_header(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-function-error")


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def order_fn(lam):
    return create_c(lam, "order")


@pytest.fixture(scope="module")
def faults(lam):
    return create_c(lam, "faults", Timeout=3)


# --------------------------------------------------------------------------- the example


def test_valid_order_is_answered_and_logged(lam, order_fn):
    resp, out = invoke(lam, order_fn, ORDER, LogType="Tail")
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert function_error_header(resp) is None
    assert out == {"orderId": "ord_67890", "customerId": "cust_111", "status": "validated",
                   "items": 2, "total": 64.98,
                   "requestId": resp["ResponseMetadata"]["RequestId"]}
    log = tail(resp)
    assert "validated order ord_67890 of cust_111: 2 items, total 64.98\n" in log
    assert "REPORT RequestId: " + out["requestId"] in log
    # The same order inside an EventBridge envelope, then the event catalog's.
    _, out = invoke(lam, order_fn, {"source": "order-service", "detail-type": "order.created",
                                    "detail": ORDER})
    assert out["status"] == "validated"
    _, out = invoke(lam, order_fn, {"type": "order.created", "data": ORDER})
    assert out["orderId"] == "ord_67890"


@pytest.mark.parametrize("event, error_type, message", [
    (dict(ORDER, customerId=""), "OrderValidationError", "customerId must be a non-empty string"),
    (dict(ORDER, items=[]), "OrderValidationError", "items must be a non-empty array"),
    (dict(ORDER, items=[{"productId": "p", "quantity": 0, "price": 1}], total=0),
     "OrderValidationError", "items[0].quantity must be a positive integer"),
    (dict(ORDER, total=10), "OrderValidationError",
     "total 10.00 does not match the items' sum 64.98"),
    ([1, 2], "InvalidEvent", "the event is not a JSON object: another JSON value"),
])
def test_invalid_order_is_a_function_error(lam, order_fn, event, error_type, message):
    resp, out = invoke(lam, order_fn, event)
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert function_error_header(resp) == "Unhandled"
    assert out == {"errorMessage": message, "errorType": error_type, "stackTrace": []}


def test_warm_worker_serves_after_errors(lam, order_fn):
    invoke(lam, order_fn, {"orderId": "x"})
    resp, out = invoke(lam, order_fn, ORDER, LogType="Tail")
    assert out["status"] == "validated"
    assert "Init Duration" not in tail(resp)  # no cold start: the same process answered


def test_configuration_limit_and_init_error(lam):
    limited = create_c(lam, "order", Environment={"Variables": {"MAX_ORDER_TOTAL": "50"}})
    resp, out = invoke(lam, limited, ORDER)
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "OrderLimitExceeded"
    assert out["errorMessage"] == "order ord_67890: total 64.98 is over the limit of 50.00"
    broken = create_c(lam, "order", Environment={"Variables": {"MAX_ORDER_TOTAL": "lots"}})
    resp, out = invoke(lam, broken, ORDER, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert out == {"errorMessage": "MAX_ORDER_TOTAL must be a positive number",
                   "errorType": "InvalidConfiguration", "stackTrace": []}
    assert "MAX_ORDER_TOTAL=lots is not a positive number" in tail(resp)


# --------------------------------------------------------------------------- faults


def test_context_and_warm_reuse(lam, faults, server):
    resp, first = invoke(lam, faults, {"action": "echo", "n": 1})
    _, second = invoke(lam, faults, {"action": "echo", "n": 2})
    assert first["event"] == {"action": "echo", "n": 1}
    assert first["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert first["functionArn"] == "arn:aws:lambda:%s:%s:function:%s" % (
        helpers.REGION, helpers.ACCOUNT, faults)
    assert first["traceId"].startswith("Root=1-")
    assert 0 < first["remainingMs"] <= 3000
    assert second["pid"] == first["pid"]
    assert second["invocations"] == first["invocations"] + 1


def test_error_types_and_handler_return_codes(lam, faults):
    resp, out = invoke(lam, faults, {"action": "fail", "type": "Payment.Declined"})
    assert function_error_header(resp) == "Unhandled"
    assert out == {"errorMessage": 'failing as asked, "quoted"\nand on two lines',
                   "errorType": "Payment.Declined", "stackTrace": []}
    resp, out = invoke(lam, faults, {"action": "fail", "return": 5})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.HandlerError"
    assert out["errorMessage"] == "the handler returned 5"


def test_timeout_kills_the_worker_and_a_new_one_serves(lam):
    short = create_c(lam, "faults", Timeout=1)
    _, before = invoke(lam, short, {"action": "echo"})
    start = time.monotonic()
    resp, out = invoke(lam, short, {"action": "sleep", "ms": 5000}, LogType="Tail")
    assert time.monotonic() - start < 4 * SLOW
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in out["errorMessage"]
    assert "faults: sleep" in tail(resp)
    _, after = invoke(lam, short, {"action": "echo"})
    assert after["pid"] != before["pid"] and after["invocations"] == 1


@pytest.mark.parametrize("event, message", [
    ({"action": "crash"}, "Runtime exited with error: signal: Aborted"),
    ({"action": "exit", "code": 3}, "Runtime exited with error: exit status 3"),
])
def test_crash_is_a_runtime_exit_error(lam, faults, server, event, message):
    resp, out = invoke(lam, faults, event, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert message in out["errorMessage"]
    assert "faults: " + event["action"] in tail(resp)
    _, out = invoke(lam, faults, {"action": "echo", "n": "after"})
    assert out["event"]["n"] == "after"
    assert server.alive()


def test_large_responses(lam, faults):
    resp, out = invoke(lam, faults, {"action": "big", "bytes": 5 * 1024 * 1024})
    assert "FunctionError" not in resp and len(out) == 5 * 1024 * 1024 - 2
    _, before = invoke(lam, faults, {"action": "echo"})
    resp, out = invoke(lam, faults, {"action": "big", "bytes": 7 * 1024 * 1024})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Function.ResponseSizeTooLarge"
    # The runtime client is told 413, says so in the log, and keeps serving.
    _, after = invoke(lam, faults, {"action": "echo"})
    assert after["pid"] == before["pid"]


# --------------------------------------------------------------------------- the data dir


def test_relative_data_dir(tmp_path, monkeypatch):
    # Workers run in their code directory: the paths they are given must not be relative
    # to the server's working directory.
    monkeypatch.chdir(tmp_path)
    os.mkdir("data")
    srv = Server("data").start()
    try:
        lam = lambda_client(srv.endpoint)
        name = create_c(lam, "order")
        resp, out = invoke(lam, name, ORDER)
        assert "FunctionError" not in resp, out
        assert out["status"] == "validated"
        py = create(lam, {"app.py": "def handler(event, context):\n    return 'python ok'\n"})
        assert invoke(lam, py, {})[1] == "python ok"
    finally:
        assert srv.stop() == 0
