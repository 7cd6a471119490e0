"""Step Functions through boto3: state machines (create, describe, list, update, delete,
tags, definition validation with AWS's InvalidDefinition messages), executions (start with
name idempotency, describe, list with status filter and pagination, stop, history), and the
states Pass, Choice, Wait, Succeed and Fail with the data flow examples of the AWS guide."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from helpers import error_code, make_client, raw_request, unique
from sfn_helpers import run

ROLE = "arn:aws:iam::000000000000:role/sfn"


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


def create(sfn, definition, name=None, **kw):
    return sfn.create_state_machine(
        name=name or unique("sm"), definition=json.dumps(definition), roleArn=ROLE, **kw
    )["stateMachineArn"]


def history(sfn, arn, **kw):
    return sfn.get_execution_history(executionArn=arn, **kw)["events"]


def invalid_message(sfn, definition):
    with pytest.raises(ClientError) as e:
        create(sfn, definition)
    assert error_code(e) == "InvalidDefinition"
    return e.value.response["Error"]["Message"]


def validate_raw(endpoint, definition):
    """ValidateStateMachineDefinition (newer than Debian's botocore model): raw JSON 1.0."""
    body = json.dumps({"definition": json.dumps(definition)})
    status, _, out = raw_request(
        endpoint,
        body,
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.ValidateStateMachineDefinition",
        },
    )
    assert status == 200, out
    return json.loads(out)


PASS_END = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


# ---------------------------------------------------------------- state machines


def test_create_describe_list_update_delete(sfn):
    name = unique("sm")
    arn = create(sfn, PASS_END, name=name, type="STANDARD", tags=[{"key": "team", "value": "a"}])
    assert arn == "arn:aws:states:us-east-1:000000000000:stateMachine:" + name
    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["name"] == name and d["status"] == "ACTIVE" and d["type"] == "STANDARD"
    assert json.loads(d["definition"]) == PASS_END and d["roleArn"] == ROLE
    assert any(m["stateMachineArn"] == arn for m in sfn.list_state_machines()["stateMachines"])
    # same request again: idempotent; a different definition: already exists
    assert create(sfn, PASS_END, name=name) == arn
    with pytest.raises(ClientError) as e:
        create(sfn, {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}, name=name)
    assert error_code(e) == "StateMachineAlreadyExists"
    new_def = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
    assert "updateDate" in sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(new_def))
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == new_def
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_code(e) == "StateMachineDoesNotExist"


def test_names_arns_and_types(sfn):
    for bad in ["has space", "a/b", "x" * 81, "q?", "brace{"]:
        with pytest.raises(ClientError) as e:
            create(sfn, PASS_END, name=bad)
        assert error_code(e) == "InvalidName"
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine(stateMachineArn="not-an-arn")
    assert error_code(e) == "InvalidArn"
    arn = create(sfn, PASS_END, type="EXPRESS")
    assert sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"


def test_list_state_machines_pagination(sfn):
    for _ in range(3):
        create(sfn, PASS_END)
    seen, token = [], None
    while True:
        kw = {"maxResults": 2}
        if token:
            kw["nextToken"] = token
        page = sfn.list_state_machines(**kw)
        assert len(page["stateMachines"]) <= 2
        seen += [m["stateMachineArn"] for m in page["stateMachines"]]
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 3


def test_tags(sfn):
    arn = create(sfn, PASS_END)
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    with pytest.raises(ClientError) as e:
        sfn.list_tags_for_resource(resourceArn=arn + "-gone")
    assert error_code(e) == "ResourceNotFound"


# ---------------------------------------------------------------- definition validation


def test_invalid_definitions_have_aws_messages(sfn):
    msg = invalid_message(
        sfn,
        {
            "StartAt": "pass1",
            "States": {
                "pass1": {"Type": "Pass", "Next": "pass3"},
                "pass2": {"Type": "Pass", "End": True},
            },
        },
    )
    assert msg == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        "pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not "
        "reachable. at /States/pass2'"
    )
    msg = invalid_message(
        sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}
    )
    assert "MISSING_END_STATE: Workflow has no terminal state" in msg
    msg = invalid_message(
        sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "Catch": []}}}
    )
    assert "SCHEMA_VALIDATION_FAILED: Field 'Catch' is not supported at /States/A" in msg
    msg = invalid_message(sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass"}}})
    assert "SCHEMA_VALIDATION_FAILED" in msg and "at /States/A" in msg
    msg = invalid_message(
        sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": True}}}
    )
    assert "The value for the field 'ResultPath' must be a valid ReferencePath at /States/A" in msg
    msg = invalid_message(
        sfn,
        {
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "D"}]},
                "D": {"Type": "Succeed"},
            },
        },
    )
    assert "at /States/C/Choices[0]" in msg
    msg = invalid_message(
        sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Timestamp": "x", "End": True}}}
    )
    assert "at /States/W" in msg
    msg = invalid_message(
        sfn,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}},
    )
    assert "at /States/F" in msg
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name=unique("sm"), definition="{not json", roleArn=ROLE)
    assert error_code(e) == "InvalidDefinition"
    assert "INVALID_JSON_DESCRIPTION" in e.value.response["Error"]["Message"]


def test_nested_and_retry_catch_validation(sfn):
    msg = invalid_message(
        sfn,
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Nope"}, "Y": {"Type": "Succeed"}}}],
                    "End": True,
                }
            },
        },
    )
    assert "Missing 'Next' target: Nope at /States/P/Branches[0]/States/X/Next" in msg
    msg = invalid_message(
        sfn,
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Missing"}],
                    "End": True,
                }
            },
        },
    )
    assert "Missing 'Next' target: Missing at /States/T/Catch[0]/Next" in msg


def test_validate_state_machine_definition(server):
    ok = validate_raw(server.endpoint, PASS_END)
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    bad = validate_raw(
        server.endpoint,
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Z"}, "B": {"Type": "Succeed"}}},
    )
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0] == {
        "severity": "ERROR",
        "code": "MISSING_TRANSITION_TARGET",
        "message": "Missing 'Next' target: Z",
        "location": "/States/A/Next",
    }


# ---------------------------------------------------------------- executions


def test_start_idempotency_and_errors(sfn):
    sm = create(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}})
    name = unique("ex")
    first = sfn.start_execution(stateMachineArn=sm, name=name, input='{"a":1}')
    again = sfn.start_execution(stateMachineArn=sm, name=name, input='{"a":1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name=name, input='{"a":2}')
    assert error_code(e) == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, input="{oops")
    assert error_code(e) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name="bad name")
    assert error_code(e) == "InvalidName"
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm + "x")
    assert error_code(e) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn=first["executionArn"] + "x")
    assert error_code(e) == "ExecutionDoesNotExist"
    # stop: aborted, and the same name is then refused even with the same input
    stop = sfn.stop_execution(executionArn=first["executionArn"], error="Halt", cause="test")
    d = sfn.describe_execution(executionArn=first["executionArn"])
    assert d["status"] == "ABORTED" and d["stopDate"] == stop["stopDate"]
    assert d["error"] == "Halt" and d["cause"] == "test"
    ev = history(sfn, first["executionArn"])
    assert [e["type"] for e in ev] == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    assert ev[-1]["executionAbortedEventDetails"] == {"error": "Halt", "cause": "test"}
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name=name, input='{"a":1}')
    assert error_code(e) == "ExecutionAlreadyExists"
    m = sfn.describe_state_machine_for_execution(executionArn=first["executionArn"])
    assert m["stateMachineArn"] == sm and json.loads(m["definition"])["StartAt"] == "W"


def test_list_executions_filter_and_pages(sfn):
    sm = create(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}})
    arns = [sfn.start_execution(stateMachineArn=sm)["executionArn"] for _ in range(5)]
    sfn.stop_execution(executionArn=arns[0])
    running = sfn.list_executions(stateMachineArn=sm, statusFilter="RUNNING")["executions"]
    assert sorted(e["executionArn"] for e in running) == sorted(arns[1:])
    aborted = sfn.list_executions(stateMachineArn=sm, statusFilter="ABORTED")["executions"]
    assert [e["executionArn"] for e in aborted] == [arns[0]]
    seen, token = [], None
    while True:
        kw = {"stateMachineArn": sm, "maxResults": 2}
        if token:
            kw["nextToken"] = token
        page = sfn.list_executions(**kw)
        assert len(page["executions"]) <= 2
        seen += [e["executionArn"] for e in page["executions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == list(reversed(arns))  # newest first
    for a in arns[1:]:
        sfn.stop_execution(executionArn=a)


# ---------------------------------------------------------------- states and data flow


def test_pass_data_flow_example_of_the_guide(sfn):
    """The InputPath/Parameters/ResultPath/OutputPath example of the AWS guide."""
    d = run(
        sfn,
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "InputPath": "$.library",
                    "Parameters": {"staticValue": "Just a string", "catalog": {"myFavoriteMovie.$": "$.movies[0]"}},
                    "ResultPath": "$.result",
                    "OutputPath": "$.result.catalog",
                    "End": True,
                }
            },
        },
        {"library": {"movies": [{"genre": "crime", "director": "Quentin Tarantino"}]}},
    )
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"]) == {"myFavoriteMovie": {"genre": "crime", "director": "Quentin Tarantino"}}


def test_pass_result_and_intrinsics(sfn):
    d = run(
        sfn,
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords", "Next": "Q"},
                "Q": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)", "exec.$": "$$.Execution.Name"}, "ResultPath": "$.out", "End": True},
            },
        },
        {"name": "Ada"},
    )
    out = json.loads(d["output"])
    assert out["coords"] == {"x-datum": 0.381018, "y-datum": 622.2269926397355}
    assert out["out"]["greeting"] == "Hello, Ada!"
    assert out["out"]["exec"] == d["name"]


def test_result_path_null_discards(sfn):
    d = run(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": None, "End": True}}}, {"k": "v"})
    assert json.loads(d["output"]) == {"k": "v"}


CHOICE = {
    "StartAt": "C",
    "States": {
        "C": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "Range"},
            ],
            "Default": "Other",
        },
        "Public": {"Type": "Pass", "Result": "public", "End": True},
        "Range": {"Type": "Pass", "Result": "20s", "End": True},
        "Other": {"Type": "Fail", "Error": "NoMatch", "Cause": "nothing matched"},
    },
}


def test_choice_rules(sfn):
    assert json.loads(run(sfn, CHOICE, {"type": "Public", "value": 1})["output"]) == "public"
    assert json.loads(run(sfn, CHOICE, {"type": "Private", "value": 25})["output"]) == "20s"
    d = run(sfn, CHOICE, {"type": "Private", "value": 40})
    assert d["status"] == "FAILED" and d["error"] == "NoMatch" and d["cause"] == "nothing matched"


def test_choice_without_default_fails(sfn):
    defn = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "S"}]},
            "S": {"Type": "Succeed"},
        },
    }
    d = run(sfn, defn, {"x": False})
    assert d["status"] == "FAILED" and d["error"] == "States.NoChoiceMatched"


def test_fail_error_and_cause_paths(sfn):
    d = run(
        sfn,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.err", "CausePath": "States.Format('order {} failed', $.id)"}}},
        {"err": "OrderFailed", "id": "o-1"},
    )
    assert d["status"] == "FAILED" and d["error"] == "OrderFailed" and d["cause"] == "order o-1 failed"
    assert "output" not in d
    ev = history(sfn, d["executionArn"])
    assert [e["type"] for e in ev] == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert ev[-1]["executionFailedEventDetails"] == {"error": "OrderFailed", "cause": "order o-1 failed"}


def test_runtime_error_fails_the_execution(sfn):
    d = run(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}}, {"a": 1})
    assert d["status"] == "FAILED" and d["error"] == "States.Runtime"
    assert "$.missing" in d["cause"]


def test_wait_forms(sfn):
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1.5))
    past = "2020-01-01T00:00:00Z"
    defn = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Wait", "SecondsPath": "$.s", "Next": "B"},
            "B": {"Type": "Wait", "TimestampPath": "$.past", "Next": "C"},
            "C": {"Type": "Wait", "Timestamp": past, "Next": "D"},
            "D": {"Type": "Wait", "TimestampPath": "$.future", "OutputPath": "$.s", "End": True},
        },
    }
    t0 = time.time()
    d = run(sfn, defn, {"s": 1, "past": past, "future": future})
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == 1
    assert time.time() - t0 >= 1.0
    d = run(sfn, {"StartAt": "A", "States": {"A": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}, {"s": "x"})
    assert d["status"] == "FAILED" and d["error"] == "States.Runtime"


def test_history_events_order_and_options(sfn):
    d = run(
        sfn,
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "W"}]},
                "W": {"Type": "Wait", "Seconds": 0, "Next": "S"},
                "S": {"Type": "Succeed"},
            },
        },
        {"go": True},
    )
    ev = history(sfn, d["executionArn"])
    assert [e["type"] for e in ev] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in ev] == list(range(1, 11))
    assert [e["previousEventId"] for e in ev] == list(range(0, 10))
    assert ev[1]["stateEnteredEventDetails"]["name"] == "P"
    assert json.loads(ev[1]["stateEnteredEventDetails"]["input"]) == {"go": True}
    assert all(ev[i]["timestamp"] <= ev[i + 1]["timestamp"] for i in range(9))
    rev = history(sfn, d["executionArn"], reverseOrder=True)
    assert [e["id"] for e in rev] == list(range(10, 0, -1))
    bare = history(sfn, d["executionArn"], includeExecutionData=False)
    assert "input" not in bare[1]["stateEnteredEventDetails"]
    assert bare[1]["stateEnteredEventDetails"]["name"] == "P"
    page = sfn.get_execution_history(executionArn=d["executionArn"], maxResults=4)
    assert [e["id"] for e in page["events"]] == [1, 2, 3, 4]
    rest = sfn.get_execution_history(executionArn=d["executionArn"], maxResults=100, nextToken=page["nextToken"])
    assert [e["id"] for e in rest["events"]] == list(range(5, 11))


def test_pass_loop_counts_to_ten(sfn):
    """A loop of Pass and Choice states, each transition committed before the next."""
    defn = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.i", "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": 10, "Next": "Done"}], "Default": "Inc"},
            "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
            "Done": {"Type": "Succeed"},
        },
    }
    d = run(sfn, defn, {})
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"i": 10}


def test_output_over_256_kib_is_data_limit_exceeded(sfn):
    defn = {
        "StartAt": "Grow",
        "States": {
            "Grow": {
                "Type": "Pass",
                "Parameters": {"a.$": "$.s", "b.$": "$.s"},
                "End": True,
            }
        },
    }
    d = run(sfn, defn, {"s": "x" * 140000})
    assert d["status"] == "FAILED" and d["error"] == "States.DataLimitExceeded"
    assert "'Grow'" in d["cause"]
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=create(sfn, PASS_END), input=json.dumps({"s": "x" * 262145}))
    assert error_code(e) == "InvalidExecutionInput"
