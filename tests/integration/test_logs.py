"""CloudWatch Logs through boto3's `logs` client (AWS JSON 1.1): log groups and streams
(create, describe with prefixes, orders and pages, delete), retention policies and the
sweep that enforces them, PutLogEvents (order, rejected events, missing targets),
GetLogEvents' forward and backward tokens, FilterLogEvents' patterns, stream selection,
windows and pages, the wire errors, and events surviving a kill -9."""

import json
import time

import pytest
from botocore.exceptions import ClientError

import helpers
from helpers import ACCOUNT, REGION, SLOW, error_code, make_client

DAY_MS = 24 * 3600 * 1000


@pytest.fixture(scope="module")
def logs(server):
    return make_client(server.endpoint, "logs")


def now_ms():
    return int(time.time() * 1000)


def new_group(logs, prefix="g"):
    name = "/test/" + helpers.unique(prefix)
    logs.create_log_group(logGroupName=name)
    return name


def new_stream(logs, group, name=None):
    name = name or helpers.unique("s")
    logs.create_log_stream(logGroupName=group, logStreamName=name)
    return name


def put(logs, group, stream, messages, ts=None, step=0):
    """Puts messages (timestamps ts, ts+step, ...); returns the response."""
    ts = now_ms() if ts is None else ts
    events = [{"timestamp": ts + i * step, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def describe_group(logs, name):
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next(g for g in groups if g["logGroupName"] == name)


# --------------------------------------------------------------------------- groups


def test_group_create_describe_delete(logs):
    name = new_group(logs)
    g = describe_group(logs, name)
    assert g["arn"] == "arn:aws:logs:%s:%s:log-group:%s:*" % (REGION, ACCOUNT, name)
    assert g["storedBytes"] == 0 and g["metricFilterCount"] == 0
    assert "retentionInDays" not in g  # never expire, as AWS creates them
    assert abs(g["creationTime"] - now_ms()) < 60000
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=name)
    assert error(e) == ("ResourceAlreadyExistsException", "The specified log group already exists")
    logs.delete_log_group(logGroupName=name)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    with pytest.raises(ClientError) as e:
        logs.delete_log_group(logGroupName=name)
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_group_name_rules(logs):
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="has space")
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="x" * 513)
    assert error_code(e) == "InvalidParameterException"
    logs.create_log_group(logGroupName="/ok/" + helpers.unique("A.b-c_d#e"))


def test_describe_groups_pages_in_name_order(logs):
    prefix = "/pages/" + helpers.unique("p") + "/"
    names = sorted(prefix + "g%02d" % i for i in range(7))
    for n in reversed(names):
        logs.create_log_group(logGroupName=n)
    logs.create_log_group(logGroupName=prefix[:-1] + "-other")  # outside the prefix
    first = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=3)
    assert [g["logGroupName"] for g in first["logGroups"]] == names[:3]
    second = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=3,
                                      nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in second["logGroups"]] == names[3:6]
    third = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=3,
                                     nextToken=second["nextToken"])
    assert [g["logGroupName"] for g in third["logGroups"]] == names[6:]
    assert "nextToken" not in third
    pages = logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 2})
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == names
    with pytest.raises(ClientError) as e:
        logs.describe_log_groups(nextToken="not-a-token")
    assert error(e) == ("InvalidParameterException", "The specified nextToken is invalid.")


def test_retention_policy(logs):
    name = new_group(logs)
    logs.put_retention_policy(logGroupName=name, retentionInDays=7)
    assert describe_group(logs, name)["retentionInDays"] == 7
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=name, retentionInDays=4)
    code, msg = error(e)
    assert code == "InvalidParameterException" and "enum value set" in msg
    logs.delete_retention_policy(logGroupName=name)
    assert "retentionInDays" not in describe_group(logs, name)
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=name + "-missing", retentionInDays=1)
    assert error_code(e) == "ResourceNotFoundException"


@pytest.mark.sluice_timeout(60)
def test_retention_sweep_deletes_expired_events(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    old = now_ms() - 3 * DAY_MS
    put(logs, group, stream, ["old-1", "old-2"], ts=old, step=1)
    put(logs, group, stream, ["recent"])
    assert describe_group(logs, group)["storedBytes"] == len("old-1old-2recent")
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    deadline = time.monotonic() + 15 * SLOW
    while time.monotonic() < deadline:
        msgs = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        if msgs == ["recent"]:
            break
        time.sleep(0.2)
    assert msgs == ["recent"]
    assert describe_group(logs, group)["storedBytes"] == len("recent")
    # Now that the group keeps a day, older events are refused as expired.
    hour = 3600 * 1000
    r = put(logs, group, stream, ["too-old-for-retention", "fine"], ts=now_ms() - DAY_MS - hour,
            step=23 * hour)
    assert r["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}


# --------------------------------------------------------------------------- streams


def test_streams_create_describe_delete(logs):
    group = new_group(logs)
    stream = new_stream(logs, group, "2026/01/01/[$LATEST]abc")
    with pytest.raises(ClientError) as e:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    assert error(e) == ("ResourceAlreadyExistsException", "The specified log stream already exists")
    with pytest.raises(ClientError) as e:
        logs.create_log_stream(logGroupName=group, logStreamName="a:b")
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.create_log_stream(logGroupName=group + "-missing", logStreamName="s")
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")
    s = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(s) == 1 and s[0]["logStreamName"] == stream
    assert s[0]["arn"] == "arn:aws:logs:%s:%s:log-group:%s:log-stream:%s" % (
        REGION, ACCOUNT, group, stream)
    assert "lastEventTimestamp" not in s[0]  # no event yet
    ts = now_ms() - 5000
    put(logs, group, stream, ["a", "b"], ts=ts, step=1000)
    s = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert s["firstEventTimestamp"] == ts and s["lastEventTimestamp"] == ts + 1000
    assert abs(s["lastIngestionTime"] - now_ms()) < 60000
    logs.delete_log_stream(logGroupName=group, logStreamName=stream)
    assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
    assert describe_group(logs, group)["storedBytes"] == 0
    with pytest.raises(ClientError) as e:
        logs.delete_log_stream(logGroupName=group, logStreamName=stream)
    assert error(e) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group + "-missing")
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_describe_streams_orders_prefix_and_pages(logs):
    group = new_group(logs)
    base = now_ms() - 60000
    # names in one order, last event times in another
    for name, offset in (("c-1", 1), ("a-1", 3), ("b-1", 2), ("a-2", 0)):
        new_stream(logs, group, name)
        put(logs, group, name, ["x"], ts=base + offset * 1000)
    new_stream(logs, group, "d-empty")

    def names(**kw):
        pages = logs.get_paginator("describe_log_streams").paginate(
            logGroupName=group, PaginationConfig={"PageSize": 2}, **kw)
        return [s["logStreamName"] for p in pages for s in p["logStreams"]]

    assert names() == ["a-1", "a-2", "b-1", "c-1", "d-empty"]
    assert names(descending=True) == ["d-empty", "c-1", "b-1", "a-2", "a-1"]
    assert names(logStreamNamePrefix="a-") == ["a-1", "a-2"]
    assert names(logStreamNamePrefix="a-", descending=True) == ["a-2", "a-1"]
    assert names(orderBy="LastEventTime") == ["d-empty", "a-2", "c-1", "b-1", "a-1"]
    assert names(orderBy="LastEventTime", descending=True) == ["a-1", "b-1", "c-1", "a-2",
                                                               "d-empty"]
    page = logs.describe_log_streams(logGroupName=group, limit=4)
    assert len(page["logStreams"]) == 4 and page["nextToken"]
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                  logStreamNamePrefix="a")
    assert error_code(e) == "InvalidParameterException"


# --------------------------------------------------------------------------- PutLogEvents


def test_put_log_events_checks(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    with pytest.raises(ClientError) as e:
        put(logs, group + "-missing", stream, ["x"])
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")
    with pytest.raises(ClientError) as e:
        put(logs, group, stream + "-missing", ["x"])
    assert error(e) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    with pytest.raises(ClientError) as e:
        put(logs, group, stream, ["later", "earlier"], step=-1)
    code, msg = error(e)
    assert code == "InvalidParameterException" and "chronological order" in msg
    with pytest.raises(ClientError) as e:
        put(logs, group, stream, ["a", "b"], ts=now_ms() - 2 * DAY_MS, step=DAY_MS + 1)
    assert error_code(e) == "InvalidParameterException"  # spans more than 24 hours
    with pytest.raises(ClientError) as e:
        put(logs, group, stream, ["x" * 300000])
    assert error_code(e) == "InvalidParameterException"


def test_put_log_events_rejects_too_old_and_too_new(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    now = now_ms()
    events = [
        {"timestamp": now - 14 * DAY_MS - 3600 * 1000, "message": "too old"},
        {"timestamp": now - 14 * DAY_MS - 3600 * 1000 + 1, "message": "too old too"},
        {"timestamp": now - 14 * DAY_MS + 60000, "message": "kept 1"},
    ]
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    assert r["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    events = [{"timestamp": now, "message": "kept 2"},
              {"timestamp": now + 3 * 3600 * 1000, "message": "too new"}]
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    assert r["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    r = put(logs, group, stream, ["kept 3"])
    assert "rejectedLogEventsInfo" not in r
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["kept 1", "kept 2", "kept 3"]


# --------------------------------------------------------------------------- GetLogEvents


def test_get_log_events_forward_tokens(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    base = now_ms() - 100000
    put(logs, group, stream, ["m%02d" % i for i in range(25)], ts=base, step=1000)
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=10)
    seen = [e["message"] for e in r["events"]]
    assert seen == ["m%02d" % i for i in range(10)]
    assert r["events"][0]["timestamp"] == base and "ingestionTime" in r["events"][0]
    token = r["nextForwardToken"]
    for expected in (range(10, 20), range(20, 25)):
        r = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                                limit=10, nextToken=token)
        assert [e["message"] for e in r["events"]] == ["m%02d" % i for i in expected]
        token = r["nextForwardToken"]
    # At the end: no events, and the same token back.
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                            nextToken=token)
    assert r["events"] == [] and r["nextForwardToken"] == token
    # A new event is what the same token reads next.
    put(logs, group, stream, ["late"])
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                            nextToken=token)
    assert [e["message"] for e in r["events"]] == ["late"]
    assert r["nextForwardToken"] != token


def test_get_log_events_backward_and_window(logs):
    group = new_group(logs)
    stream = new_stream(logs, group)
    base = now_ms() - 100000
    put(logs, group, stream, ["m%02d" % i for i in range(25)], ts=base, step=1000)
    # The default reads the latest events, still in ascending order.
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10)
    assert [e["message"] for e in r["events"]] == ["m%02d" % i for i in range(15, 25)]
    token = r["nextBackwardToken"]
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10, nextToken=token)
    assert [e["message"] for e in r["events"]] == ["m%02d" % i for i in range(5, 15)]
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10,
                            nextToken=r["nextBackwardToken"])
    assert [e["message"] for e in r["events"]] == ["m%02d" % i for i in range(0, 5)]
    token = r["nextBackwardToken"]
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token)
    assert r["events"] == [] and r["nextBackwardToken"] == token
    # ... and forward again from the head.
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=3,
                            nextToken=r["nextForwardToken"])
    assert [e["message"] for e in r["events"]] == ["m00", "m01", "m02"]
    # startTime is inclusive, endTime exclusive.
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                            startTime=base + 3000, endTime=base + 6000)
    assert [e["message"] for e in r["events"]] == ["m03", "m04", "m05"]
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="f/123")
    assert error(e) == ("InvalidParameterException", "The specified nextToken is invalid.")
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=group, logStreamName="missing")
    assert error(e) == ("ResourceNotFoundException", "The specified log stream does not exist.")


def raw_logs(server, op, payload):
    """A raw AWS JSON 1.1 call (for members Debian's botocore does not know yet)."""
    status, _, body = helpers.raw_request(
        server.endpoint, json.dumps(payload),
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328." + op})
    return status, json.loads(body)


def test_get_log_events_by_group_arn(logs, server):
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, ["by arn"])
    arn = "arn:aws:logs:%s:%s:log-group:%s" % (REGION, ACCOUNT, group)
    status, r = raw_logs(server, "GetLogEvents", {"logGroupIdentifier": arn,
                                                  "logStreamName": stream})
    assert status == 200 and [e["message"] for e in r["events"]] == ["by arn"]
    status, r = raw_logs(server, "FilterLogEvents", {"logGroupIdentifier": arn + ":*"})
    assert status == 200 and [e["message"] for e in r["events"]] == ["by arn"]
    status, r = raw_logs(server, "FilterLogEvents", {"logGroupIdentifier": group})
    assert status == 200 and len(r["events"]) == 1


# --------------------------------------------------------------------------- FilterLogEvents


@pytest.fixture(scope="module")
def app_logs(logs):
    """A group with two streams whose events interleave in time."""
    group = new_group(logs, "app")
    base = now_ms() - 50000
    web, worker = new_stream(logs, group, "web-1"), new_stream(logs, group, "worker-1")
    put(logs, group, web, ["INFO GET /orders 200", "ERROR GET /pay 500 timeout",
                           "WARN slow request"], ts=base, step=2000)
    put(logs, group, worker, ["INFO job started", "ERROR job Failed to process order 42",
                              "DEBUG job done"], ts=base + 1000, step=2000)
    return group, base


def messages(resp):
    return [e["message"] for e in resp["events"]]


def test_filter_interleaves_streams_in_time_order(logs, app_logs):
    group, base = app_logs
    r = logs.filter_log_events(logGroupName=group)
    assert messages(r) == ["INFO GET /orders 200", "INFO job started",
                           "ERROR GET /pay 500 timeout", "ERROR job Failed to process order 42",
                           "WARN slow request", "DEBUG job done"]
    assert [e["logStreamName"] for e in r["events"]][:2] == ["web-1", "worker-1"]
    assert len({e["eventId"] for e in r["events"]}) == 6
    assert "nextToken" not in r
    assert r["events"][0]["timestamp"] == base


@pytest.mark.parametrize("pattern, expected", [
    ("", 6),
    ("ERROR", ["ERROR GET /pay 500 timeout", "ERROR job Failed to process order 42"]),
    ("ERROR job", ["ERROR job Failed to process order 42"]),
    ('"Failed to process"', ["ERROR job Failed to process order 42"]),
    ("?WARN ?DEBUG", ["WARN slow request", "DEBUG job done"]),
    ("job -DEBUG", ["INFO job started", "ERROR job Failed to process order 42"]),
    ("error", []),  # case-sensitive
])
def test_filter_patterns(logs, app_logs, pattern, expected):
    r = logs.filter_log_events(logGroupName=app_logs[0], filterPattern=pattern)
    if isinstance(expected, int):
        assert len(r["events"]) == expected
    else:
        assert messages(r) == expected


def test_filter_pattern_not_supported(logs, app_logs):
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=app_logs[0], filterPattern='{ $.level = "x" }')
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=app_logs[0], filterPattern='"unclosed')
    assert error_code(e) == "InvalidParameterException"


def test_filter_by_streams_and_window(logs, app_logs):
    group, base = app_logs
    r = logs.filter_log_events(logGroupName=group, logStreamNames=["worker-1"])
    assert messages(r) == ["INFO job started", "ERROR job Failed to process order 42",
                           "DEBUG job done"]
    r = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="web")
    assert messages(r)[0] == "INFO GET /orders 200" and len(r["events"]) == 3
    r = logs.filter_log_events(logGroupName=group, startTime=base + 1000, endTime=base + 3000)
    assert messages(r) == ["INFO job started", "ERROR GET /pay 500 timeout"]
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=group, logStreamNames=["web-1"],
                               logStreamNamePrefix="web")
    assert error_code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=group + "-missing")
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_filter_pages(logs, app_logs):
    group = app_logs[0]
    r = logs.filter_log_events(logGroupName=group, limit=4)
    assert len(r["events"]) == 4 and r["nextToken"]
    r2 = logs.filter_log_events(logGroupName=group, limit=4, nextToken=r["nextToken"])
    assert messages(r2) == ["WARN slow request", "DEBUG job done"] and "nextToken" not in r2
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern="job", PaginationConfig={"PageSize": 1})
    assert [m for p in pages for m in messages(p)] == [
        "INFO job started", "ERROR job Failed to process order 42", "DEBUG job done"]


def test_filter_scans_large_group_in_bounded_pages(logs):
    """A rare term in many events: pages may come back short (even empty) with a nextToken,
    and following the tokens finds every match."""
    group = new_group(logs)
    stream = new_stream(logs, group)
    base = now_ms() - 3600 * 1000
    for batch in range(5):
        msgs = ["noise %d-%d" % (batch, i) for i in range(5000)]
        msgs[2500] = "needle %d" % batch
        put(logs, group, stream, msgs, ts=base + batch * 10000)
    found, calls, kw = [], 0, {}
    while True:
        r = logs.filter_log_events(logGroupName=group, filterPattern="needle", **kw)
        calls += 1
        found += messages(r)
        if "nextToken" not in r:
            break
        kw = {"nextToken": r["nextToken"]}
    assert found == ["needle %d" % i for i in range(5)]
    assert calls >= 2


# --------------------------------------------------------------------------- the wire


def test_json_wire_errors(server):
    status, err = raw_logs(server, "DescribeLogStreams",
                           {"logGroupName": "/nope/" + helpers.unique("x")})
    assert status == 400
    assert err["__type"].endswith("ResourceNotFoundException")
    assert err["message"] == "The specified log group does not exist."
    status, err = raw_logs(server, "DescribeLogGroups", {"limit": "ten"})
    assert status == 400 and "SerializationException" in err["__type"]
    status, err = raw_logs(server, "DescribeLogGroups", {"limit": 0})
    assert status == 400 and err["__type"].endswith("InvalidParameterException")
    status, err = raw_logs(server, "StartQuery", {})
    assert status == 400 and "UnknownOperation" in err["__type"]


# --------------------------------------------------------------------------- durability


@pytest.mark.sluice_timeout(90)
def test_events_survive_kill(fresh_server):
    logs = make_client(fresh_server.endpoint, "logs")
    group = new_group(logs)
    stream = new_stream(logs, group)
    put(logs, group, stream, ["before the crash %d" % i for i in range(50)])
    logs.put_retention_policy(logGroupName=group, retentionInDays=30)
    fresh_server.restart_after_kill()
    logs = make_client(fresh_server.endpoint, "logs")
    r = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(r) == ["before the crash %d" % i for i in range(50)]
    assert describe_group(logs, group)["retentionInDays"] == 30
