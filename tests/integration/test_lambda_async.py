"""Asynchronous invocation (InvocationType Event): acknowledged with 202 once stored, run
later, retried twice after a function error as Lambda does, and surviving a SIGKILL of the
server between the 202 and the run."""

import json
import threading
import time

import pytest

import helpers
from helpers import SLOW
from lambda_helpers import create, lambda_client

# Sends the event to the queue named in it (through this server's SQS, no endpoint in the
# code); with "fail_until": N, raises on the first N attempts (counted in a file of the
# test's temporary directory "dir", keyed by "key").
HANDLER = {"app.py": """
import json, os, time
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    counter = os.path.join(event["dir"], "attempts-" + event["key"])
    attempts = 1
    if os.path.exists(counter):
        attempts = int(open(counter).read()) + 1
    open(counter, "w").write(str(attempts))
    if attempts <= event.get("fail_until", 0):
        raise RuntimeError("attempt %d fails" % attempts)
    sqs.send_message(QueueUrl=event["queue_url"],
                     MessageBody=json.dumps({"event": event, "attempts": attempts,
                                             "request_id": context.aws_request_id}))
    return "ok"
"""}


def event(lam, name, body):
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(body).encode())
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""
    return resp


def test_event_runs_later(server, sqs, new_queue, tmp_path):
    lam = lambda_client(server.endpoint)
    _, url = new_queue("async")
    name = create(lam, HANDLER, Timeout=30, MemorySize=256)
    event(lam, name, {"queue_url": url, "key": helpers.unique("k"), "dir": str(tmp_path), "n": 1})
    msgs = helpers.receive_all(sqs, url, 1, wait=2)
    body = json.loads(msgs[0]["Body"])
    assert body["event"]["n"] == 1 and body["attempts"] == 1


def test_failing_event_is_retried_twice(server, sqs, new_queue, tmp_path):
    lam = lambda_client(server.endpoint)
    _, url = new_queue("retry")
    name = create(lam, HANDLER, Timeout=30, MemorySize=256)
    event(lam, name, {"queue_url": url, "key": helpers.unique("k"), "dir": str(tmp_path), "fail_until": 2})
    msgs = helpers.receive_all(sqs, url, 1, wait=5)
    assert json.loads(msgs[0]["Body"])["attempts"] == 3  # the third attempt succeeded
    # An event failing three times is dropped: no fourth attempt.
    key = helpers.unique("k")
    event(lam, name, {"queue_url": url, "key": key, "dir": str(tmp_path), "fail_until": 5})
    time.sleep(5 * SLOW)
    assert (tmp_path / ("attempts-" + key)).read_text() == "3"
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None


@pytest.mark.sluice_timeout(120)
def test_event_survives_sigkill(fresh_server_factory, tmp_path):
    # One worker at most: while a slow synchronous invocation holds it, the event is
    # acknowledged but cannot start; the server is then killed, and the restarted one runs it.
    srv = fresh_server_factory(extra_args=["--lambda-concurrency", "1"])
    lam = lambda_client(srv.endpoint)
    sqs = helpers.make_client(srv.endpoint)
    url = sqs.create_queue(QueueName=helpers.unique("survive"))["QueueUrl"]
    name = create(lam, HANDLER, Timeout=60, MemorySize=256)
    blocker = threading.Thread(target=lambda: _swallow(
        lambda: lam.invoke(FunctionName=name, Payload=json.dumps(
            {"queue_url": url, "key": helpers.unique("k"), "dir": str(tmp_path), "sleep": 4 * SLOW, "n": "blocker"}).encode())))
    blocker.start()
    time.sleep(1.0 * SLOW)
    event(lam, name, {"queue_url": url, "key": helpers.unique("k"), "dir": str(tmp_path), "n": "durable"})
    srv.restart_after_kill()
    blocker.join()
    sqs = helpers.make_client(srv.endpoint)
    seen = []
    deadline = time.monotonic() + 30 * SLOW
    while "durable" not in seen and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []):
            seen.append(json.loads(m["Body"])["event"]["n"])
    assert "durable" in seen


def _swallow(fn):
    try:
        fn()
    except Exception:
        pass  # the server under it was killed
