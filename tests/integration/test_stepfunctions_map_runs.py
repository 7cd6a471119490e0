"""Step Functions: a distributed Map's Map Run, with Debian's boto3 — ListMapRuns and
DescribeMapRun (status, dates, item and execution counts, live while it runs), the
MapRunStarted / MapRunSucceeded / MapRunFailed / MapRunAborted events in AWS's order (a
stop, a timeout or a failed sibling branch aborts a running Map Run),
UpdateMapRun (a higher MaxConcurrency starts more iterations, a changed tolerance is what
the Map's failure check uses), the Map Run surviving a SIGKILL mid-run and after it ended,
and the errors of unknown ARNs and bad parameters."""

import json

import pytest
from botocore.exceptions import ClientError

from helpers import make_client, unique
from sfn_helpers import ask_state, create_machine, history, run, until, wait_done

DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 60, "End": True}}}


def sfnc(server, **cfg):
    return make_client(server.endpoint, "stepfunctions", **cfg)


def map_machine(processor=ECHO, **fields):
    state = {"Type": "Map", "ItemProcessor": dict(processor, ProcessorConfig=DISTRIBUTED), "End": True}
    state.update(fields)
    return {"StartAt": "Map", "States": {"Map": state}}


def start(sfn, definition, input_doc):
    sm = create_machine(sfn, definition)
    return sm, sfn.start_execution(stateMachineArn=sm, input=json.dumps(input_doc))["executionArn"]


def only_run(sfn, execution_arn):
    runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    assert len(runs) == 1, runs
    return runs[0]


def started_run(sfn, execution_arn):
    """The Map Run's ARN once its MapRunStarted event is in the history."""
    ev = until(
        "MapRunStarted",
        lambda: [e for e in history(sfn, execution_arn) if e["type"] == "MapRunStarted"],
    )
    return ev[0]["mapRunStartedEventDetails"]["mapRunArn"]


def counts(sfn, run_arn):
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert d["itemCounts"] == d["executionCounts"]
    return d["itemCounts"]


def error_of(fn, **kw):
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"]


def test_inline_items_map_run_succeeds_with_counts_dates_and_events(server):
    sfn = sfnc(server)
    name = unique("mr")
    sm = create_machine(sfn, map_machine(MaxConcurrency=2, Label="Batch"), name=name)
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps([1, 2, 3, 4, 5]))["executionArn"]
    d = wait_done(sfn, ex)
    assert d["status"] == "SUCCEEDED", d
    item = only_run(sfn, ex)
    arn = item["mapRunArn"]
    assert arn.startswith("arn:aws:states:us-east-1:000000000000:mapRun:%s/Batch:" % name), arn
    assert item["executionArn"] == ex
    assert item["stateMachineArn"] == "arn:aws:states:us-east-1:000000000000:stateMachine:%s/Batch" % name
    assert item["startDate"] <= item["stopDate"]
    run_d = sfn.describe_map_run(mapRunArn=arn)
    assert run_d["status"] == "SUCCEEDED" and run_d["executionArn"] == ex
    assert run_d["maxConcurrency"] == 2
    assert run_d["toleratedFailureCount"] == 0 and run_d["toleratedFailurePercentage"] == 0
    assert d["startDate"] <= run_d["startDate"] <= run_d["stopDate"] <= d["stopDate"]
    for c in (run_d["itemCounts"], run_d["executionCounts"]):
        assert c["total"] == 5 and c["succeeded"] == 5
        assert c["pending"] == c["running"] == c["failed"] == c["aborted"] == c["timedOut"] == 0
        assert c["resultsWritten"] == 5  # as AWS counts them, without a ResultWriter too
    types = [e["type"] for e in history(sfn, ex)]
    # AWS's order: the Map state starts, then its Map Run; the run ends before the state
    i = types.index("MapStateStarted")
    assert types[i + 1] == "MapRunStarted"
    assert types.index("MapRunSucceeded") + 1 == types.index("MapStateSucceeded")
    assert types.count("MapRunStarted") == types.count("MapRunSucceeded") == 1
    started = [e for e in history(sfn, ex) if e["type"] == "MapRunStarted"][0]
    assert started["mapRunStartedEventDetails"]["mapRunArn"] == arn


def test_s3_reader_and_writer_results_written(server):
    s3 = make_client(server.endpoint, "s3", s3={"addressing_style": "path"})
    sfn = sfnc(server)
    bucket = unique("mr")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in.json", Body=json.dumps([{"n": i} for i in range(7)]).encode())
    definition = map_machine(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket": bucket, "Key": "in.json"},
            "ReaderConfig": {"InputType": "JSON"},
        },
        ResultWriter={"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": bucket, "Prefix": "out"}},
    )
    d = run(sfn, definition)
    assert d["status"] == "SUCCEEDED", d
    arn = only_run(sfn, d["executionArn"])["mapRunArn"]
    assert json.loads(d["output"])["MapRunArn"] == arn  # the ResultWriter's is the same run
    c = counts(sfn, arn)
    assert c["total"] == c["succeeded"] == c["resultsWritten"] == 7


def test_failures_over_tolerance_fail_the_map_run(server):
    sfn = sfnc(server)
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericGreaterThanEquals": 2, "Next": "Boom"}],
                "Default": "Ok",
            },
            "Boom": {"Type": "Fail", "Error": "Bad", "Cause": "too big"},
            "Ok": {"Type": "Pass", "End": True},
        },
    }
    d = run(sfn, map_machine(processor, MaxConcurrency=1, ToleratedFailureCount=1), [0, 1, 2, 3])
    assert d["status"] == "FAILED" and d["error"] == "States.ExceedToleratedFailureThreshold", d
    arn = only_run(sfn, d["executionArn"])["mapRunArn"]
    run_d = sfn.describe_map_run(mapRunArn=arn)
    assert run_d["status"] == "FAILED" and run_d["toleratedFailureCount"] == 1
    c = run_d["itemCounts"]
    assert (c["total"], c["succeeded"], c["failed"], c["pending"], c["running"]) == (4, 2, 2, 0, 0)
    ev = history(sfn, d["executionArn"])
    types = [e["type"] for e in ev]
    assert types.index("MapRunFailed") + 1 == types.index("MapStateFailed")
    failed = ev[types.index("MapRunFailed")]["mapRunFailedEventDetails"]
    assert failed["error"] == "States.ExceedToleratedFailureThreshold"


def test_stop_execution_aborts_the_map_run(server):
    sfn = sfnc(server)
    sm, ex = start(sfn, map_machine(NAP, MaxConcurrency=2), [1, 2, 3])
    arn = started_run(sfn, ex)
    c = until("two iterations running", lambda: (lambda c: c if c["running"] == 2 else None)(counts(sfn, arn)))
    assert c["pending"] == 1 and c["total"] == 3
    assert sfn.describe_map_run(mapRunArn=arn)["status"] == "RUNNING"
    assert "stopDate" not in sfn.describe_map_run(mapRunArn=arn)
    assert "stopDate" not in only_run(sfn, ex)
    sfn.stop_execution(executionArn=ex, error="Halt", cause="test")
    run_d = sfn.describe_map_run(mapRunArn=arn)
    assert run_d["status"] == "ABORTED" and "stopDate" in run_d
    c = run_d["itemCounts"]
    assert (c["aborted"], c["running"], c["pending"], c["succeeded"]) == (2, 0, 1, 0)
    assert "stopDate" in only_run(sfn, ex)
    types = [e["type"] for e in history(sfn, ex)]
    assert types.index("MapRunAborted") < types.index("ExecutionAborted")
    assert "MapRunSucceeded" not in types and "MapRunFailed" not in types


def test_update_map_run_max_concurrency_starts_more_iterations(server):
    sfn = sfnc(server)
    sm, ex = start(sfn, map_machine(NAP, MaxConcurrency=1), list(range(6)))
    arn = started_run(sfn, ex)
    until("one iteration running", lambda: counts(sfn, arn)["running"] == 1)
    assert counts(sfn, arn)["pending"] == 5  # and no more start
    sfn.update_map_run(mapRunArn=arn, maxConcurrency=4)
    assert sfn.describe_map_run(mapRunArn=arn)["maxConcurrency"] == 4
    c = until("four iterations running", lambda: (lambda c: c if c["running"] == 4 else None)(counts(sfn, arn)))
    assert c["pending"] == 2
    types = [e["type"] for e in history(sfn, ex)]
    assert types.count("MapIterationStarted") == 4
    sfn.update_map_run(mapRunArn=arn, toleratedFailureCount=3, toleratedFailurePercentage=40.5)
    d = sfn.describe_map_run(mapRunArn=arn)
    assert (d["maxConcurrency"], d["toleratedFailureCount"], d["toleratedFailurePercentage"]) == (4, 3, 40.5)
    sfn.stop_execution(executionArn=ex)
    d = sfn.describe_map_run(mapRunArn=arn)
    assert d["status"] == "ABORTED" and d["maxConcurrency"] == 4 and d["toleratedFailureCount"] == 3
    with pytest.raises(ClientError) as e:  # an ended Map Run cannot change
        sfn.update_map_run(mapRunArn=arn, maxConcurrency=1)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def token_map(server, tolerated):
    """A distributed Map of 4 iterations each waiting for a task token sent to a queue."""
    sqs = make_client(server.endpoint)
    url = sqs.create_queue(QueueName=unique("mrq"))["QueueUrl"]
    processor = {"StartAt": "Ask", "States": {"Ask": ask_state(url, End=True)}}
    return sqs, url, map_machine(processor, ToleratedFailureCount=tolerated)


def tokens(sqs, url, n):
    got = []

    def more():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"])["token"])
        return len(got) >= n

    until("%d task tokens" % n, more)
    return got


def test_update_map_run_raised_tolerance_lets_the_map_succeed(server):
    sfn = sfnc(server)
    sqs, url, definition = token_map(server, 0)
    sm, ex = start(sfn, definition, [1, 2, 3, 4])
    arn = started_run(sfn, ex)
    toks = tokens(sqs, url, 4)
    sfn.update_map_run(mapRunArn=arn, toleratedFailureCount=2)
    for t in toks[:2]:
        sfn.send_task_failure(taskToken=t, error="No", cause="rejected")
    for t in toks[2:]:
        sfn.send_task_success(taskToken=t, output="{}")
    d = wait_done(sfn, ex)
    assert d["status"] == "SUCCEEDED", d
    run_d = sfn.describe_map_run(mapRunArn=arn)
    assert run_d["status"] == "SUCCEEDED" and run_d["toleratedFailureCount"] == 2
    assert (run_d["itemCounts"]["failed"], run_d["itemCounts"]["succeeded"]) == (2, 2)


def test_update_map_run_lowered_tolerance_fails_the_map_at_once(server):
    sfn = sfnc(server)
    sqs, url, definition = token_map(server, 5)
    sm, ex = start(sfn, definition, [1, 2, 3, 4])
    arn = started_run(sfn, ex)
    toks = tokens(sqs, url, 4)
    sfn.send_task_failure(taskToken=toks[0], error="No", cause="rejected")
    until("one failure counted", lambda: counts(sfn, arn)["failed"] == 1)
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"  # 1 <= 5 tolerated
    sfn.update_map_run(mapRunArn=arn, toleratedFailureCount=0)
    d = wait_done(sfn, ex)
    assert d["status"] == "FAILED" and d["error"] == "States.ExceedToleratedFailureThreshold", d
    run_d = sfn.describe_map_run(mapRunArn=arn)
    assert run_d["status"] == "FAILED"
    assert (run_d["itemCounts"]["failed"], run_d["itemCounts"]["aborted"]) == (1, 3)


def test_map_runs_of_a_parallel_are_listed_by_page(server):
    sfn = sfnc(server)
    branch = lambda label: {  # noqa: E731
        "StartAt": "M",
        "States": {"M": dict(map_machine(Label=label)["States"]["Map"], ItemsPath="$.items")},
    }
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [branch("A"), branch("B"), branch("C")], "End": True}},
    }
    d = run(sfn, definition, {"items": [1, 2]})
    assert d["status"] == "SUCCEEDED", d
    page = sfn.list_map_runs(executionArn=d["executionArn"], maxResults=2)
    assert len(page["mapRuns"]) == 2 and page["nextToken"]
    rest = sfn.list_map_runs(executionArn=d["executionArn"], maxResults=2, nextToken=page["nextToken"])
    assert len(rest["mapRuns"]) == 1 and "nextToken" not in rest
    runs = page["mapRuns"] + rest["mapRuns"]
    assert sorted(r["mapRunArn"].split(":")[-2].split("/")[1] for r in runs) == ["A", "B", "C"]
    assert len({r["mapRunArn"] for r in runs}) == 3
    assert {r["executionArn"] for r in runs} == {d["executionArn"]}
    for r in runs:
        c = counts(sfn, r["mapRunArn"])
        assert c["total"] == c["succeeded"] == 2


def test_map_run_survives_sigkill_mid_run_and_after_it_ended(fresh_server):
    sfn = sfnc(fresh_server)
    nap = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 2, "End": True}}}
    sm, ex = start(sfn, map_machine(nap, MaxConcurrency=1), [1, 2, 3])
    arn = started_run(sfn, ex)
    sfn.update_map_run(mapRunArn=arn, maxConcurrency=2, toleratedFailurePercentage=10)
    fresh_server.restart_after_kill()
    sfn = sfnc(fresh_server)
    d = sfn.describe_map_run(mapRunArn=arn)  # the update was acknowledged: it is kept
    assert d["status"] == "RUNNING" and d["maxConcurrency"] == 2 and d["toleratedFailurePercentage"] == 10
    assert d["itemCounts"]["total"] == 3
    assert only_run(sfn, ex)["mapRunArn"] == arn
    done = wait_done(sfn, ex, 60)
    assert done["status"] == "SUCCEEDED", done
    final = sfn.describe_map_run(mapRunArn=arn)
    assert final["status"] == "SUCCEEDED" and final["itemCounts"]["succeeded"] == 3
    fresh_server.restart_after_kill()
    sfn = sfnc(fresh_server)
    again = sfn.describe_map_run(mapRunArn=arn)
    assert again == dict(final, ResponseMetadata=again["ResponseMetadata"])
    item = only_run(sfn, ex)
    assert item["mapRunArn"] == arn and "stopDate" in item
    types = [e["type"] for e in history(sfn, ex)]
    assert types.count("MapRunStarted") == types.count("MapRunSucceeded") == 1


def test_errors_of_unknown_arns_and_bad_parameters(server):
    sfn = sfnc(server)
    d = run(sfn, map_machine(), [1])
    arn = only_run(sfn, d["executionArn"])["mapRunArn"]
    missing = arn.rsplit(":", 1)[0] + ":00000000-0000-0000-0000-000000000000"
    assert error_of(sfn.describe_map_run, mapRunArn=missing) == "ResourceNotFound"
    assert error_of(sfn.describe_map_run, mapRunArn="not-an-arn") == "InvalidArn"
    assert error_of(sfn.describe_map_run, mapRunArn=d["executionArn"]) == "InvalidArn"
    assert error_of(sfn.update_map_run, mapRunArn=missing, maxConcurrency=1) == "ResourceNotFound"
    assert error_of(sfn.update_map_run, mapRunArn="nope", maxConcurrency=1) == "InvalidArn"
    assert error_of(sfn.update_map_run, mapRunArn=arn, toleratedFailurePercentage=150.0) == "ValidationException"
    raw = sfnc(server, parameter_validation=False)
    assert error_of(raw.update_map_run, mapRunArn=arn, maxConcurrency=-1) == "ValidationException"
    assert error_of(raw.update_map_run, mapRunArn=arn, toleratedFailureCount=-2) == "ValidationException"
    gone = d["executionArn"].rsplit(":", 1)[0] + ":nobody"
    assert error_of(sfn.list_map_runs, executionArn=gone) == "ExecutionDoesNotExist"
    assert error_of(sfn.list_map_runs, executionArn="bad") == "InvalidArn"
    assert error_of(sfn.list_map_runs, executionArn=d["executionArn"], nextToken="zz") == "InvalidToken"
    # a Map Run's iterations are not kept once they end: not listed (a clear error)
    assert error_of(sfn.list_executions, mapRunArn=arn) == "ValidationException"
    # an inline Map has no Map Run
    inline = run(sfn, {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": ECHO, "End": True}}}, [1])
    assert sfn.list_map_runs(executionArn=inline["executionArn"])["mapRuns"] == []
    assert "MapRunStarted" not in [e["type"] for e in history(sfn, inline["executionArn"])]


def test_execution_timeout_aborts_the_map_run(server):
    sfn = sfnc(server)
    definition = dict(map_machine(NAP), TimeoutSeconds=1)
    sm, ex = start(sfn, definition, [1, 2])
    d = wait_done(sfn, ex)
    assert d["status"] == "TIMED_OUT", d
    run_d = sfn.describe_map_run(mapRunArn=only_run(sfn, ex)["mapRunArn"])
    assert run_d["status"] == "ABORTED" and run_d["itemCounts"]["aborted"] == 2
    types = [e["type"] for e in history(sfn, ex)]
    assert types.index("MapRunAborted") < types.index("ExecutionTimedOut")


def test_a_failed_sibling_branch_aborts_the_map_run_in_a_parallel(server):
    sfn = sfnc(server)
    mapped = {"StartAt": "M", "States": {"M": map_machine(NAP)["States"]["Map"]}}
    failing = {
        "StartAt": "Later",
        "States": {
            "Later": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
            "Boom": {"Type": "Fail", "Error": "Sibling", "Cause": "fails"},
        },
    }
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [mapped, failing], "End": True}}}
    d = run(sfn, definition, [1, 2, 3])
    assert d["status"] == "FAILED" and d["error"] == "Sibling", d
    item = only_run(sfn, d["executionArn"])
    assert item["executionArn"] == d["executionArn"] and "stopDate" in item
    run_d = sfn.describe_map_run(mapRunArn=item["mapRunArn"])
    assert run_d["status"] == "ABORTED" and run_d["itemCounts"]["aborted"] == 3
    assert "MapRunAborted" in [e["type"] for e in history(sfn, d["executionArn"])]
