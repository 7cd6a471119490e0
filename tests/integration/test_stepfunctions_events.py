"""Step Functions with EventBridge: a rule whose target is a state machine starts an
execution with the event as its input (seed 004: an order event starts a Parallel
order/inventory workflow), a missing machine goes to the target's dead-letter queue, and
execution status changes are published to the default bus (source aws.states); and
StartSyncExecution of EXPRESS machines."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from helpers import ACCOUNT, REGION, SLOW, drain, error_code, make_client, unique

ROLE = "arn:aws:iam::000000000000:role/sfn"

PARALLEL = {
    "StartAt": "Process",
    "States": {"Process": {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Order", "States": {"Order": {
                "Type": "Pass", "Parameters": {"order.$": "$.detail.orderId"}, "End": True}}},
            {"StartAt": "Inventory", "States": {"Inventory": {
                "Type": "Pass", "Parameters": {"items.$": "$.detail.items"}, "End": True}}}],
        "End": True}}}


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


@pytest.fixture(scope="module")
def events(server):
    return make_client(server.endpoint, "events")


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


def machine(sfn, definition, type_="STANDARD"):
    return sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition),
                                    roleArn=ROLE, type=type_)["stateMachineArn"]


def executions(sfn, sm, n, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = sfn.list_executions(stateMachineArn=sm)["executions"]
        if len(got) >= n and all(e["status"] != "RUNNING" for e in got):
            return got
        time.sleep(0.1)
    raise AssertionError("executions did not appear/finish: %s" % sm)


def test_rule_starts_the_parallel_workflow(sfn, events):
    sm = machine(sfn, PARALLEL)
    rule = unique("orders")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["shop.orders"],
                                                        "detail-type": ["OrderPlaced"]}))
    assert events.put_targets(Rule=rule, Targets=[{"Id": "wf", "Arn": sm, "RoleArn": ROLE}])[
        "FailedEntryCount"] == 0
    events.put_events(Entries=[{"Source": "shop.orders", "DetailType": "OrderPlaced",
                                "Detail": json.dumps({"orderId": "o-42", "items": ["a", "b"]})}])
    ex = executions(sfn, sm, 1)
    assert len(ex) == 1 and ex[0]["status"] == "SUCCEEDED"
    d = sfn.describe_execution(executionArn=ex[0]["executionArn"])
    event = json.loads(d["input"])
    assert event["source"] == "shop.orders" and event["detail"]["orderId"] == "o-42"
    assert json.loads(d["output"]) == [{"order": "o-42"}, {"items": ["a", "b"]}]


def test_missing_machine_goes_to_the_dead_letter_queue(sfn, events, sqs, new_queue):
    _, dlq = new_queue("dlq")
    sm = "arn:aws:states:%s:%s:stateMachine:%s" % (REGION, ACCOUNT, unique("gone"))
    rule = unique("r")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["shop.gone"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "wf", "Arn": sm,
                                            "DeadLetterConfig": {"Arn": queue_arn(sqs, dlq)}}])
    events.put_events(Entries=[{"Source": "shop.gone", "DetailType": "X", "Detail": "{}"}])
    msgs = drain(sqs, dlq, wait=5, MessageAttributeNames=["All"])
    assert len(msgs) == 1
    assert msgs[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"


def test_status_changes_on_the_default_bus(sfn, events, sqs, new_queue):
    _, url = new_queue("status")
    sm = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    rule = unique("status")
    events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [sm]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn(sqs, url)}])
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"k": 1}))["executionArn"]
    got = []
    deadline = time.time() + 10
    while len(got) < 2 and time.time() < deadline:
        got += [json.loads(m["Body"]) for m in drain(sqs, url, wait=1)]
    statuses = sorted(e["detail"]["status"] for e in got)
    assert statuses == ["RUNNING", "SUCCEEDED"]
    done = [e for e in got if e["detail"]["status"] == "SUCCEEDED"][0]
    assert done["resources"] == [arn] and done["detail"]["executionArn"] == arn
    assert json.loads(done["detail"]["input"]) == {"k": 1}
    assert json.loads(done["detail"]["output"]) == {"k": 1} and done["detail"]["stopDate"]
    # (the Pass state ran in the commit that started the execution: RUNNING says so still)
    running = [e for e in got if e["detail"]["status"] == "RUNNING"][0]
    assert running["detail"]["output"] is None and running["detail"]["stopDate"] is None
    # and a client may not forge that source
    r = events.put_events(Entries=[{"Source": "aws.states", "DetailType": "x", "Detail": "{}"}])
    assert r["FailedEntryCount"] == 1


def test_start_sync_execution(server):
    # StartSyncExecution's endpoint has the host prefix "sync-": against a local endpoint
    # the client must not inject it (as with any endpoint_url that is an IP address).
    sfn = make_client(server.endpoint, "stepfunctions", inject_host_prefix=False)
    express = machine(sfn, {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"},
              "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "End": True}}}, "EXPRESS")
    t0 = time.time()
    r = sfn.start_sync_execution(stateMachineArn=express, input=json.dumps({"a": 2, "b": 3}))
    assert time.time() - t0 >= 0.9
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"sum": 5}
    assert r["billingDetails"]["billedDurationInMilliseconds"] >= 1000
    failing = machine(sfn, {"StartAt": "F", "States": {"F": {
        "Type": "Fail", "Error": "Nope", "Cause": "because"}}}, "EXPRESS")
    r = sfn.start_sync_execution(stateMachineArn=failing)
    assert (r["status"], r["error"], r["cause"]) == ("FAILED", "Nope", "because")
    standard = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as e:
        sfn.start_sync_execution(stateMachineArn=standard)
    assert error_code(e) == "StateMachineTypeNotSupported"


def test_express_runs_in_memory(server, fresh_server):
    """EXPRESS executions run without the store: branches and iterations too, nothing of
    them is kept once they answered, and none comes back after a restart."""
    sfn = make_client(fresh_server.endpoint, "stepfunctions", inject_host_prefix=False)
    express = machine(sfn, {"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Next": "Each", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "End": True}}}]},
        "Each": {"Type": "Map", "ItemsPath": "$[1].items", "End": True,
                 "ItemProcessor": {"StartAt": "P", "States": {"P": {
                     "Type": "Pass", "Parameters": {"n.$": "$"}, "End": True}}}}}}, "EXPRESS")
    r = sfn.start_sync_execution(stateMachineArn=express, input=json.dumps({"items": [1, 2, 3]}))
    assert r["status"] == "SUCCEEDED", r
    assert json.loads(r["output"]) == [{"n": 1}, {"n": 2}, {"n": 3}]
    fresh_server.restart_after_kill()
    sfn = make_client(fresh_server.endpoint, "stepfunctions", inject_host_prefix=False)
    r = sfn.start_sync_execution(stateMachineArn=express, input=json.dumps({"items": [9]}))
    assert json.loads(r["output"]) == [{"n": 9}]
    with pytest.raises(ClientError) as e:  # as AWS: EXPRESS executions are not listed
        sfn.list_executions(stateMachineArn=express)
    assert error_code(e) == "StateMachineTypeNotSupported"


# A chain of the states the interpreter runs in one loop turn: plain Pass and Succeed states
# (input passed on), the context object read by Parameters and a Choice rule, a Result
# merged by ResultPath.
DATA_FLOW = {"StartAt": "Plain", "States": {
    "Plain": {"Type": "Pass", "Comment": "passes its input on", "Next": "Ctx"},
    "Ctx": {"Type": "Pass", "Next": "Pick", "Parameters": {
        "name.$": "$$.Execution.Name", "state.$": "$$.State.Name", "input.$": "$$.Execution.Input",
        "machine.$": "$$.StateMachine.Name", "orig.$": "$"}},
    "Pick": {"Type": "Choice", "Default": "Bad", "Choices": [
        {"Variable": "$$.State.Name", "StringEquals": "Pick", "Next": "Keep"}]},
    "Keep": {"Type": "Pass", "Result": {"k": [1]}, "ResultPath": "$.res", "Next": "Same"},
    "Same": {"Type": "Pass", "Next": "Done"},
    "Done": {"Type": "Succeed"},
    "Bad": {"Type": "Fail", "Error": "Bad"}}}


def sync_client(server):
    """StartSyncExecution's client (see test_start_sync_execution)."""
    return make_client(server.endpoint, "stepfunctions", inject_host_prefix=False)


def test_express_data_flow_and_context_object(server):
    sfn = sync_client(server)
    express = machine(sfn, DATA_FLOW, "EXPRESS")
    name = sfn.describe_state_machine(stateMachineArn=express)["name"]
    for run in ("one", "two"):  # the second sees the definition's Result as it was
        doc = {"run": run, "nested": {"a": [1, {"b": None}]}}
        r = sfn.start_sync_execution(stateMachineArn=express, name=run, input=json.dumps(doc))
        assert r["status"] == "SUCCEEDED", r
        assert json.loads(r["output"]) == {"name": run, "state": "Ctx", "input": doc,
                                           "machine": name, "orig": doc, "res": {"k": [1]}}
    plain = machine(sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                                      "B": {"Type": "Succeed"}}}, "EXPRESS")
    for doc in ({"x": "\u00e9\n"}, [1, 2], "text", 3.5, None):
        r = sfn.start_sync_execution(stateMachineArn=plain, input=json.dumps(doc))
        assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == doc, r
    jsonata = machine(sfn, {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Output": "{% $states.context.State.Name & $states.input.v %}",
              "Next": "C"},
        "C": {"Type": "Succeed"}}}, "EXPRESS")
    r = sfn.start_sync_execution(stateMachineArn=jsonata, input=json.dumps({"v": "!"}))
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == "B!", r


def test_standard_history_of_the_same_chain(sfn):
    """What an EXPRESS execution skips (its history) is still written for STANDARD ones."""
    sm = machine(sfn, DATA_FLOW)
    doc = {"run": "std"}
    arn = sfn.start_execution(stateMachineArn=sm, name="std", input=json.dumps(doc))["executionArn"]
    deadline = time.time() + 10
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.time() < deadline
        time.sleep(0.05)
    ev = sfn.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in ev] == ["ExecutionStarted"] + [
        "%sState%s" % (t, x) for t in ("Pass", "Pass", "Choice", "Pass", "Pass", "Succeed")
        for x in ("Entered", "Exited")] + ["ExecutionSucceeded"]
    assert [e["id"] for e in ev] == list(range(1, len(ev) + 1))
    plain_in, plain_out = ev[1]["stateEnteredEventDetails"], ev[2]["stateExitedEventDetails"]
    assert plain_in["name"] == plain_out["name"] == "Plain"
    assert json.loads(plain_in["input"]) == json.loads(plain_out["output"]) == doc
    out = json.loads(ev[-1]["executionSucceededEventDetails"]["output"])
    assert out["state"] == "Ctx" and out["res"] == {"k": [1]} and out["orig"] == doc


def test_express_output_limit_counts_the_escaped_text(server):
    """A state's output over 256 KiB fails the execution; what counts is the size of its
    JSON text, escapes included."""
    sfn = sync_client(server)
    triple = machine(sfn, {"StartAt": "Grow", "States": {"Grow": {
        "Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s", "c.$": "$.s"}, "End": True}}},
        "EXPRESS")
    r = sfn.start_sync_execution(stateMachineArn=triple, input=json.dumps({"s": "x" * 80000}))
    assert r["status"] == "SUCCEEDED" and len(r["output"]) > 240000, r["status"]
    # 3 x 45,000 characters, but each newline is 2 bytes of text ("\n"): 270,000 bytes
    r = sfn.start_sync_execution(stateMachineArn=triple, input=json.dumps({"s": "\n" * 45000}))
    assert (r["status"], r["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert "Grow" in r["cause"]


def test_a_long_express_execution_does_not_starve_other_clients(fresh_server):
    """An EXPRESS execution runs a bounded number of steps per turn of the loop: the server
    answers other clients while a long one runs."""
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    loop = machine(sfn, {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Default": "Inc", "Choices": [
            {"Variable": "$.i", "NumericGreaterThanEquals": 3000000, "Next": "Done"}]},
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}}}, "EXPRESS")
    sfn.start_execution(stateMachineArn=loop, input=json.dumps({"i": 0}))
    time.sleep(0.3)
    worst = 0
    for _ in range(10):
        t0 = time.time()
        status, _body = fresh_server.health()
        worst = max(worst, time.time() - t0)
        assert status == 200
        time.sleep(0.05)
    assert worst < 0.5 * SLOW, "the health endpoint waited %.2f s" % worst
