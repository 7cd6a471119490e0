"""Step Functions durability: executions survive SIGKILL. A Wait resumes with its
remaining time (or at once if it ended while the server was down), a busy execution
resumes at the state where its last committed transition left it, and each finishes
exactly once with a complete, gap-free history."""

import json
import time

from sfn_helpers import wait_done
from sfn_helpers import create_machine as create
from sfn_helpers import history as events
from sfn_helpers import sfn_client as client


def assert_complete_once(ev):
    assert [e["id"] for e in ev] == list(range(1, len(ev) + 1))
    assert [e["previousEventId"] for e in ev] == list(range(0, len(ev)))
    ends = [e for e in ev if e["type"] in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted")]
    assert len(ends) == 1 and ev[-1] is ends[0]


WAIT_MACHINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.step", "Next": "Sleep"},
        "Sleep": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Finish"},
        "Finish": {"Type": "Pass", "Parameters": {"done.$": "$.step", "order.$": "$.order"}, "End": True},
    },
}


def test_wait_survives_sigkill_and_completes_once(fresh_server):
    sfn = client(fresh_server)
    sm = create(sfn, WAIT_MACHINE)
    t0 = time.time()
    long_ex = sfn.start_execution(stateMachineArn=sm, name="long", input=json.dumps({"seconds": 4, "order": "o-1"}))[
        "executionArn"
    ]
    short_ex = sfn.start_execution(stateMachineArn=sm, name="short", input=json.dumps({"seconds": 1, "order": "o-2"}))[
        "executionArn"
    ]
    # both are in their Wait state
    deadline = time.time() + 5
    while time.time() < deadline:
        if all(events(sfn, a)[-1]["type"] == "WaitStateEntered" for a in (long_ex, short_ex)):
            break
        time.sleep(0.05)
    assert events(sfn, long_ex)[-1]["type"] == "WaitStateEntered"
    fresh_server.kill()
    time.sleep(1.5)  # the short wait ends while the server is down
    fresh_server.start(port=fresh_server.port)
    sfn = client(fresh_server)

    d_short = wait_done(sfn, short_ex)
    assert d_short["status"] == "SUCCEEDED"
    assert json.loads(d_short["output"]) == {"done": "ready", "order": "o-2"}
    # the long one is still waiting for its remaining time, not restarted from zero
    assert sfn.describe_execution(executionArn=long_ex)["status"] == "RUNNING"
    d_long = wait_done(sfn, long_ex)
    elapsed = time.time() - t0
    assert d_long["status"] == "SUCCEEDED"
    assert json.loads(d_long["output"]) == {"done": "ready", "order": "o-1"}
    assert 3.9 <= elapsed < 9, elapsed
    for arn in (short_ex, long_ex):
        ev = events(sfn, arn)
        assert_complete_once(ev)
        assert [e["type"] for e in ev] == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
    # and nothing runs again after another restart
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    time.sleep(0.5)
    assert len(events(sfn, long_ex)) == 8
    assert sfn.describe_execution(executionArn=long_ex)["stopDate"] == d_long["stopDate"]


LOOP = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.i", "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": 6000, "Next": "Done"}],
            "Default": "Inc",
        },
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"},
    },
}


def test_busy_executions_resume_after_sigkill(fresh_server):
    sfn = client(fresh_server)
    sm = create(sfn, LOOP)
    # Runs of states like these commit up to 256 at a time: 6,000 rounds make about 47
    # commits an execution, and 8 executions share the store's group commits, so the kill
    # that follows their starts at once comes while they are busy (the histories say which
    # ones ended after the restart: those were resumed).
    arns = [sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"] for _ in range(8)]
    killed_at = time.time()
    fresh_server.restart_after_kill()
    sfn = client(fresh_server)
    resumed = 0
    for arn in arns:
        d = wait_done(sfn, arn, timeout=60)
        assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"i": 6000}
        ev = events(sfn, arn)
        assert_complete_once(ev)
        # 1 start, Init (2), 6001 Checks and 6000 Incs (2 each), Succeed (2), the end
        assert len(ev) == 1 + 2 + 2 * 6001 + 2 * 6000 + 2 + 1
        resumed += ev[-1]["timestamp"].timestamp() > killed_at
    assert resumed, "the executions finished before the kill: nothing was resumed"
