"""Invoking Python functions through boto3: the event and context, handler errors, the log
tail, timeouts, a crashing worker, the memory limit, warm reuse and concurrency, payload
limits, and a handler that reaches this server's SQS through boto3 with no endpoint in its
code."""

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

import helpers
from helpers import ACCOUNT, REGION, SLOW, error_code
from lambda_helpers import create, lambda_client, tail

ECHO = {"app.py": """
import os, time

def handler(event, context):
    print("handling", event.get("n"))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "event": event,
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in (
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER",
            "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "TZ", "STAGE", "AWS_ACCESS_KEY_ID",
            "AWS_ENDPOINT_URL", "AWS_LAMBDA_RUNTIME_API")},
        "cwd": os.getcwd(),
    }
"""}

FAILING = {"app.py": """
class OrderRejected(Exception):
    pass

def handler(event, context):
    print("about to fail")
    raise OrderRejected("order %s rejected" % event["id"])
"""}


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def echo(lam):
    return create(lam, ECHO, Timeout=10, MemorySize=192,
                  Environment={"Variables": {"STAGE": "test"}})


def invoke(lam, name, event, **kw):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
    return resp, json.loads(resp["Payload"].read())


def test_event_and_context(lam, echo, server):
    resp, out = invoke(lam, echo, {"n": 1, "nested": {"a": [1, 2]}})
    assert resp["StatusCode"] == 200
    assert "FunctionError" not in resp
    assert resp["ExecutedVersion"] == "$LATEST"
    assert out["event"] == {"n": 1, "nested": {"a": [1, 2]}}
    assert out["request_id"] == resp["ResponseMetadata"]["RequestId"]
    assert out["function_name"] == echo and out["function_version"] == "$LATEST"
    assert out["arn"] == "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, echo)
    assert str(out["memory"]) == "192"
    assert out["log_group"] == "/aws/lambda/" + echo and out["log_stream"]
    assert 0 < out["remaining"] <= 10000
    env = out["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == echo
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == out["cwd"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["TZ"] == ":UTC" and env["STAGE"] == "test"
    assert env["AWS_ACCESS_KEY_ID"] == "test"
    assert env["AWS_ENDPOINT_URL"] == server.endpoint
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:%d/" % server.port)


def test_log_tail_has_output_and_report(lam, echo):
    resp, out = invoke(lam, echo, {"n": "tail-me"}, LogType="Tail")
    log = tail(resp)
    rid = out["request_id"]
    assert "START RequestId: %s Version: $LATEST" % rid in log
    assert "handling tail-me" in log
    assert "END RequestId: %s" % rid in log
    report = [l for l in log.splitlines() if l.startswith("REPORT RequestId: %s" % rid)]
    assert report and "Duration: " in report[0] and "Billed Duration: " in report[0]
    assert "Memory Size: 192 MB" in report[0] and "Max Memory Used: " in report[0]
    assert log.index("START") < log.index("handling tail-me") < log.index("END") < log.index("REPORT")


def test_log_tail_keeps_the_last_4_kib(lam):
    name = create(lam, {"app.py": "def handler(e, c):\n    print('x' * 100000)\n    print('last line')\n    return 1\n"})
    resp = lam.invoke(FunctionName=name, LogType="Tail")
    log = tail(resp)
    assert len(log.encode()) <= 4096
    assert "last line" in log and "REPORT RequestId" in log


def test_handler_exception_is_an_unhandled_function_error(lam):
    name = create(lam, FAILING)
    resp, out = invoke(lam, name, {"id": "42"}, LogType="Tail")
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "OrderRejected"
    assert out["errorMessage"] == "order 42 rejected"
    assert any("raise OrderRejected" in line for line in out["stackTrace"])
    log = tail(resp)
    assert "about to fail" in log and "[ERROR] OrderRejected: order 42 rejected" in log


def test_import_error_is_reported(lam):
    name = create(lam, {"app.py": "import no_such_module\n"})
    resp, out = invoke(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'app'" in out["errorMessage"]
    name = create(lam, {"app.py": "x = 1\n"}, handler="app.missing")
    resp, out = invoke(lam, name, {})
    assert out["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_kills_the_worker(lam):
    name = create(lam, ECHO, Timeout=1)
    start = time.monotonic()
    resp, out = invoke(lam, name, {"sleep": 30}, LogType="Tail")
    assert time.monotonic() - start < 10 * SLOW
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in out["errorMessage"]
    assert "Task timed out after 1.00 seconds" in tail(resp)
    resp, out = invoke(lam, name, {"n": "after"})  # a new worker serves the next one
    assert out["event"] == {"n": "after"}


def test_crashing_worker_fails_only_its_invocation(lam, server):
    name = create(lam, {"app.py": """
import os, signal
def handler(event, context):
    if event.get("exit") is not None:
        os._exit(event["exit"])
    if event.get("signal"):
        os.kill(os.getpid(), signal.SIGKILL)
    return "alive"
"""})
    resp, out = invoke(lam, name, {"exit": 3})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in out["errorMessage"]
    resp, out = invoke(lam, name, {"signal": True})
    assert out["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in out["errorMessage"]
    resp, out = invoke(lam, name, {})
    assert out == "alive"
    assert server.alive() and server.health()


def test_memory_size_limits_the_worker(lam):
    name = create(lam, {"app.py": "def handler(e, c):\n    b = bytearray(400 * 1024 * 1024)\n    return len(b)\n"},
                  MemorySize=128)
    resp, out = invoke(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "MemoryError"
    lam.update_function_configuration(FunctionName=name, MemorySize=1024)
    resp, out = invoke(lam, name, {})
    assert out == 400 * 1024 * 1024


def test_warm_worker_is_reused(lam, echo):
    _, a = invoke(lam, echo, {"n": "a"})
    _, b = invoke(lam, echo, {"n": "b"})
    assert a["pid"] == b["pid"]
    assert a["request_id"] != b["request_id"]


def test_parallel_invocations_use_two_workers(lam):
    name = create(lam, ECHO, Timeout=20)
    results = [None, None]

    def run(i):
        results[i] = invoke(lam, name, {"sleep": 1.5 * SLOW, "n": i})[1]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0]["pid"] != results[1]["pid"]


def test_update_replaces_warm_workers(lam):
    name = create(lam, ECHO)
    _, a = invoke(lam, name, {})
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "v2"}})
    _, b = invoke(lam, name, {})
    assert b["env"]["STAGE"] == "v2" and a["pid"] != b["pid"]


def test_dry_run_and_bad_payloads(lam, echo):
    resp = lam.invoke(FunctionName=echo, InvocationType="DryRun")
    assert resp["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=echo, Payload=b"{not json")
    assert error_code(e) == "InvalidRequestContentException"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=echo, InvocationType="Event", Payload=json.dumps({"x": "y" * 300000}).encode())
    assert error_code(e) == "RequestEntityTooLargeException"
    assert helpers.http_status(e) == 413


def test_large_sync_payloads(lam, echo):
    # Over --max-body-bytes (4 MiB by default) but within Lambda's 6 MB: accepted, both ways.
    big = {"x": "y" * (5 * 1024 * 1024)}
    resp = lam.invoke(FunctionName=echo, Payload=json.dumps(big).encode())
    assert "FunctionError" not in resp
    assert json.loads(resp["Payload"].read())["event"] == big
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=echo, Payload=json.dumps({"x": "y" * (6 * 1024 * 1024 + 10)}).encode())
    assert error_code(e) == "RequestEntityTooLargeException"


def test_concurrency_cap_throttles(fresh_server_factory):
    srv = fresh_server_factory(extra_args=["--lambda-concurrency", "1"])
    lam = lambda_client(srv.endpoint)
    name = create(lam, ECHO, Timeout=20)
    slow = threading.Thread(target=lambda: invoke(lam, name, {"sleep": 2 * SLOW}))
    slow.start()
    time.sleep(0.8 * SLOW)
    with pytest.raises(ClientError) as e:
        invoke(lam, name, {})
    slow.join()
    assert error_code(e) == "TooManyRequestsException"
    assert helpers.http_status(e) == 429


def test_handler_reaches_sqs_through_boto3_unchanged(lam, sqs, new_queue):
    _, url = new_queue("from-lambda")
    name = create(lam, {"app.py": """
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    r = sqs.send_message(QueueUrl=event["queue_url"], MessageBody="hello from " + context.function_name)
    return r["MessageId"]
"""}, Timeout=30, MemorySize=256)
    resp, message_id = invoke(lam, name, {"queue_url": url})
    assert "FunctionError" not in resp, message_id
    msgs = helpers.receive_all(sqs, url, 1)
    assert msgs[0]["Body"] == "hello from " + name
    assert msgs[0]["MessageId"] == message_id


def test_sigterm_with_workers_running_exits_cleanly(fresh_server):
    lam = lambda_client(fresh_server.endpoint)
    name = create(lam, ECHO, Timeout=60)
    _, warm = invoke(lam, name, {})
    errors = []

    def slow():
        try:
            invoke(lam, name, {"sleep": 30})
        except Exception as e:  # answered (as failed) or cut off by the shutdown
            errors.append(e)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5 * SLOW)
    assert fresh_server.stop() == 0
    t.join()
    import os
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(warm["pid"], 0)


def test_idle_worker_is_stopped(fresh_server_factory):
    import os
    srv = fresh_server_factory(extra_args=["--lambda-idle-ms", "300"])
    lam = lambda_client(srv.endpoint)
    name = create(lam, ECHO)
    _, first = invoke(lam, name, {})
    deadline = time.monotonic() + 10 * SLOW
    while time.monotonic() < deadline:
        try:
            os.kill(first["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the idle worker %d is still running" % first["pid"])
    _, second = invoke(lam, name, {})
    assert second["pid"] != first["pid"]
