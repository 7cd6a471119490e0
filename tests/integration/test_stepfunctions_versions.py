"""Step Functions versions, aliases and RedriveExecution through boto3. Debian's botocore
(1.29) predates these operations: the client loads the merged model (sfn_helpers)."""

import json

import pytest
from botocore.exceptions import ClientError

from helpers import error_code, unique
from sfn_helpers import merged_model_client, wait_done

ROLE = "arn:aws:iam::000000000000:role/sfn"


@pytest.fixture(scope="module")
def sfn(server, tmp_path_factory):
    return merged_model_client(server.endpoint, tmp_path_factory.mktemp("models"))


def pass_machine(value):
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": value,
                                                        "End": True}}})


def run(sfn, arn, **kw):
    return wait_done(sfn, sfn.start_execution(stateMachineArn=arn, **kw)["executionArn"])


def test_versions(sfn):
    m = sfn.create_state_machine(name=unique("sm"), definition=pass_machine("v1"), roleArn=ROLE,
                                 publish=True, versionDescription="first")
    base = m["stateMachineArn"]
    v1 = m["stateMachineVersionArn"]
    assert v1 == base + ":1"
    # nothing changed: the same version
    assert sfn.publish_state_machine_version(stateMachineArn=base)["stateMachineVersionArn"] == v1
    up = sfn.update_state_machine(stateMachineArn=base, definition=pass_machine("v2"),
                                  publish=True)
    v2 = up["stateMachineVersionArn"]
    assert v2 == base + ":2"
    sfn.update_state_machine(stateMachineArn=base, definition=pass_machine("latest"))
    d = sfn.describe_state_machine(stateMachineArn=v1)
    assert d["stateMachineArn"] == v1 and json.loads(d["definition"])["States"]["P"]["Result"] == "v1"
    assert d.get("description") == "first"
    assert json.loads(run(sfn, v1)["output"]) == "v1"
    ex = run(sfn, v2)
    assert json.loads(ex["output"]) == "v2" and ex["stateMachineVersionArn"] == v2
    assert json.loads(run(sfn, base)["output"]) == "latest"
    listed = sfn.list_state_machine_versions(stateMachineArn=base)["stateMachineVersions"]
    assert [x["stateMachineVersionArn"] for x in listed] == [v2, v1]
    with pytest.raises(ClientError) as e:
        sfn.publish_state_machine_version(stateMachineArn=base, revisionId="stale")
    assert error_code(e) == "ConflictException"
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=v1)
    assert error_code(e) in ("ResourceNotFound", "StateMachineDoesNotExist")
    assert [x["stateMachineVersionArn"] for x in sfn.list_state_machine_versions(
        stateMachineArn=base)["stateMachineVersions"]] == [v2]


def test_aliases(sfn):
    m = sfn.create_state_machine(name=unique("sm"), definition=pass_machine("one"), roleArn=ROLE,
                                 publish=True)
    base, v1 = m["stateMachineArn"], m["stateMachineVersionArn"]
    v2 = sfn.update_state_machine(stateMachineArn=base, definition=pass_machine("two"),
                                  publish=True)["stateMachineVersionArn"]
    alias = sfn.create_state_machine_alias(
        name="prod", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}],
        description="production")["stateMachineAliasArn"]
    assert alias == base + ":prod"
    d = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert d["name"] == "prod" and d["description"] == "production"
    assert d["routingConfiguration"] == [{"stateMachineVersionArn": v1, "weight": 100}]
    ex = run(sfn, alias)
    assert json.loads(ex["output"]) == "one" and ex["stateMachineAliasArn"] == alias
    assert ex["stateMachineVersionArn"] == v1
    # executions listed by alias
    listed = sfn.list_executions(stateMachineArn=alias)["executions"]
    assert [x["executionArn"] for x in listed] == [ex["executionArn"]]
    # weighted routing
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 50}])
    outs = {json.loads(run(sfn, alias)["output"]) for _ in range(30)}
    assert outs == {"one", "two"}  # 30 fair coin flips all alike: 1 in 5e8
    with pytest.raises(ClientError) as e:
        sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
            {"stateMachineVersionArn": v1, "weight": 60}, {"stateMachineVersionArn": v2, "weight": 60}])
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    assert error_code(e) == "ConflictException"
    assert [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(
        stateMachineArn=base)["stateMachineAliases"]] == [alias]
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert error_code(e) == "ResourceNotFound"


def test_redrive_resumes_from_the_failed_state(sfn):
    definition = {"StartAt": "First", "States": {
        "First": {"Type": "Pass", "Result": {"step": 1}, "ResultPath": "$.first", "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}], "Default": "Broken"},
        "Broken": {"Type": "Fail", "Error": "NotYet", "Cause": "ok is false"},
        "Done": {"Type": "Succeed"}}}
    sm = sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition),
                                  roleArn=ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"ok": False}))["executionArn"]
    d = wait_done(sfn, arn)
    assert d["status"] == "FAILED" and d["redriveStatus"] == "REDRIVABLE"
    r = sfn.redrive_execution(executionArn=arn)
    assert r["redriveDate"]
    d = wait_done(sfn, arn)
    # it failed again in the same state (the input is the same): redriven once
    assert d["status"] == "FAILED" and d["redriveCount"] == 1
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    assert types.count("ExecutionRedriven") == 1 and types.count("ExecutionFailed") == 2
    # only the failed state ran again, not First
    assert types.count("PassStateEntered") == 1
    ok = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"ok": True}))["executionArn"]
    assert wait_done(sfn, ok)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:
        sfn.redrive_execution(executionArn=ok)
    assert error_code(e) == "ExecutionNotRedrivable"
