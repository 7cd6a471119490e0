"""Edges of Step Functions executions living in the store (only those with something to do soon
are in memory): calls that wait for a commit while an execution keeps stepping, branches of
Parallel/Map states after a SIGKILL when their parent is stopped, aborted branches leaving
memory, and the definitions a Map's iterations share."""

import json
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from helpers import SLOW, make_client, unique
from sfn_helpers import ask_state, history, in_memory, until, wait_done
from sfn_helpers import create_machine as create
from sfn_helpers import sfn_client as client
from sfn_helpers import merged_model_client


# A loop of Pass and Choice states: every step commits and the next one starts from that
# commit's completion, so the execution is (almost) always committing.
FOREVER = {  # the shape of AWS's own example: a Choice that goes back to itself
    "StartAt": "Loop",
    "States": {
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.spin", "BooleanEquals": False, "Next": "Done"}], "Default": "Loop"},
        "Done": {"Type": "Succeed"},
    },
}

LOOP_FOREVER = {
    "StartAt": "Spin",
    "States": {
        "Spin": {
            "Type": "Pass",
            "Parameters": {"stop.$": "$.stop", "n.$": "States.MathAdd($.n, 1)", "big.$": "$.big"},
            "Next": "Again",
        },
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Spin",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_stop_reaches_an_execution_that_keeps_stepping(fresh_server):
    """StopExecution waits for the step being committed, not for every step after it."""
    sfn = client(fresh_server, read_timeout=10 * SLOW)
    sm = create(sfn, LOOP_FOREVER)
    # 60 KB of data that changes every round: a step's record fills up after a few rounds,
    # so the loop keeps committing step after step for a long while before its history
    # reaches AWS's 25,000 events.
    loop_input = {"stop": False, "n": 0, "big": "x" * 60000}
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps(loop_input))["executionArn"]
    started = time.time()
    sfn.stop_execution(executionArn=arn, error="Enough", cause="the loop never ends")
    assert time.time() - started < 5 * SLOW
    d = sfn.describe_execution(executionArn=arn)
    assert d["status"] == "ABORTED" and d["error"] == "Enough"
    events = history(sfn, arn)
    assert events[-1]["type"] == "ExecutionAborted"
    assert len(events) > 20  # it stepped on for several steps before the stop
    time.sleep(0.5)
    assert len(history(sfn, arn)) == len(events)  # and it stepped no more
    until("the stopped execution to leave memory", lambda: in_memory(fresh_server) == 0, 4)


def test_history_stops_at_25000_events(fresh_server):
    """As on AWS: an execution whose history reaches 24,999 events fails with event 25,000
    (States.Runtime); one that ends with event 25,000 succeeds."""
    sfn = client(fresh_server)
    arn = sfn.start_execution(stateMachineArn=create(sfn, FOREVER), input='{"spin": true}')["executionArn"]
    d = wait_done(sfn, arn, 60)
    assert d["status"] == "FAILED" and d["error"] == "States.Runtime", d
    assert d["cause"] == "The execution reached the maximum number of history events (25000)."
    last = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=2)["events"]
    assert [(e["id"], e["type"]) for e in last] == [(25000, "ExecutionFailed"), (24999, "ChoiceStateExited")]
    assert last[0]["executionFailedEventDetails"] == {"error": "States.Runtime", "cause": d["cause"]}
    # ExecutionStarted, 6,249 rounds of Pass + Choice (4 events each), the Succeed state's
    # two events and ExecutionSucceeded: 25,000
    counting = sfn.start_execution(stateMachineArn=create(sfn, COUNT_TO(6249)), input='{"n": 0}')["executionArn"]
    d = wait_done(sfn, counting, 60)
    assert d["status"] == "SUCCEEDED", d
    last = sfn.get_execution_history(executionArn=counting, reverseOrder=True, maxResults=1)["events"]
    assert [(e["id"], e["type"]) for e in last] == [(25000, "ExecutionSucceeded")]
def COUNT_TO(n):
    return {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": n, "Next": "Done"}],
                "Default": "Spin",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def _raw_json(port, target, payload):
    body = json.dumps(payload).encode()
    return (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-amz-json-1.0\r\n"
        "X-Amz-Target: AWSStepFunctions.%s\r\nContent-Length: %d\r\n\r\n" % (port, target, len(body))
    ).encode() + body


def _answer(sock, round_):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection (round %d)" % round_
        data += chunk
    return data


def test_stop_waiting_for_a_step_of_an_express_execution_that_then_ends(fresh_server):
    """SendTaskSuccess and StopExecution for one EXPRESS execution arrive in the same turn of
    the loop: the stop waits for the step the answer started. The execution then ends, and
    the stop (and the server) must not reach its freed memory."""
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=unique("tokens"))["QueueUrl"]
    sm = create(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": ask_state(url, Next="After"),
                "After": {"Type": "Pass", "End": True},
            },
        },
        kind="EXPRESS",
    )
    busy = create(sfn, COUNT_TO(20000), kind="EXPRESS")
    for round_ in range(3):
        arn = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
        msgs = until("the token", lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])
        token = json.loads(msgs[0]["Body"])["token"]
        port = fresh_server.port
        requests = [
            _raw_json(port, "SendTaskSuccess", {"taskToken": token, "output": "{}"}),
            _raw_json(port, "StopExecution", {"executionArn": arn}),
        ]
        socks = [socket.create_connection(("127.0.0.1", port), timeout=30 * SLOW) for _ in requests]
        # sent while the server runs a busy EXPRESS execution: read in one turn of the loop
        sfn.start_execution(stateMachineArn=busy, input=json.dumps({"n": 0}))
        for sock, request in zip(socks, requests):
            sock.sendall(request)
        answers = [_answer(sock, round_) for sock in socks]
        for sock in socks:
            sock.close()
        assert answers[0].startswith(b"HTTP/1.1 200 "), answers[0]
        assert answers[1].startswith(b"HTTP/1.1 200 ") and b"stopDate" in answers[1], answers[1]
        assert fresh_server.alive()
    until("the EXPRESS executions to leave memory", lambda: in_memory(fresh_server) == 0, 10)


PARALLEL_WAIT_THEN_SEND = lambda url: {  # noqa: E731
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Later",
                    "States": {
                        "Later": {"Type": "Wait", "Seconds": 6, "Next": "Send"},
                        "Send": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {"QueueUrl": url, "MessageBody": "the branch ran on"},
                            "End": True,
                        },
                    },
                },
                {"StartAt": "Quick", "States": {"Quick": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        }
    },
}


def test_branch_waiting_at_a_sigkill_is_stopped_with_its_parent(fresh_server):
    """A Parallel's branch in a Wait when the server is killed: stopping the execution after
    the restart stops the branch too (it runs nothing more, writes no more history)."""
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=unique("side"))["QueueUrl"]
    sm = create(sfn, PARALLEL_WAIT_THEN_SEND(url))
    arn = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    until("the branch to wait", lambda: any(e["type"] == "WaitStateEntered" for e in history(sfn, arn)))
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    sfn.stop_execution(executionArn=arn)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    time.sleep(8 * SLOW)  # past the branch's Wait
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None
    events = history(sfn, arn)
    assert events[-1]["type"] == "ExecutionAborted", [e["type"] for e in events]
    until("memory to empty", lambda: in_memory(fresh_server) == 0, 4)


def test_branch_in_a_token_wait_at_a_sigkill_is_stopped_with_its_parent(fresh_server):
    """A Map's iteration waiting for a task token when the server is killed: after the restart
    its execution is stopped; the token then belongs to no task, and nothing runs on."""
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    url = sqs.create_queue(QueueName=unique("tokens"))["QueueUrl"]
    after = sqs.create_queue(QueueName=unique("after"))["QueueUrl"]
    sm = create(
        sfn,
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "Iterator": {
                        "StartAt": "Ask",
                        "States": {
                            "Ask": ask_state(url, Next="Tell"),
                            "Tell": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sqs:sendMessage",
                                "Parameters": {"QueueUrl": after, "MessageBody": "the iteration ran on"},
                                "End": True,
                            },
                        },
                    },
                    "End": True,
                }
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"items": [1]}))["executionArn"]
    msgs = until("the token", lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"))
    token = json.loads(msgs[0]["Body"])["token"]
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    sqs = make_client(fresh_server.endpoint, "sqs")
    sfn.stop_execution(executionArn=arn)
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=token, output="{}")
    assert e.value.response["Error"]["Code"] in ("TaskTimedOut", "TaskDoesNotExist")
    assert sqs.receive_message(QueueUrl=after, WaitTimeSeconds=1).get("Messages") is None
    assert history(sfn, arn)[-1]["type"] == "ExecutionAborted"
    until("memory to empty", lambda: in_memory(fresh_server) == 0, 4)


def test_aborted_branches_leave_memory(fresh_server):
    """Branches stopped with their execution (StopExecution, a failed sibling) are not kept in
    memory until something else wakes the service's timer."""
    sfn = client(fresh_server)
    long_wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    sm = create(
        sfn,
        {
            "StartAt": "Both",
            "States": {"Both": {"Type": "Parallel", "Branches": [long_wait, long_wait, long_wait], "End": True}},
        },
    )
    arns = [sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"] for _ in range(4)]
    until("the branches to wait", lambda: in_memory(fresh_server) == 4 * 4)
    for arn in arns:
        sfn.stop_execution(executionArn=arn)
    until("the stopped branches to leave memory", lambda: in_memory(fresh_server) == 0, 4)
    failing = create(
        sfn,
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        long_wait,
                        {
                            "StartAt": "Soon",
                            "States": {
                                "Soon": {"Type": "Wait", "Seconds": 1, "Next": "Fail"},
                                "Fail": {"Type": "Fail", "Error": "Broken"},
                            },
                        },
                    ],
                    "End": True,
                }
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=failing, input="{}")["executionArn"]
    assert wait_done(sfn, arn)["status"] == "FAILED"
    until("the aborted sibling to leave memory", lambda: in_memory(fresh_server) == 0, 4)


def test_timeout_while_a_nested_map_starts_its_iterations(fresh_server):
    """An execution times out while a Map inside its Parallel is committing the start of
    iterations: those iterations are aborted with it and may leave memory at once (another
    execution keeps the service's timer busy); the Map's commit then must not run them."""
    sfn = client(fresh_server)
    inner = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    root = create(
        sfn,
        {"TimeoutSeconds": 1, "StartAt": "Par", "States": {"Par": {"Type": "Parallel", "Branches": [inner], "End": True}}},
    )
    ticker = create(
        sfn,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": "{% 0.002 %}", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.stop %}", "Next": "D"}], "Default": "W"},
                "D": {"Type": "Succeed"},
            },
        },
    )
    tick = sfn.start_execution(stateMachineArn=ticker, input=json.dumps({"stop": False}))["executionArn"]
    arns = []
    for _ in range(15):
        arns.append(
            sfn.start_execution(stateMachineArn=root, input=json.dumps({"items": list(range(2000))}))["executionArn"]
        )
        time.sleep(0.13)
    for arn in arns:
        d = wait_done(sfn, arn, 10)
        assert d["status"] == "TIMED_OUT" and d["error"] == "States.Timeout"
    sfn.stop_execution(executionArn=tick)
    assert fresh_server.alive()
    until("memory to empty", lambda: in_memory(fresh_server) == 0, 4)


def test_list_executions_pages_over_many_rows_of_other_statuses(fresh_server):
    """ListExecutions reads the store's summary rows page after page: a filter that matches
    only old rows behind more than a store page of others still finds them, and paging with
    a filter neither repeats nor skips any."""
    sfn = client(fresh_server)
    sm = create(
        sfn,
        {
            "StartAt": "Which",
            "States": {
                "Which": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.wait", "BooleanEquals": True, "Next": "Long"}],
                    "Default": "Done",
                },
                "Long": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
    )
    waiting = [
        sfn.start_execution(stateMachineArn=sm, name="w%d" % i, input=json.dumps({"wait": True}))["executionArn"]
        for i in range(3)
    ]
    quick = [
        sfn.start_execution(stateMachineArn=sm, name="q%04d" % i, input=json.dumps({"wait": False}))["executionArn"]
        for i in range(1003)
    ]
    for arn in quick[-3:]:
        assert wait_done(sfn, arn)["status"] == "SUCCEEDED"
    until(
        "every quick one to end",
        lambda: all(e["status"] == "SUCCEEDED" for e in sfn.list_executions(stateMachineArn=sm, maxResults=1000)["executions"]),
    )

    def pages(**kw):
        out, sizes = [], []
        while True:
            page = sfn.list_executions(stateMachineArn=sm, **kw)
            out += page["executions"]
            sizes.append(len(page["executions"]))
            if not page.get("nextToken"):
                return out, sizes
            kw["nextToken"] = page["nextToken"]

    running, sizes = pages(statusFilter="RUNNING", maxResults=2)
    assert sorted(e["name"] for e in running) == ["w0", "w1", "w2"] and sizes == [2, 1]
    done, sizes = pages(statusFilter="SUCCEEDED", maxResults=1000)
    assert sorted(e["name"] for e in done) == ["q%04d" % i for i in range(1003)] and sizes == [1000, 3]
    assert all(a["startDate"] >= b["startDate"] for a, b in zip(done, done[1:]))  # newest first
    every, sizes = pages(maxResults=333)
    assert len(every) == 1006 and len({e["executionArn"] for e in every}) == 1006
    assert sizes == [333, 333, 333, 7]
    assert {e["executionArn"] for e in running} == set(waiting)
    # a token is a place in one machine's listing: not in another's
    other = create(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    for _ in range(2):
        sfn.start_execution(stateMachineArn=other, input="{}")
    token = sfn.list_executions(stateMachineArn=other, maxResults=1)["nextToken"]
    assert len(sfn.list_executions(stateMachineArn=other, maxResults=1, nextToken=token)["executions"]) == 1
    for bad in (token, "00" * 40):
        with pytest.raises(ClientError) as e:
            sfn.list_executions(stateMachineArn=sm, nextToken=bad)
        assert e.value.response["Error"]["Code"] == "InvalidToken"


def test_redriven_execution_times_out_again_after_its_timeout_restart_or_not(fresh_server, tmp_path):
    """AWS: a redrive starts the state machine's timeout again from 0. The redriven execution
    times out TimeoutSeconds after its redrive, whether or not the server restarts meanwhile
    (its document kept the first attempt's deadline: a restart timed it out at once, and
    without one it never timed out)."""
    sfn = merged_model_client(fresh_server.endpoint, tmp_path / "models")
    sm = create(sfn, {"TimeoutSeconds": 2, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 4, "End": True}}})
    arn = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    assert wait_done(sfn, arn)["status"] == "TIMED_OUT"
    redriven = sfn.redrive_execution(executionArn=arn)["redriveDate"]
    d = wait_done(sfn, arn)
    assert d["status"] == "TIMED_OUT" and d["error"] == "States.Timeout"
    assert 1.8 <= (d["stopDate"] - redriven).total_seconds() < 3.5 * SLOW
    redriven = sfn.redrive_execution(executionArn=arn)["redriveDate"]
    fresh_server.restart_after_kill()
    sfn = merged_model_client(fresh_server.endpoint, tmp_path / "models2")
    d = wait_done(sfn, arn)
    assert d["status"] == "TIMED_OUT" and d["redriveCount"] == 2
    assert 1.8 <= (d["stopDate"] - redriven).total_seconds() < 3.5 * SLOW
    types = [e["type"] for e in history(sfn, arn)]
    assert types.count("ExecutionRedriven") == 2 and types.count("ExecutionTimedOut") == 3


@pytest.mark.sluice_timeout(120)
def test_stop_during_startup_reaches_branches_loaded_later(fresh_server):
    """Right after a restart the executions due are loaded page after page: a StopExecution
    that comes meanwhile waits for the end of startup, so the branches of its execution that
    were not loaded yet are aborted with it (none is left running in memory)."""
    sfn = client(fresh_server)
    sm = create(
        sfn,
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "Iterator": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
                    "End": True,
                }
            },
        },
    )
    arns = [
        sfn.start_execution(stateMachineArn=sm, name="r%03d" % i, input=json.dumps({"items": list(range(40))}))[
            "executionArn"
        ]
        for i in range(60)
    ]
    until("the iterations to wait", lambda: in_memory(fresh_server) == 60 * 41, 30)
    clients = [client(fresh_server) for _ in range(4)]
    fresh_server.restart_after_kill()

    def stop(k):  # the last loaded first
        for arn in reversed(arns[k::4]):
            clients[k].stop_execution(executionArn=arn)

    threads = [threading.Thread(target=stop, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(sfn.describe_execution(executionArn=a)["status"] == "ABORTED" for a in arns[::7])
    until("every iteration to be aborted and leave memory", lambda: in_memory(fresh_server) == 0, 5)
