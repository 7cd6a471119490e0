"""Step Functions executions that wait live in the store, not in memory: an execution parked
in a long Wait or a task-token wait leaves memory (the health endpoint's
`sfn_executions_in_memory` gauge says so) and comes back when it is due or when a call names
it. Every operation still sees it: Describe, List (paged, filtered), history, Stop,
SendTask*, .sync parents; and after SIGKILL the parked ones stay in the store until due.
Documents of the former layout (one "sfn.execution" document each) are moved at startup."""

import json
import sqlite3
import time

import pytest
from botocore.exceptions import ClientError

from helpers import SLOW, make_client, unique
from sfn_helpers import ROLE, ask_state, history, in_memory, until, wait_done
from sfn_helpers import create_machine as create
from sfn_helpers import sfn_client as client

ACCOUNT = "000000000000"


def list_all(sfn, sm, **kw):
    out, args = [], {"stateMachineArn": sm, "maxResults": 7, **kw}
    while True:
        page = sfn.list_executions(**args)
        assert len(page["executions"]) <= 7
        out += page["executions"]
        if not page.get("nextToken"):
            return out
        args["nextToken"] = page["nextToken"]


WAIT = {
    "StartAt": "Sleep",
    "States": {
        "Sleep": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": True},
    },
}


def test_parked_executions_leave_memory_and_finish_on_time(fresh_server):
    sfn = client(fresh_server)
    sm = create(sfn, WAIT)
    arns = [
        sfn.start_execution(stateMachineArn=sm, name="p%02d" % i, input=json.dumps({"seconds": 5, "n": i}))[
            "executionArn"
        ]
        for i in range(20)
    ]
    started = time.time()
    until("the parked executions to leave memory", lambda: in_memory(fresh_server) == 0, 4)
    # they are still there for every operation
    d = sfn.describe_execution(executionArn=arns[3])
    assert d["status"] == "RUNNING" and json.loads(d["input"]) == {"seconds": 5, "n": 3}
    assert [e["type"] for e in history(sfn, arns[3])][-1] == "WaitStateEntered"
    listed = list_all(sfn, sm, statusFilter="RUNNING")
    assert sorted(e["name"] for e in listed) == ["p%02d" % i for i in range(20)]
    assert list_all(sfn, sm, statusFilter="SUCCEEDED") == []
    assert in_memory(fresh_server) == 0  # reading them did not keep them
    # the loader brings them back when they are due
    for i, arn in enumerate(arns):
        d = wait_done(sfn, arn, 15)
        assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": i}
        assert d["stopDate"].timestamp() >= started + 4.5
    assert time.time() - started < 5 + 4 * SLOW  # not long after their Wait ended
    until("the ended executions to leave memory", lambda: in_memory(fresh_server) == 0, 4)
    names = [e["name"] for e in list_all(sfn, sm, statusFilter="SUCCEEDED")]
    assert sorted(names) == ["p%02d" % i for i in range(20)]
    assert list_all(sfn, sm, statusFilter="RUNNING") == []


def test_list_executions_is_newest_first_with_opaque_tokens(fresh_server):
    sfn = client(fresh_server)
    sm = create(sfn, WAIT)
    for i in range(10):
        sfn.start_execution(stateMachineArn=sm, name="e%d" % i, input=json.dumps({"seconds": 0, "n": i}))
        time.sleep(0.005)
    names = [e["name"] for e in list_all(sfn, sm)]
    assert names == ["e%d" % i for i in reversed(range(10))]
    with pytest.raises(ClientError) as e:
        sfn.list_executions(stateMachineArn=sm, nextToken="not-a-token")
    assert e.value.response["Error"]["Code"] == "InvalidToken"


def test_calls_reach_executions_in_the_store(fresh_server):
    sfn = client(fresh_server)
    sm = create(sfn, WAIT)
    arn = sfn.start_execution(stateMachineArn=sm, name="long", input=json.dumps({"seconds": 3600, "n": 1}))[
        "executionArn"
    ]
    until("the execution to leave memory", lambda: in_memory(fresh_server) == 0, 4)
    # the same name and input is the same call; another input is another execution
    again = sfn.start_execution(stateMachineArn=sm, name="long", input=json.dumps({"seconds": 3600, "n": 1}))
    assert again["executionArn"] == arn
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name="long", input=json.dumps({"seconds": 1, "n": 2}))
    assert e.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    d = sfn.describe_state_machine_for_execution(executionArn=arn)
    assert json.loads(d["definition"]) == WAIT
    sfn.stop_execution(executionArn=arn, error="Cancelled", cause="by the test")
    d = sfn.describe_execution(executionArn=arn)
    assert d["status"] == "ABORTED" and d["error"] == "Cancelled"
    assert history(sfn, arn)[-1]["type"] == "ExecutionAborted"
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name="long", input=json.dumps({"seconds": 3600, "n": 1}))
    assert e.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn=arn.replace(":long", ":never"))
    assert e.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    until("the stopped execution to leave memory", lambda: in_memory(fresh_server) == 0, 4)


def test_task_token_wait_in_the_store_with_heartbeats(fresh_server):
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=unique("tokens"))["QueueUrl"]
    sm = create(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": ask_state(url, HeartbeatSeconds=4, End=True)
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    msgs = until("the token message", lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"))
    token = json.loads(msgs[0]["Body"])["token"]
    # heartbeats move the deadline (committed: the execution leaves memory between them)
    for _ in range(4):
        time.sleep(2)
        sfn.send_task_heartbeat(taskToken=token)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    d = wait_done(sfn, arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"approved": True}
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=token, output="{}")
    assert e.value.response["Error"]["Code"] == "TaskTimedOut"


def test_token_wait_without_deadline_is_only_in_the_store(fresh_server):
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=unique("tokens"))["QueueUrl"]
    sm = create(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": ask_state(url, End=True)
            },
        },
    )
    arns = [sfn.start_execution(stateMachineArn=sm, input=json.dumps({"i": i}))["executionArn"] for i in range(5)]
    tokens = []
    while len(tokens) < 5:
        for m in until("token messages", lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages")):
            tokens.append(json.loads(m["Body"])["token"])
    until("the waiting executions to leave memory", lambda: in_memory(fresh_server) == 0, 4)
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    assert in_memory(fresh_server) == 0  # nothing due: nothing loaded
    for i, token in enumerate(tokens):
        sfn.send_task_failure(taskToken=token, error="Rejected", cause="no %d" % i)
    for arn in arns:
        d = wait_done(sfn, arn)
        assert d["status"] == "FAILED" and d["error"] == "Rejected"


def test_parked_executions_survive_sigkill_and_load_when_due(fresh_server):
    sfn = client(fresh_server)
    sm = create(sfn, WAIT)
    soon = [
        sfn.start_execution(stateMachineArn=sm, input=json.dumps({"seconds": 1, "n": i}))["executionArn"]
        for i in range(5)
    ]
    later = [
        sfn.start_execution(stateMachineArn=sm, input=json.dumps({"seconds": 8, "n": i}))["executionArn"]
        for i in range(5)
    ]
    until("the later ones to leave memory", lambda: in_memory(fresh_server) <= 5, 4)
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    for arn in soon:
        assert wait_done(sfn, arn, 10)["status"] == "SUCCEEDED"
    until("memory to empty", lambda: in_memory(fresh_server) == 0, 4)
    assert all(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in later)
    for i, arn in enumerate(later):
        d = wait_done(sfn, arn, 20)
        assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": i}
        types = [e["type"] for e in history(sfn, arn)]
        assert types.count("WaitStateExited") == 1 and types[-1] == "ExecutionSucceeded"


def test_sync_parent_sees_the_end_of_a_child_in_the_store(fresh_server):
    sfn = client(fresh_server)
    child = create(sfn, WAIT)
    parent = create(
        sfn,
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {"seconds": 3, "n": 7}},
                    "OutputPath": "$.Output",
                    "End": True,
                }
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    d = wait_done(sfn, arn, 20)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": 7}
    # and after a restart while the child waits in the store
    arn = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    until(
        "the child to wait",
        lambda: len(list_all(sfn, child, statusFilter="RUNNING")) == 1,
    )
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    d = wait_done(sfn, arn, 20)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": 7}


def test_documents_of_the_former_layout_are_moved(fresh_server):
    sfn = client(fresh_server)
    name = unique("old")
    sm = create(sfn, WAIT, name=name)
    fresh_server.stop()
    base = "arn:aws:states:us-east-1:%s:execution:%s:" % (ACCOUNT, name)
    now = int(time.time() * 1000)
    common = {
        "stateMachineArn": sm,
        "stateMachineName": name,
        "definition": json.dumps(WAIT),
        "roleArn": ROLE,
        "type": "STANDARD",
    }
    running = dict(
        common,
        executionArn=base + "waiting",
        name="waiting",
        status="RUNNING",
        startDate=now - 5000,
        input=json.dumps({"seconds": 1, "n": 5}),
        lastEventId=3,
        cursor={
            "state": "Sleep",
            "stateInput": {"seconds": 1, "n": 5},
            "phase": "wait",
            "wakeMs": now - 1000,
            "waitOutput": {"seconds": 1, "n": 5},
        },
    )
    done = dict(
        common,
        executionArn=base + "done",
        name="done",
        status="SUCCEEDED",
        startDate=now - 9000,
        stopDate=now - 8000,
        input=json.dumps({"seconds": 0, "n": 1}),
        output=json.dumps({"n": 1}),
        lastEventId=6,
    )
    db = sqlite3.connect(fresh_server.data_dir + "/sluice.db")
    with db:
        for d in (running, done):
            db.execute(
                "INSERT INTO docs(ns, key, doc) VALUES ('sfn.execution', ?, ?)", (d["executionArn"], json.dumps(d))
            )
    db.close()
    fresh_server.start(port=fresh_server.port)
    sfn = client(fresh_server)
    d = wait_done(sfn, base + "waiting")
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": 5}
    d = sfn.describe_execution(executionArn=base + "done")
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": 1}
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=base + "done")["definition"]) == WAIT
    assert [e["name"] for e in list_all(sfn, sm)] == ["waiting", "done"]
    db = sqlite3.connect(fresh_server.data_dir + "/sluice.db")
    left = db.execute("SELECT count(*) FROM docs WHERE ns = 'sfn.execution'").fetchone()[0]
    db.close()
    assert left == 0


def test_waits_that_ended_while_down_come_back_as_memory_allows(fresh_server_factory):
    server = fresh_server_factory(extra_args=["--sfn-max-in-memory", "30"])
    sfn = client(server)
    sm = create(sfn, WAIT)
    arns = [
        sfn.start_execution(stateMachineArn=sm, input=json.dumps({"seconds": 3, "n": i}))["executionArn"]
        for i in range(120)
    ]
    until("the executions to leave memory", lambda: in_memory(server) == 0, 4)
    server.kill()
    time.sleep(3.5)  # every Wait ends while the server is down
    server.start(port=server.port)
    sfn = client(server)
    until(
        "the executions to end",
        lambda: not sfn.list_executions(stateMachineArn=sm, statusFilter="RUNNING", maxResults=1000)["executions"],
        30,
    )
    # The loader never held more than its cap (the gauge's high-water mark since the restart,
    # not a sample that a fast loader could slip between).
    status, body = server.health()
    peak = json.loads(body)["sfn_executions_in_memory_peak"]
    assert 0 < peak <= 30, peak
    for i, arn in enumerate(arns):
        d = sfn.describe_execution(executionArn=arn)
        assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"n": i}
        assert [e["type"] for e in history(sfn, arn)].count("ExecutionSucceeded") == 1


def test_history_records_of_the_former_layouts_still_read(fresh_server):
    """A step's events are one record {"data": [...], "events": [...]} whose events name their
    input/output by its place in data (a run of events with the same data has it once).
    Records written before were an event alone or an array of events with the data inline:
    GetExecutionHistory reads both the same way."""
    sfn = client(fresh_server)
    chain = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Pass", "Result": {"done": True}, "ResultPath": "$.r", "End": True},
        },
    }
    sm = create(sfn, chain)
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"k": "v\"\\"}))["executionArn"]
    assert wait_done(sfn, arn)["status"] == "SUCCEEDED"
    before = history(sfn, arn)
    assert [e["type"] for e in before] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert json.loads(before[1]["stateEnteredEventDetails"]["input"]) == {"k": 'v"\\'}
    assert json.loads(before[6]["stateExitedEventDetails"]["output"]) == {"k": 'v"\\', "r": {"done": True}}
    fresh_server.stop()
    db = sqlite3.connect(fresh_server.data_dir + "/sluice.db")
    rows = db.execute("SELECT seq, event FROM archive_events WHERE archive = ? ORDER BY seq", (arn,)).fetchall()
    records = [json.loads(r[1]) for r in rows]
    assert all(set(r) == {"data", "events"} for r in records), records
    # the run of Pass states: the same data once for A's and B's events and C's input
    run = next(r for r in records if len(r["events"]) > 2)
    assert len(run["data"]) < len(run["events"]), run
    with db:
        for (seq, _), rec in zip(rows, records):
            events = []
            for ev in rec["events"]:
                for details in ev.values():
                    if isinstance(details, dict):
                        for field in ("input", "output"):
                            if isinstance(details.get(field), int):
                                details[field] = json.dumps(rec["data"][details[field]], separators=(",", ":"))
                events.append(ev)
            old = events[0] if len(events) == 1 else events
            db.execute("UPDATE archive_events SET event = ? WHERE seq = ?", (json.dumps(old), seq))
    db.close()
    fresh_server.start(port=fresh_server.port)
    assert history(client(fresh_server), arn) == before
