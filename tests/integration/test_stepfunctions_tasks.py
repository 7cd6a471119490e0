"""Step Functions Task states invoking this server's Lambda functions (real Python
functions through the Lambda service): a bare function ARN and the lambda:invoke
integration, ResultSelector/ResultPath, the function's error names in Retry (with the
backoff timing) and Catch (a saga whose payment fails and whose compensation releases the
inventory), TimeoutSeconds, a missing function, and a Task in flight at SIGKILL."""

import json
import os
import tempfile
import time

import pytest

from helpers import ACCOUNT, REGION, make_client, unique
from lambda_helpers import create as create_function
from lambda_helpers import lambda_client
from sfn_helpers import run, wait_done

ROLE = "arn:aws:iam::000000000000:role/sfn"

CODE = {
    "app.py": """
import json, os, time

class PaymentFailed(Exception):
    pass

class Transient(Exception):
    pass

def reserve(event, context):
    return {"reserved": event["items"], "order": event["order"]}

def pay(event, context):
    raise PaymentFailed("card declined for %s" % event["order"])

def release(event, context):
    with open(event["ledger"], "a") as f:
        f.write("released %s\\n" % event["order"])
    return {"released": True}

def flaky(event, context):
    with open(event["counter"], "a") as f:
        f.write("x")
    with open(event["counter"]) as f:
        n = len(f.read())
    if n <= event["failures"]:
        raise Transient("attempt %d" % n)
    return {"attempts": n}

def slow(event, context):
    with open(event["counter"], "a") as f:
        f.write("x")
    time.sleep(event["sleep"])
    return {"slept": event["sleep"]}
"""
}


def fn_arn(name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


@pytest.fixture(scope="module")
def fns(server):
    lam = lambda_client(server.endpoint)
    names = {}
    for h in ("reserve", "pay", "release", "flaky", "slow"):
        names[h] = create_function(lam, CODE, handler="app." + h, Timeout=30)
    return names


def types(sfn, arn):
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]]


def test_bare_function_arn_with_result_selector(sfn, fns):
    d = run(
        sfn,
        {
            "StartAt": "Reserve",
            "States": {
                "Reserve": {
                    "Type": "Task",
                    "Resource": fn_arn(fns["reserve"]),
                    "ResultSelector": {"items.$": "$.reserved"},
                    "ResultPath": "$.reservation",
                    "End": True,
                }
            },
        },
        {"order": "o-1", "items": ["a", "b"]},
    )
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"order": "o-1", "items": ["a", "b"], "reservation": {"items": ["a", "b"]}}
    assert types(sfn, d["executionArn"]) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_lambda_invoke_integration(sfn, fns):
    d = run(
        sfn,
        {
            "StartAt": "Reserve",
            "States": {
                "Reserve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": fns["reserve"], "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": True,
                }
            },
        },
        {"order": "o-2", "items": ["c"]},
    )
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"reserved": ["c"], "order": "o-2"}
    events = sfn.get_execution_history(executionArn=d["executionArn"])["events"]
    assert [e["type"] for e in events][2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    sched = events[2]["taskScheduledEventDetails"]
    assert sched["resourceType"] == "lambda" and sched["resource"] == "invoke"
    assert json.loads(sched["parameters"])["FunctionName"] == fns["reserve"]
    succeeded = json.loads(events[4]["taskSucceededEventDetails"]["output"])
    assert succeeded == {"reserved": ["c"], "order": "o-2"}


def test_saga_compensates_when_payment_fails(sfn, fns, tmp_path):
    ledger = str(tmp_path / "ledger")
    definition = {
        "StartAt": "ReserveInventory",
        "States": {
            "ReserveInventory": {
                "Type": "Task",
                "Resource": fn_arn(fns["reserve"]),
                "ResultPath": "$.reservation",
                "Next": "ProcessPayment",
            },
            "ProcessPayment": {
                "Type": "Task",
                "Resource": fn_arn(fns["pay"]),
                "Catch": [{"ErrorEquals": ["PaymentFailed"], "ResultPath": "$.error", "Next": "ReleaseInventory"}],
                "Next": "ConfirmOrder",
            },
            "ConfirmOrder": {"Type": "Succeed"},
            "ReleaseInventory": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn_arn(fns["release"]), "Payload.$": "$"},
                "ResultPath": None,
                "Next": "OrderFailed",
            },
            "OrderFailed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "payment failed"},
        },
    }
    d = run(sfn, definition, {"order": "o-3", "items": ["x"], "ledger": ledger})
    assert d["status"] == "FAILED" and d["error"] == "OrderFailed"
    with open(ledger) as f:
        assert f.read() == "released o-3\n"
    events = sfn.get_execution_history(executionArn=d["executionArn"])["events"]
    failed = [e for e in events if e["type"] == "LambdaFunctionFailed"]
    assert len(failed) == 1
    assert failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "PaymentFailed"
    cause = json.loads(failed[0]["lambdaFunctionFailedEventDetails"]["cause"])
    assert cause["errorMessage"] == "card declined for o-3"
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["ReserveInventory", "ProcessPayment", "ReleaseInventory", "OrderFailed"]
    release_input = json.loads(
        [e for e in events if e["type"] == "TaskStateEntered"][-1]["stateEnteredEventDetails"]["input"]
    )
    assert release_input["error"]["Error"] == "PaymentFailed"
    assert json.loads(release_input["error"]["Cause"])["errorType"] == "PaymentFailed"


def test_retry_backoff_then_success(sfn, fns, tmp_path):
    counter = str(tmp_path / "counter")
    t0 = time.time()
    d = run(
        sfn,
        {
            "StartAt": "Flaky",
            "States": {
                "Flaky": {
                    "Type": "Task",
                    "Resource": fn_arn(fns["flaky"]),
                    "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3}],
                    "End": True,
                }
            },
        },
        {"counter": counter, "failures": 2},
    )
    elapsed = time.time() - t0
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"attempts": 3}
    assert elapsed >= 3.0, elapsed  # 1 s, then 2 s
    t = types(sfn, d["executionArn"])
    assert t.count("LambdaFunctionScheduled") == 3 and t.count("LambdaFunctionFailed") == 2


def test_retries_exhausted_then_states_all_catch(sfn, fns, tmp_path):
    counter = str(tmp_path / "counter")
    d = run(
        sfn,
        {
            "StartAt": "Flaky",
            "States": {
                "Flaky": {
                    "Type": "Task",
                    "Resource": fn_arn(fns["flaky"]),
                    "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        },
        {"counter": counter, "failures": 5},
    )
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"])["Error"] == "Transient"
    with open(counter) as f:
        assert f.read() == "xx"


def test_timeout_seconds(sfn, fns, tmp_path):
    counter = str(tmp_path / "counter")
    d = run(
        sfn,
        {
            "StartAt": "Slow",
            "States": {
                "Slow": {
                    "Type": "Task",
                    "Resource": fn_arn(fns["slow"]),
                    "TimeoutSeconds": 1,
                    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.err", "Next": "TimedOut"}],
                    "End": True,
                },
                "TimedOut": {"Type": "Pass", "End": True},
            },
        },
        {"counter": counter, "sleep": 3},
    )
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"])["err"]["Error"] == "States.Timeout"
    assert "LambdaFunctionTimedOut" in types(sfn, d["executionArn"])


def test_missing_function(sfn):
    d = run(
        sfn,
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": fn_arn("no-such-fn"), "End": True}}},
        {},
    )
    assert d["status"] == "FAILED" and d["error"] == "Lambda.ResourceNotFoundException"


def test_task_in_flight_at_sigkill_runs_again_and_completes_once(fresh_server):
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    lam = lambda_client(fresh_server.endpoint)
    slow = create_function(lam, CODE, handler="app.slow", Timeout=30)
    counter = os.path.join(tempfile.mkdtemp(prefix="sfn-"), "counter")
    sm = sfn.create_state_machine(
        name=unique("sm"),
        definition=json.dumps(
            {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": fn_arn(slow), "End": True}}}
        ),
        roleArn=ROLE,
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"counter": counter, "sleep": 2}))[
        "executionArn"
    ]
    deadline = time.time() + 20
    while not os.path.exists(counter) and time.time() < deadline:
        time.sleep(0.05)
    assert os.path.exists(counter), "the function never started"
    fresh_server.restart_after_kill()
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    d = wait_done(sfn, arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"slept": 2}
    with open(counter) as f:
        assert f.read() == "xx"  # invoked again after the restart: at least once
    t = types(sfn, arn)
    assert t.count("ExecutionSucceeded") == 1 and t.count("LambdaFunctionSucceeded") == 1
