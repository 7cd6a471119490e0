"""Step Functions TestState through boto3 (the merged model: Debian's botocore predates the
operation): one state run on its own, with the inspection data of each stage of its data
flow; Choice's next state; a Wait that does not wait; Fail; Task states that really call a
Lambda function and SQS; Retry (RETRIABLE, errorDetails) and Catch (CAUGHT_ERROR); JSONata
Arguments / Output / Assign with variables; mocked results and errors (Task, Map, Parallel);
stateName in a whole machine; stateConfiguration; the errors of bad requests; and that a
TestState leaves no execution behind."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from helpers import ACCOUNT, REGION, error_code, make_client, unique
from lambda_helpers import create as create_function
from lambda_helpers import lambda_client
from sfn_helpers import merged_model_client

ROLE = "arn:aws:iam::000000000000:role/sfn"

CODE = {
    "app.py": """
class Transient(Exception):
    pass

def double(event, context):
    return {"doubled": event["n"] * 2, "seen": event}

def flaky(event, context):
    raise Transient("try again later: %s" % event.get("order"))

def slow(event, context):
    import time
    time.sleep(event["sleep"])
    return {"slept": event["sleep"]}
"""
}


@pytest.fixture(scope="module")
def sfn(server, tmp_path_factory):
    # TestState's endpoint has the host prefix "sync-": not with a local endpoint.
    return merged_model_client(server.endpoint, tmp_path_factory.mktemp("models"),
                               inject_host_prefix=False, read_timeout=60)


@pytest.fixture(scope="module")
def fns(server):
    lam = lambda_client(server.endpoint)
    return {h: create_function(lam, CODE, handler="app." + h, Timeout=30)
            for h in ("double", "flaky", "slow")}


def fn_arn(name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)


def try_state(sfn, state, input_doc=None, level="DEBUG", **kw):
    """TestState of one state (a dict) at level; the response with its JSON texts parsed."""
    if input_doc is not None:
        kw["input"] = json.dumps(input_doc)
    r = sfn.test_state(definition=json.dumps(state), inspectionLevel=level, **kw)
    return parsed(r)


def parsed(r):
    out = {k: v for k, v in r.items() if k != "ResponseMetadata"}
    if "output" in out:
        out["output"] = json.loads(out["output"])
    data = out.get("inspectionData", {})
    for k, v in list(data.items()):
        if isinstance(v, str):
            data[k] = json.loads(v)
    return out


def rejected(sfn, state, **kw):
    with pytest.raises(ClientError) as e:
        sfn.test_state(definition=state if isinstance(state, str) else json.dumps(state), **kw)
    return error_code(e), e.value.response["Error"]["Message"]


# ---- data flow ------------------------------------------------------------------------------


def test_pass_shows_each_stage_at_debug(sfn):
    state = {
        "Type": "Pass",
        "InputPath": "$.order",
        "Parameters": {"id.$": "$.id", "qty.$": "$.qty", "source": "web"},
        "ResultPath": "$.order.normalized",
        "OutputPath": "$.order",
        "Next": "Reserve",
    }
    doc = {"order": {"id": "o-1", "qty": 3}, "trace": "t-9"}
    r = try_state(sfn, state, doc)
    assert r["status"] == "SUCCEEDED"
    assert r["nextState"] == "Reserve"
    normalized = {"id": "o-1", "qty": 3, "source": "web"}
    assert r["output"] == {"id": "o-1", "qty": 3, "normalized": normalized}
    assert r["inspectionData"] == {
        "input": doc,
        "afterInputPath": {"id": "o-1", "qty": 3},
        "afterParameters": normalized,
        "afterResultSelector": normalized,
        "afterResultPath": {"order": {"id": "o-1", "qty": 3, "normalized": normalized},
                            "trace": "t-9"},
    }
    # INFO: the outcome alone
    info = try_state(sfn, state, doc, level="INFO")
    assert "inspectionData" not in info
    assert info["output"] == r["output"] and info["nextState"] == "Reserve"


def test_pass_with_result_replaces_the_input(sfn):
    state = {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.check", "End": True}
    r = try_state(sfn, state, {"a": 1}, level="TRACE")
    assert r["status"] == "SUCCEEDED" and "nextState" not in r
    assert r["output"] == {"a": 1, "check": {"ok": True}}
    assert r["inspectionData"] == {"input": {"a": 1}, "result": {"ok": True},
                                   "afterResultSelector": {"ok": True},
                                   "afterResultPath": {"a": 1, "check": {"ok": True}}}


def test_choice_gives_the_next_state(sfn):
    state = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.total", "NumericGreaterThan": 100, "Next": "ManualReview"},
            {"Variable": "$.total", "NumericGreaterThan": 0, "Next": "AutoApprove"},
        ],
        "Default": "Reject",
    }
    big = try_state(sfn, state, {"total": 250})
    assert big["status"] == "SUCCEEDED" and big["nextState"] == "ManualReview"
    assert big["output"] == {"total": 250}
    assert big["inspectionData"] == {"input": {"total": 250}, "afterInputPath": {"total": 250}}
    assert try_state(sfn, state, {"total": 10})["nextState"] == "AutoApprove"
    assert try_state(sfn, state, {"total": 0})["nextState"] == "Reject"
    no_default = dict(state)
    del no_default["Default"]
    r = try_state(sfn, no_default, {"total": 0})
    assert r["status"] == "FAILED" and r["error"] == "States.NoChoiceMatched"
    assert "nextState" not in r and "output" not in r


def test_wait_does_not_wait(sfn):
    started = time.time()
    r = try_state(sfn, {"Type": "Wait", "Seconds": 3600, "Next": "Later"}, {"x": 1})
    assert time.time() - started < 10
    assert r["status"] == "SUCCEEDED" and r["nextState"] == "Later" and r["output"] == {"x": 1}


def test_succeed_and_fail(sfn):
    ok = try_state(sfn, {"Type": "Succeed", "OutputPath": "$.keep"}, {"keep": [1, 2]})
    assert ok["status"] == "SUCCEEDED" and ok["output"] == [1, 2] and "nextState" not in ok
    failed = try_state(sfn, {"Type": "Fail", "Error": "OrderRejected", "Cause": "no stock"},
                        {"x": 1})
    assert failed["status"] == "FAILED"
    assert (failed["error"], failed["cause"]) == ("OrderRejected", "no stock")
    assert "output" not in failed
    assert failed["inspectionData"] == {"input": {"x": 1}, "afterInputPath": {"x": 1}}


# ---- Task states that really call --------------------------------------------------------------


def test_task_calls_a_lambda_function(sfn, fns):
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": fns["double"], "Payload": {"n.$": "$.n"}},
        "ResultSelector": {"value.$": "$.Payload.doubled"},
        "ResultPath": "$.result",
        "Next": "Store",
    }
    r = try_state(sfn, state, {"n": 21}, roleArn=ROLE)
    assert r["status"] == "SUCCEEDED" and r["nextState"] == "Store"
    assert r["output"] == {"n": 21, "result": {"value": 42}}
    data = r["inspectionData"]
    assert data["afterParameters"] == {"FunctionName": fns["double"], "Payload": {"n": 21}}
    assert data["result"]["Payload"] == {"doubled": 42, "seen": {"n": 21}}
    assert data["result"]["StatusCode"] == 200
    assert data["afterResultSelector"] == {"value": 42}
    assert data["afterResultPath"] == {"n": 21, "result": {"value": 42}}
    # a bare function ARN: the function's own result
    bare = try_state(sfn, {"Type": "Task", "Resource": fn_arn(fns["double"]), "End": True},
                      {"n": 5}, roleArn=ROLE)
    assert bare["status"] == "SUCCEEDED" and bare["output"] == {"doubled": 10, "seen": {"n": 5}}


def test_task_sends_a_real_sqs_message(sfn, server):
    sqs = make_client(server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=unique("ts"))["QueueUrl"]
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": url, "MessageBody.$": "$.order"},
        "ResultSelector": {"id.$": "$.MessageId"},
        "End": True,
    }
    r = try_state(sfn, state, {"order": {"id": "o-7"}}, roleArn=ROLE)
    assert r["status"] == "SUCCEEDED", r
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert len(got) == 1 and json.loads(got[0]["Body"]) == {"id": "o-7"}
    assert r["output"] == {"id": got[0]["MessageId"]}
    assert r["inspectionData"]["result"]["MessageId"] == got[0]["MessageId"]


def test_failing_task_with_retry_is_retriable(sfn, fns):
    state = {
        "Type": "Task",
        "Resource": fn_arn(fns["flaky"]),
        "Retry": [
            {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1},
            {"ErrorEquals": ["Transient"], "IntervalSeconds": 3, "BackoffRate": 2.0,
             "MaxAttempts": 3},
        ],
        "End": True,
    }
    r = try_state(sfn, state, {"order": "o-3"}, roleArn=ROLE)
    assert r["status"] == "RETRIABLE"
    assert r["error"] == "Transient" and "try again later: o-3" in r["cause"]
    assert "output" not in r and "nextState" not in r
    assert r["inspectionData"]["errorDetails"] == {"retryIndex": 1,
                                                   "retryBackoffIntervalSeconds": 3}
    # two retries already made: the third waits 3 * 2^2 seconds
    third = try_state(sfn, state, {"order": "o-3"}, roleArn=ROLE,
                       stateConfiguration={"retrierRetryCount": 2})
    assert third["status"] == "RETRIABLE"
    assert third["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 12
    # all made: the error goes on (no catcher: the state fails)
    spent = try_state(sfn, state, {"order": "o-3"}, roleArn=ROLE,
                       stateConfiguration={"retrierRetryCount": 3})
    assert spent["status"] == "FAILED" and spent["error"] == "Transient"


def test_failing_task_with_catch_is_caught(sfn, fns):
    state = {
        "Type": "Task",
        "Resource": fn_arn(fns["flaky"]),
        "Catch": [
            {"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Compensate"},
        ],
        "Next": "Done",
    }
    r = try_state(sfn, state, {"order": "o-4"}, roleArn=ROLE)
    assert r["status"] == "CAUGHT_ERROR"
    assert r["nextState"] == "Compensate"
    assert r["error"] == "Transient"
    assert r["output"]["order"] == "o-4"
    assert r["output"]["failure"]["Error"] == "Transient"
    assert json.loads(r["output"]["failure"]["Cause"])["errorMessage"] == "try again later: o-4"
    assert r["inspectionData"]["errorDetails"] == {"catchIndex": 1}


def test_task_timeout_seconds(sfn, fns):
    state = {"Type": "Task", "Resource": fn_arn(fns["slow"]), "TimeoutSeconds": 1,
             "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TooSlow"}], "End": True}
    started = time.time()
    r = try_state(sfn, state, {"sleep": 4}, roleArn=ROLE)
    assert time.time() - started < 3.5
    assert r["status"] == "CAUGHT_ERROR" and r["error"] == "States.Timeout"
    assert r["nextState"] == "TooSlow"
    # the late answer is dropped; the server goes on answering
    time.sleep(3.5)
    ok = try_state(sfn, {"Type": "Task", "Resource": fn_arn(fns["double"]), "End": True},
                   {"n": 2}, roleArn=ROLE)
    assert ok["output"]["doubled"] == 4


# ---- JSONata and variables ----------------------------------------------------------------------


def test_jsonata_arguments_output_assign_with_variables(sfn, fns):
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": fns["double"],
                      "Payload": {"n": "{% $states.input.n + $bonus %}"}},
        "Output": {"total": "{% $states.result.Payload.doubled %}", "who": "{% $customer %}"},
        "Assign": {"lastTotal": "{% $states.result.Payload.doubled %}"},
        "Next": "Bill",
    }
    r = try_state(sfn, state, {"n": 4}, roleArn=ROLE,
                   variables=json.dumps({"bonus": 1, "customer": "c-1"}))
    assert r["status"] == "SUCCEEDED" and r["nextState"] == "Bill"
    assert r["output"] == {"total": 10, "who": "c-1"}
    data = r["inspectionData"]
    assert data["afterArguments"] == {"FunctionName": fns["double"], "Payload": {"n": 5}}
    assert data["result"]["Payload"]["doubled"] == 10
    assert data["variables"] == {"bonus": 1, "customer": "c-1", "lastTotal": 10}
    assert "afterInputPath" not in data and "afterResultPath" not in data


def test_jsonata_pass_with_state_name_in_a_machine(sfn):
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "Price",
        "States": {
            "Price": {"Type": "Pass", "Output": {"net": "{% $states.input.gross / 1.2 %}"},
                      "Assign": {"currency": "EUR"}, "Next": "Tax"},
            "Tax": {"Type": "Pass", "Output": "{% $states.input.net * 0.2 & ' ' & $currency %}",
                    "End": True},
        },
    }
    r = parsed(sfn.test_state(definition=json.dumps(machine), stateName="Price",
                              input=json.dumps({"gross": 120}), inspectionLevel="DEBUG"))
    assert r["status"] == "SUCCEEDED" and r["nextState"] == "Tax"
    assert r["output"] == {"net": 100}
    assert r["inspectionData"] == {"input": {"gross": 120}, "variables": {"currency": "EUR"}}
    tax = parsed(sfn.test_state(definition=json.dumps(machine), stateName="Tax",
                                input=json.dumps({"net": 100}),
                                variables=json.dumps({"currency": "USD"})))
    assert tax["status"] == "SUCCEEDED" and tax["output"] == "20 USD" and "nextState" not in tax
    # a state inside a Parallel's branch: JSONata as its machine
    nested = {"QueryLanguage": "JSONata", "StartAt": "Both", "States": {"Both": {
        "Type": "Parallel", "End": True, "Branches": [{"StartAt": "Inner", "States": {
            "Inner": {"Type": "Pass", "Output": "{% $states.input.a + 1 %}", "Next": "Last"},
            "Last": {"Type": "Succeed"}}}]}}}
    inner = parsed(sfn.test_state(definition=json.dumps(nested), stateName="Inner",
                                  input=json.dumps({"a": 1})))
    assert (inner["status"], inner["output"], inner["nextState"]) == ("SUCCEEDED", 2, "Last")


# ---- mocks ----------------------------------------------------------------------------------------


def test_mock_result_in_place_of_the_call(sfn, server):
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "http://nowhere/000000000000/none", "MessageBody.$": "$"},
        "ResultSelector": {"id.$": "$.MessageId"},
        "Next": "After",
    }
    mock = {"result": json.dumps({"MessageId": "m-1", "MD5OfMessageBody": "abc"})}
    r = try_state(sfn, state, {"a": 1}, mock=mock)  # no roleArn needed with a mock
    assert r["status"] == "SUCCEEDED" and r["nextState"] == "After"
    assert r["output"] == {"id": "m-1"}
    assert r["inspectionData"]["result"] == {"MessageId": "m-1", "MD5OfMessageBody": "abc"}
    # checked against SendMessage's output shape
    code, msg = rejected(sfn, state, mock={"result": json.dumps({"MessageId": 7})})
    assert code == "ValidationException"
    assert msg == "Mock result schema validation error: Field 'MessageId' must be a string"
    lax = try_state(sfn, state, {}, mock={"result": json.dumps({"MessageId": 7}),
                                           "fieldValidationMode": "NONE"})
    assert lax["output"] == {"id": 7}


def test_mock_error_output_with_catch_and_retry(sfn):
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
        "Parameters": {"TableName": "orders", "Item": {}},
        "Retry": [{"ErrorEquals": ["DynamoDb.ProvisionedThroughputExceededException"],
                   "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
        "End": True,
    }
    throttled = {"errorOutput": {"error": "DynamoDb.ProvisionedThroughputExceededException",
                                 "cause": "slow down"}}
    r = try_state(sfn, state, {}, mock=throttled)
    assert r["status"] == "RETRIABLE" and r["cause"] == "slow down"
    assert r["inspectionData"]["errorDetails"] == {"retryIndex": 0,
                                                   "retryBackoffIntervalSeconds": 1}
    spent = try_state(sfn, state, {}, mock=throttled,
                       stateConfiguration={"retrierRetryCount": 2})
    assert spent["status"] == "CAUGHT_ERROR" and spent["nextState"] == "Failed"
    assert spent["output"] == {"Error": "DynamoDb.ProvisionedThroughputExceededException",
                               "Cause": "slow down"}
    other = try_state(sfn, state, {}, mock={"errorOutput": {"error": "Boom", "cause": "x"}})
    assert other["status"] == "CAUGHT_ERROR" and other["error"] == "Boom"
    assert other["inspectionData"]["errorDetails"] == {"catchIndex": 0}


def test_map_and_parallel_need_a_mock(sfn):
    m = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"sku.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index"},
        "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "Ship",
                          "States": {"Ship": {"Type": "Pass", "End": True}}},
        "ResultPath": "$.shipped",
        "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
                   "Next": "TooMany"}],
        "End": True,
    }
    code, msg = rejected(sfn, m)
    assert code == "InvalidDefinition"
    assert msg.startswith("TestState API does not support Map or Parallel states.")
    r = try_state(sfn, m, {"items": ["a", "b"]}, mock={"result": json.dumps(["ok-a", "ok-b"])})
    assert r["status"] == "SUCCEEDED"
    assert r["output"] == {"items": ["a", "b"], "shipped": ["ok-a", "ok-b"]}
    data = r["inspectionData"]
    assert data["afterItemsPath"] == ["a", "b"]
    assert data["afterItemSelector"] == [{"sku": "a", "at": 0}, {"sku": "b", "at": 1}]
    assert data["maxConcurrency"] == 0 and data["toleratedFailureCount"] == 1
    over = try_state(sfn, m, {"items": ["a", "b"]}, mock={"result": "[1, 2]"},
                      stateConfiguration={"mapIterationFailureCount": 2})
    assert over["status"] == "CAUGHT_ERROR" and over["nextState"] == "TooMany"
    assert over["error"] == "States.ExceedToleratedFailureThreshold"
    code, msg = rejected(sfn, m, mock={"result": json.dumps({"not": "an array"})})
    assert (code, msg) == ("ValidationException", "Mocked result must be an array.")
    p = {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}]}
    both = try_state(sfn, p, {"x": 1}, mock={"result": json.dumps([{"a": 1}, {"b": 2}])})
    assert both["status"] == "SUCCEEDED" and both["output"] == [{"a": 1}, {"b": 2}]
    code, msg = rejected(sfn, p, mock={"result": json.dumps([1])})
    assert msg == ("Mocked result must contain the same number of items as number of "
                   "Parallel branches.")
    failed = try_state(sfn, p, {}, mock={"errorOutput": {"error": "BranchBroke"}},
                        stateConfiguration={"errorCausedByState": "B"})
    assert failed["status"] == "FAILED" and failed["error"] == "BranchBroke"


def test_mock_rules(sfn):
    code, msg = rejected(sfn, {"Type": "Pass", "End": True}, mock={"result": "{}"})
    assert (code, msg) == ("ValidationException",
                           "State type 'Pass' is not supported when a mock is specified")
    task = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}
    code, msg = rejected(sfn, task, mock={"result": "{}", "errorOutput": {"error": "E"}})
    assert msg == "A test mock should have only one of the following fields: [result, errorOutput]."
    code, msg = rejected(sfn, task, mock={"result": "{not json"})
    assert (code, msg) == ("ValidationException", "Mocked result must be valid JSON")
    code, msg = rejected(sfn, task, mock={"result": "{}"}, revealSecrets=True)
    assert msg == "TestState does not support RevealSecrets when a mock is specified."
    code, msg = rejected(sfn, task)
    assert (code, msg) == ("ValidationException",
                           "RoleArn must be specified when testing a Task state")
    code, _ = rejected(sfn, {"Type": "Pass", "End": True}, context="{}")
    assert code == "ValidationException"
    # an activity runs only mocked; the context object is the caller's where given
    activity = {"Type": "Task", "End": True,
                "Resource": "arn:aws:states:%s:%s:activity:approve" % (REGION, ACCOUNT),
                "ResultSelector": {"by.$": "$.by", "attempt.$": "$$.State.RetryCount",
                                   "item.$": "$$.Map.Item.Index"}}
    code, _ = rejected(sfn, activity, roleArn=ROLE)
    assert code == "InvalidDefinition"
    r = try_state(sfn, activity, {}, mock={"result": json.dumps({"by": "ann"})},
                   context=json.dumps({"Map": {"Item": {"Index": 3, "Value": "v"}}}),
                   stateConfiguration={"retrierRetryCount": 2})
    assert r["output"] == {"by": "ann", "attempt": 2, "item": 3}


# ---- bad requests, and no trace ----------------------------------------------------------------


def test_invalid_definitions_and_inputs(sfn):
    code, msg = rejected(sfn, {"Type": "Pass", "Next": "X", "Bogus": 1})
    assert code == "InvalidDefinition"
    assert msg.startswith("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED:")
    assert "Bogus" in msg
    code, msg = rejected(sfn, {"Next": "X"})
    assert code == "InvalidDefinition" and "These fields are required: [Type] at /" in msg
    code, msg = rejected(sfn, "{not json")
    assert code == "InvalidDefinition" and "INVALID_JSON_DESCRIPTION" in msg
    code, msg = rejected(sfn, {"Type": "Choice", "Choices": [{"Variable": "$.x",
                                                              "NumericEquals": "one",
                                                              "Next": "A"}]})
    assert code == "InvalidDefinition"
    code, msg = rejected(sfn, {"Type": "Pass", "End": True}, input="{oops")
    assert code == "InvalidExecutionInput"
    assert msg.startswith("Invalid State Machine Execution Input:")
    code, msg = rejected(sfn, {"Type": "Pass", "End": True}, inspectionLevel="LOUD")
    assert code == "ValidationException" and "[INFO, DEBUG, TRACE]" in msg
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    code, _ = rejected(sfn, machine, stateName="Missing")
    assert code == "ValidationException"
    code, _ = rejected(sfn, machine)  # a machine needs stateName
    assert code == "InvalidDefinition"
    code, _ = rejected(sfn, {"Type": "Pass", "End": True}, roleArn="not-an-arn")
    assert code == "InvalidArn"
    code, _ = rejected(sfn, {"Type": "Pass", "End": True}, variables="[1]")
    assert code == "ValidationException"


def test_leaves_no_execution_behind(sfn, fns):
    before = sfn.list_state_machines()["stateMachines"]
    r = try_state(sfn, {"Type": "Pass", "Parameters": {"ctx.$": "$$"}, "End": True}, {"a": 1},
                   roleArn=ROLE)
    ctx = r["output"]["ctx"]
    assert ctx["State"]["Name"] == "StateName"
    assert ctx["Execution"]["Input"] == {"a": 1} and ctx["Execution"]["RoleArn"] == ROLE
    exec_arn = ctx["Execution"]["Id"]
    assert ":express:" in exec_arn
    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn=exec_arn)
    assert error_code(e) in ("ExecutionDoesNotExist", "InvalidArn")
    # a Task that ran (a real call) leaves nothing either
    try_state(sfn, {"Type": "Task", "Resource": fn_arn(fns["double"]), "End": True}, {"n": 1},
               roleArn=ROLE)
    assert sfn.list_state_machines()["stateMachines"] == before
    sm = sfn.create_state_machine(name=unique("sm"), roleArn=ROLE, definition=json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    sfn.test_state(definition=json.dumps({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "End": True}}}), stateName="A")
    assert sfn.list_executions(stateMachineArn=sm)["executions"] == []
