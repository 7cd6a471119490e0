"""Step Functions activities with a real worker: CreateActivity (idempotent), Describe,
List, Delete; GetActivityTask long polls that a later task answers at once; the worker's
SendTaskSuccess / SendTaskFailure with Catch; Activity* history events with the worker's
name; TimeoutSeconds of an activity nobody takes; a taken task surviving SIGKILL."""

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from helpers import error_code, make_client, unique
from sfn_helpers import wait_done

ROLE = "arn:aws:iam::000000000000:role/sfn"


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions", read_timeout=70)


def machine(sfn, activity_arn, **task):
    state = {"Type": "Task", "Resource": activity_arn, "End": True}
    state.update(task)
    return sfn.create_state_machine(name=unique("sm"), roleArn=ROLE, definition=json.dumps(
        {"StartAt": "Work", "States": {"Work": state}}))["stateMachineArn"]


def test_activity_api(sfn):
    name = unique("act")
    a = sfn.create_activity(name=name)
    assert a["activityArn"].endswith(":activity:" + name)
    assert sfn.create_activity(name=name)["activityArn"] == a["activityArn"]
    d = sfn.describe_activity(activityArn=a["activityArn"])
    assert d["name"] == name and d["creationDate"]
    names = []
    token = None
    while True:
        page = sfn.list_activities(maxResults=1, **({"nextToken": token} if token else {}))
        names += [x["name"] for x in page["activities"]]
        token = page.get("nextToken")
        if not token:
            break
    assert name in names
    sfn.delete_activity(activityArn=a["activityArn"])
    with pytest.raises(ClientError) as e:
        sfn.describe_activity(activityArn=a["activityArn"])
    assert error_code(e) == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as e:
        sfn.get_activity_task(activityArn=a["activityArn"])
    assert error_code(e) == "ActivityDoesNotExist"


def test_worker_does_the_tasks(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    sm = sfn.create_state_machine(name=unique("sm"), roleArn=ROLE, definition=json.dumps({
        "StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": act, "End": True,
                     "Catch": [{"ErrorEquals": ["Worker.Refused"], "ResultPath": "$.err",
                                "Next": "Refused"}]},
            "Refused": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    got = {}

    def poll():  # a worker already waiting when the task appears
        t0 = time.time()
        got["task"] = sfn.get_activity_task(activityArn=act, workerName="w-1")
        got["waited"] = time.time() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    ok = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"job": 1}))["executionArn"]
    th.join(20)
    task = got["task"]
    assert json.loads(task["input"]) == {"job": 1} and task["taskToken"]
    assert got["waited"] < 10
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"done": 1}))
    d = wait_done(sfn, ok)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"done": 1}
    events = sfn.get_execution_history(executionArn=ok)["events"]
    types = [e["type"] for e in events]
    assert types[:5] == ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled",
                         "ActivityStarted", "ActivitySucceeded"]
    started = [e for e in events if e["type"] == "ActivityStarted"][0]
    assert started["activityStartedEventDetails"] == {"workerName": "w-1"}
    # a task waiting before the worker polls is handed out at once
    bad = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"job": 2}))["executionArn"]
    time.sleep(0.3)
    task = sfn.get_activity_task(activityArn=act, workerName="w-2")
    assert json.loads(task["input"]) == {"job": 2}
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Refused", cause="busy")
    d = wait_done(sfn, bad)
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"])["err"] == {"Error": "Worker.Refused", "Cause": "busy"}
    assert "ActivityFailed" in [e["type"] for e in
                                sfn.get_execution_history(executionArn=bad)["events"]]


def test_activity_nobody_takes_times_out(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    sm = machine(sfn, act, TimeoutSeconds=1)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    d = wait_done(sfn, arn, 10)
    assert d["status"] == "FAILED" and d["error"] == "States.Timeout"
    assert "ActivityTimedOut" in [e["type"] for e in
                                  sfn.get_execution_history(executionArn=arn)["events"]]


def test_taken_task_survives_sigkill(fresh_server):
    sfn = make_client(fresh_server.endpoint, "stepfunctions", read_timeout=70)
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    sm = machine(sfn, act)
    arn = sfn.start_execution(stateMachineArn=sm, input="{\"k\": 1}")["executionArn"]
    time.sleep(0.3)
    task = sfn.get_activity_task(activityArn=act, workerName="w")
    assert task["taskToken"]
    fresh_server.restart_after_kill()
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    sfn.send_task_success(taskToken=task["taskToken"], output="{\"after\": true}")
    d = wait_done(sfn, arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"after": True}
