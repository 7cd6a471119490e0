"""Long polling: a parked ReceiveMessage wakes on a send, a delay expiring, a visibility
timeout expiring; it returns empty after the wait when nothing arrives."""

import threading
import time

import pytest
from botocore.exceptions import ClientError

from helpers import SLOW, error_code, make_client

WAKE = 0.5 * SLOW  # how soon after the event a parked receive must return


def _send_later(endpoint, url, delay, body, done):
    client = make_client(endpoint)

    def run():
        time.sleep(delay)
        client.send_message(QueueUrl=url, MessageBody=body)
        done["t"] = time.monotonic()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def test_long_poll_wakes_on_a_send_from_another_thread(server, sqs, new_queue):
    _, url = new_queue("lp")
    done = {}
    th = _send_later(server.endpoint, url, 1.0, "wake up", done)
    t0 = time.monotonic()
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)
    t_back = time.monotonic()
    th.join(5)
    assert [m["Body"] for m in r.get("Messages", [])] == ["wake up"]
    assert "t" in done
    assert t_back - t0 >= 0.9  # it really waited for the send
    assert t_back - done["t"] <= WAKE, "returned %.3f s after the send" % (t_back - done["t"])


def test_long_poll_returns_empty_after_the_wait(sqs, new_queue):
    _, url = new_queue("lpe")
    t0 = time.monotonic()
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)
    elapsed = time.monotonic() - t0
    assert r.get("Messages", []) == []
    assert 1.9 <= elapsed <= 2.0 + 1.0 * SLOW


def test_queue_receive_wait_time_is_the_default_wait(sqs, new_queue):
    _, url = new_queue("lpq", ReceiveMessageWaitTimeSeconds=2)
    t0 = time.monotonic()
    r = sqs.receive_message(QueueUrl=url)
    elapsed = time.monotonic() - t0
    assert r.get("Messages", []) == []
    assert 1.9 <= elapsed <= 2.0 + 1.0 * SLOW
    # WaitTimeSeconds=0 on the request overrides the queue's default: a short poll.
    t0 = time.monotonic()
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - t0 < 1.0 * SLOW


def test_short_poll_returns_immediately(sqs, new_queue):
    _, url = new_queue("sp")
    t0 = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    assert time.monotonic() - t0 < 1.0 * SLOW


def test_long_poll_wakes_when_a_delay_expires(sqs, new_queue):
    _, url = new_queue("lpd")
    t0 = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - t0
    assert [m["Body"] for m in r.get("Messages", [])] == ["delayed"]
    assert 0.9 <= elapsed <= 1.0 + WAKE + 0.3


def test_long_poll_wakes_when_a_visibility_timeout_expires(sqs, new_queue):
    _, url = new_queue("lpv")
    sqs.send_message(QueueUrl=url, MessageBody="retry me")
    (m,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=1)["Messages"]
    t0 = time.monotonic()
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - t0
    assert [x["MessageId"] for x in r.get("Messages", [])] == [m["MessageId"]]
    assert elapsed <= 1.0 + WAKE + 0.3


def test_concurrent_long_polls_each_get_a_message(server, new_queue, sqs):
    _, url = new_queue("lpc")
    results = [None] * 3
    errors = []

    def poll(i):
        try:
            c = make_client(server.endpoint)
            results[i] = c.receive_message(QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=1).get("Messages", [])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=poll, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.7)  # let them park
    t0 = time.monotonic()
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m%d" % i} for i in range(3)])
    for t in threads:
        t.join(8)
    elapsed = time.monotonic() - t0
    assert not errors
    bodies = sorted(m["Body"] for r in results for m in (r or []))
    assert bodies == ["m0", "m1", "m2"]
    assert elapsed <= 1.0 * SLOW


def test_wait_time_seconds_out_of_range(sqs, new_queue):
    _, url = new_queue("lpbad")
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert error_code(e) == "InvalidParameterValue"
