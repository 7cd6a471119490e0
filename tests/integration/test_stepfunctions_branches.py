"""Step Functions Parallel and Map states through boto3: branch outputs in order, the
history events AWS emits, a failing branch caught (the others aborted), Retry re-running a
Parallel, Map with ItemsPath / ItemSelector / $$.Map.Item / MaxConcurrency / ItemBatcher,
tolerated failures and the threshold, nested Parallel in Map, Lambda tasks inside branches,
and a Map waiting in its iterations surviving SIGKILL."""

import json
import os
import tempfile
import time

import pytest

from helpers import ACCOUNT, REGION, make_client, unique
from lambda_helpers import create as create_function
from lambda_helpers import lambda_client
from sfn_helpers import wait_done

ROLE = "arn:aws:iam::000000000000:role/sfn"

CODE = {"app.py": """
import json, time

class ItemRejected(Exception):
    pass

def double(event, context):
    if event.get("reject"):
        raise ItemRejected("rejected %s" % event["n"])
    return event["n"] * 2

def count(event, context):
    with open(event["counter"], "a") as f:
        f.write("x")
    with open(event["counter"]) as f:
        n = len(f.read())
    if n <= event["failures"]:
        raise ItemRejected("attempt %d" % n)
    return n
"""}


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


@pytest.fixture(scope="module")
def fns(server):
    lam = lambda_client(server.endpoint)
    return {h: create_function(lam, CODE, handler="app." + h, Timeout=30) for h in ("double", "count")}


def fn_arn(name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)


def start(sfn, definition, input_doc):
    sm = sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition),
                                  roleArn=ROLE)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=sm, input=json.dumps(input_doc))["executionArn"], sm


def run(sfn, definition, input_doc, timeout=60):
    arn, _ = start(sfn, definition, input_doc)
    return wait_done(sfn, arn, timeout)


def history(sfn, arn):
    return sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def types(sfn, arn):
    return [e["type"] for e in history(sfn, arn)]


def test_parallel_outputs_in_branch_order(sfn):
    d = run(sfn, {
        "StartAt": "Both",
        "States": {"Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                {"StartAt": "B1", "States": {
                    "B1": {"Type": "Wait", "Seconds": 1, "Next": "B2"},
                    "B2": {"Type": "Pass", "Parameters": {"got.$": "$.x"}, "End": True}}},
            ],
            "ResultPath": "$.both",
            "End": True}}}, {"x": 7})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"x": 7, "both": ["a", {"got": 7}]}
    ev = history(sfn, d["executionArn"])
    t = [e["type"] for e in ev]
    assert t[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert t[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    assert t.count("PassStateEntered") == 2 and "WaitStateExited" in t
    assert [e["id"] for e in ev] == list(range(1, len(ev) + 1))
    assert all(e["previousEventId"] == e["id"] - 1 for e in ev)
    # Branches are not executions of their own.
    listed = sfn.list_executions(stateMachineArn=d["stateMachineArn"])["executions"]
    assert [x["executionArn"] for x in listed] == [d["executionArn"]]


def test_failing_branch_is_caught_and_the_others_aborted(sfn):
    d = run(sfn, {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Slow", "States": {
                        "Slow": {"Type": "Wait", "Seconds": 30, "Next": "Never"},
                        "Never": {"Type": "Pass", "Result": "late", "End": True}}},
                    {"StartAt": "Boom", "States": {
                        "Boom": {"Type": "Fail", "Error": "Inventory.Short", "Cause": "none left"}}},
                ],
                "Catch": [{"ErrorEquals": ["Inventory.Short"], "ResultPath": "$.error",
                           "Next": "Compensate"}],
                "End": True},
            "Compensate": {"Type": "Pass", "End": True}}}, {"order": 1}, timeout=20)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"order": 1, "error": {"Error": "Inventory.Short",
                                                             "Cause": "none left"}}
    t = types(sfn, d["executionArn"])
    assert "ParallelStateFailed" in t and "PassStateEntered" in t
    assert "ParallelStateSucceeded" not in t


def test_uncaught_branch_failure_fails_the_execution(sfn):
    d = run(sfn, {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E1", "Cause": "c1"}}}]}}},
        {})
    assert d["status"] == "FAILED" and d["error"] == "E1" and d["cause"] == "c1"


def test_retry_reruns_the_parallel(sfn, fns):
    counter = tempfile.mktemp(prefix="sluice-par-")
    try:
        d = run(sfn, {
            "StartAt": "P",
            "States": {"P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Count", "States": {"Count": {
                    "Type": "Task", "Resource": fn_arn(fns["count"]), "End": True}}}],
                "Retry": [{"ErrorEquals": ["ItemRejected"], "IntervalSeconds": 1,
                           "MaxAttempts": 3, "BackoffRate": 1}],
                "End": True}}}, {"counter": counter, "failures": 2})
        assert d["status"] == "SUCCEEDED", d
        assert json.loads(d["output"]) == [3]
        assert types(sfn, d["executionArn"]).count("ParallelStateStarted") == 3
    finally:
        if os.path.exists(counter):
            os.unlink(counter)


def test_map_with_items_path_selector_and_lambda(sfn, fns):
    d = run(sfn, {
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.orders",
            "MaxConcurrency": 2,
            "ItemSelector": {"n.$": "$$.Map.Item.Value.qty", "index.$": "$$.Map.Item.Index",
                             "customer.$": "$.customer"},
            "ItemProcessor": {"StartAt": "Double", "States": {"Double": {
                "Type": "Task", "Resource": fn_arn(fns["double"]),
                "Parameters": {"n.$": "$.n"}, "ResultPath": "$.doubled", "End": True}}},
            "ResultSelector": {"all.$": "$"},
            "End": True}}},
        {"customer": "c-9", "orders": [{"qty": 1}, {"qty": 2}, {"qty": 3}, {"qty": 4}, {"qty": 5}]})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])["all"]
    assert [o["doubled"] for o in out] == [2, 4, 6, 8, 10]
    assert [o["index"] for o in out] == [0, 1, 2, 3, 4]
    assert all(o["customer"] == "c-9" for o in out)
    ev = history(sfn, d["executionArn"])
    started = [e for e in ev if e["type"] == "MapStateStarted"]
    assert started[0]["mapStateStartedEventDetails"] == {"length": 5}
    its = [e["mapIterationStartedEventDetails"]["index"] for e in ev
           if e["type"] == "MapIterationStarted"]
    assert sorted(its) == [0, 1, 2, 3, 4]
    assert sum(1 for e in ev if e["type"] == "MapIterationSucceeded") == 5
    assert [e["type"] for e in ev][-3:] == ["MapStateSucceeded", "MapStateExited",
                                            "ExecutionSucceeded"]


def test_map_concurrency_is_capped(sfn):
    arn, _ = start(sfn, {
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map", "MaxConcurrency": 2,
            "ItemProcessor": {"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 1, "End": True}}},
            "End": True}}}, [1, 2, 3, 4])
    d = wait_done(sfn, arn, 30)
    assert d["status"] == "SUCCEEDED"
    # Two at a time: iterations 3 and 4 start only after 1 and 2 end.
    ev = history(sfn, arn)
    order = [(e["type"], (e.get("mapIterationStartedEventDetails") or
                          e.get("mapIterationSucceededEventDetails") or {}).get("index"))
             for e in ev if e["type"] in ("MapIterationStarted", "MapIterationSucceeded")]
    running = peak = 0
    for kind, _ in order:
        running += 1 if kind == "MapIterationStarted" else -1
        peak = max(peak, running)
    assert peak == 2
    assert json.loads(d["output"]) == [1, 2, 3, 4]


def test_map_failure_fails_without_tolerance(sfn, fns):
    d = run(sfn, {
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Double", "States": {"Double": {
                "Type": "Task", "Resource": fn_arn(fns["double"]), "End": True}}},
            "End": True}}}, [{"n": 1}, {"n": 2, "reject": True}, {"n": 3}])
    assert d["status"] == "FAILED" and d["error"] == "ItemRejected"
    t = types(sfn, d["executionArn"])
    assert "MapIterationFailed" in t and "MapStateFailed" in t


def test_map_tolerated_failures(sfn, fns):
    proc = {"StartAt": "Double", "States": {"Double": {
        "Type": "Task", "Resource": fn_arn(fns["double"]), "End": True}}}
    items = [{"n": 1}, {"n": 2, "reject": True}, {"n": 3}, {"n": 4}]
    d = run(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ToleratedFailureCount": 1, "ItemProcessor": proc, "End": True}}}, items)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out[0] == 2 and out[2] == 6 and out[3] == 8
    assert out[1]["Error"] == "ItemRejected"
    d = run(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ToleratedFailurePercentage": 10, "ItemProcessor": proc, "End": True}}},
        items)
    assert d["status"] == "FAILED" and d["error"] == "States.ExceedToleratedFailureThreshold"


def test_map_item_batcher_and_empty_input(sfn):
    d = run(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run": "r1"}},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True}}}, [1, 2, 3, 4, 5])
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [
        {"Items": [1, 2], "BatchInput": {"run": "r1"}},
        {"Items": [3, 4], "BatchInput": {"run": "r1"}},
        {"Items": [5], "BatchInput": {"run": "r1"}}]
    d = run(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.none",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True}}}, {"none": []})
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == []
    d = run(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.x",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True}}}, {"x": "not a list"})
    assert d["status"] == "FAILED" and d["error"] == "States.Runtime"


def test_parallel_inside_map(sfn):
    d = run(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "Iterator": {"StartAt": "Both", "States": {"Both": {
            "Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "Parameters": {"l.$": "$"},
                                                  "End": True}}},
                {"StartAt": "R", "States": {"R": {"Type": "Pass", "Parameters": {"r.$": "$"},
                                                  "End": True}}}]}}},
        "End": True}}}, ["a", "b"])
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [[{"l": "a"}, {"r": "a"}], [{"l": "b"}, {"r": "b"}]]


def test_stop_aborts_the_branches(sfn):
    arn, sm = start(sfn, {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}]}}}, {})
    time.sleep(0.5)
    sfn.stop_execution(executionArn=arn, error="Stop", cause="by test")
    d = wait_done(sfn, arn, 10)
    assert d["status"] == "ABORTED"
    assert types(sfn, arn)[-1] == "ExecutionAborted"


def test_map_in_wait_survives_sigkill(fresh_server):
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    arn, _ = start(sfn, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "MaxConcurrency": 2,
        "ItemProcessor": {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"done.$": "$"}, "End": True}}},
        "End": True}}}, [1, 2, 3])
    time.sleep(0.7)
    fresh_server.restart_after_kill()
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    d = wait_done(sfn, arn, 30)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [{"done": 1}, {"done": 2}, {"done": 3}]
    ev = history(sfn, arn)
    t = [e["type"] for e in ev]
    # every iteration started and ended exactly once, and the execution ended once
    assert t.count("MapIterationStarted") == 3 and t.count("MapIterationSucceeded") == 3
    assert t.count("ExecutionSucceeded") == 1 and t.count("MapStateStarted") == 1


def test_execution_timeout(sfn):
    arn, _ = start(sfn, {"TimeoutSeconds": 1, "StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}]}}},
        {})
    d = wait_done(sfn, arn, 10)
    assert d["status"] == "TIMED_OUT" and d["error"] == "States.Timeout"
    t = types(sfn, arn)
    assert t[-1] == "ExecutionTimedOut" and t.count("ExecutionTimedOut") == 1
