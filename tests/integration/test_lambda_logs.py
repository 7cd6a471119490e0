"""Functions' logs in CloudWatch Logs: each invocation's START line, what the handler
printed, END and REPORT land in /aws/lambda/NAME, one event per line, in a stream per worker
named as Lambda names it; `aws logs tail` (with and without --follow, as AWS CLI v2 runs it:
FilterLogEvents polls) and `aws logs filter-log-events` read them; the group Sluice creates
keeps SLUICE_LAMBDA_LOG_RETENTION_DAYS days (default 7)."""

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import helpers
from helpers import SLOW, make_client
from lambda_helpers import create, lambda_client

PRINTER = {"app.py": """
def handler(event, context):
    print("first line of", event["marker"])
    print("second line of", event["marker"])
    return {"ok": event["marker"]}
"""}

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def logs(server):
    return make_client(server.endpoint, "logs")


@pytest.fixture(scope="module")
def printer(lam):
    return create(lam, PRINTER, Timeout=10)


def invoke(lam, name, marker):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps({"marker": marker}).encode())
    assert json.loads(resp["Payload"].read()) == {"ok": marker}
    return resp["ResponseMetadata"]["RequestId"]


def aws_logs(server, tmp_path, *args, **kw):
    return subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "logs"] + list(args),
                          env=helpers.cli_env(str(tmp_path)), capture_output=True, text=True,
                          timeout=60 * SLOW, **kw)


def wait_for(fn, timeout=15):
    """fn() until it returns something true (logs are written after the reply)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        out = fn()
        if out or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def group_events(logs, group, pattern=""):
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group,
                                                                 filterPattern=pattern)
        return [e for p in pages for e in p["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def test_invocation_lines_are_events(lam, logs, printer):
    marker = helpers.unique("m")
    request_id = invoke(lam, printer, marker)
    group = "/aws/lambda/" + printer
    events = wait_for(lambda: [e for e in group_events(logs, group)
                               if e["message"].startswith("REPORT RequestId: " + request_id)]
                      and group_events(logs, group))
    mine = [e for e in events if request_id in e["message"] or marker in e["message"]]
    lines = [e["message"] for e in mine]
    assert lines[0] == "START RequestId: %s Version: $LATEST\n" % request_id
    assert lines[1:3] == ["first line of %s\n" % marker, "second line of %s\n" % marker]
    assert lines[3] == "END RequestId: %s\n" % request_id
    assert lines[4].startswith("REPORT RequestId: %s\tDuration: " % request_id)
    assert "Billed Duration: " in lines[4] and "Memory Size: 128 MB" in lines[4]
    assert len({e["logStreamName"] for e in mine}) == 1
    assert STREAM_NAME.match(mine[0]["logStreamName"]), mine[0]["logStreamName"]
    assert mine[0]["timestamp"] <= mine[-1]["timestamp"]
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert STREAM_NAME.match(stream["logStreamName"])
    # The group Sluice made keeps the default retention; GetLogEvents reads the stream.
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert g["logGroupName"] == group and g["retentionInDays"] == 7 and g["storedBytes"] > 0
    got = logs.get_log_events(logGroupName=group, logStreamName=mine[0]["logStreamName"],
                              startFromHead=True)
    assert "first line of %s\n" % marker in [e["message"] for e in got["events"]]


def test_aws_logs_tail_and_filter(server, lam, logs, printer, tmp_path):
    marker = helpers.unique("tail")
    request_id = invoke(lam, printer, marker)
    group = "/aws/lambda/" + printer
    wait_for(lambda: group_events(logs, group, '"END RequestId: %s"' % request_id))
    out = aws_logs(server, tmp_path, "tail", group, "--since", "1h", "--format", "short")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for line in ("START RequestId: %s Version: $LATEST" % request_id,
                 "first line of %s" % marker, "second line of %s" % marker,
                 "END RequestId: %s" % request_id, "REPORT RequestId: %s" % request_id):
        assert line in text, text
    out = aws_logs(server, tmp_path, "filter-log-events", "--log-group-name", group,
                   "--filter-pattern", '"second line of %s"' % marker)
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["events"]
    assert [e["message"] for e in events] == ["second line of %s\n" % marker]


@pytest.mark.sluice_timeout(90)
def test_aws_logs_tail_follow_sees_new_invocations(server, lam, logs, printer, tmp_path):
    group = "/aws/lambda/" + printer
    invoke(lam, printer, helpers.unique("before"))  # the group exists before tail starts
    env = dict(helpers.cli_env(str(tmp_path)), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(["/usr/bin/aws", "--endpoint-url", server.endpoint, "logs", "tail",
                             group, "--follow", "--since", "1m", "--format", "short"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        time.sleep(2)  # tail made its first FilterLogEvents call and sleeps between polls
        marker = helpers.unique("followed")
        request_id = invoke(lam, printer, marker)
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline and not any(
                "REPORT RequestId: " + request_id in line for line in seen):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        text = "".join(seen)
        assert "first line of %s" % marker in text, text
        assert "REPORT RequestId: " + request_id in text, text
        # each event once, although tail polls again from the newest timestamp it saw
        assert text.count("first line of %s" % marker) == 1
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_failed_invocation_is_logged(lam, logs):
    name = create(lam, {"app.py": "def handler(event, context):\n"
                                  "    print('about to fail')\n"
                                  "    raise ValueError('broken on purpose')\n"})
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    assert resp["FunctionError"] == "Unhandled"
    request_id = resp["ResponseMetadata"]["RequestId"]
    group = "/aws/lambda/" + name
    events = wait_for(lambda: group_events(logs, group, '"REPORT RequestId: %s"' % request_id)
                      and group_events(logs, group))
    text = "".join(e["message"] for e in events)
    assert "about to fail\n" in text and "END RequestId: %s\n" % request_id in text


def test_output_that_is_not_utf8_is_kept_readable(lam, logs):
    name = create(lam, {"app.py": "import sys\n"
                                  "def handler(event, context):\n"
                                  "    sys.stdout.buffer.write(b'raw \\xff\\xfe bytes\\n')\n"
                                  "    sys.stdout.flush()\n"
                                  "    return 1\n"})
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    request_id = resp["ResponseMetadata"]["RequestId"]
    group = "/aws/lambda/" + name
    events = wait_for(lambda: group_events(logs, group, '"REPORT RequestId: %s"' % request_id)
                      and group_events(logs, group))
    assert "raw \ufffd\ufffd bytes\n" in [e["message"] for e in events]


@pytest.mark.sluice_timeout(90)
def test_lambda_log_retention_from_environment(fresh_server_factory, monkeypatch):
    monkeypatch.setenv("SLUICE_LAMBDA_LOG_RETENTION_DAYS", "3")
    srv = fresh_server_factory()
    lam, logs = lambda_client(srv.endpoint), make_client(srv.endpoint, "logs")
    name = create(lam, PRINTER)
    invoke(lam, name, "retention")
    group = "/aws/lambda/" + name
    groups = wait_for(lambda: logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"])
    assert groups[0]["retentionInDays"] == 3
