"""Visibility timeouts: expiry, ChangeMessageVisibility, per-receive overrides."""

import time

import pytest
from botocore.exceptions import ClientError

from helpers import SLOW, counts, error_code


def _receive_one(sqs, url, **kw):
    kw.setdefault("WaitTimeSeconds", 2)
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], **kw).get("Messages", [])
    assert len(got) <= 1
    return got[0] if got else None


def test_message_reappears_after_visibility_timeout(sqs, new_queue):
    _, url = new_queue("vis", VisibilityTimeout=1)
    sent = sqs.send_message(QueueUrl=url, MessageBody="again")
    m1 = _receive_one(sqs, url)
    assert m1["MessageId"] == sent["MessageId"]
    assert m1["Attributes"]["ApproximateReceiveCount"] == "1"
    t_received = time.monotonic()
    # Invisible right away.
    assert _receive_one(sqs, url, WaitTimeSeconds=0) is None
    assert counts(sqs, url) == (0, 1, 0)
    # Visible again after ~1 s: a long poll picks it up when the timeout expires.
    m2 = _receive_one(sqs, url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - t_received
    assert m2 is not None
    assert m2["MessageId"] == sent["MessageId"]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"
    assert m2["ReceiptHandle"] != m1["ReceiptHandle"]
    assert 0.8 <= elapsed <= 1.0 + 1.5 * SLOW
    # The latest receipt handle deletes it.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)


def test_change_message_visibility_to_zero_makes_it_visible_at_once(sqs, new_queue):
    _, url = new_queue("vis0")  # default 30 s
    sqs.send_message(QueueUrl=url, MessageBody="now")
    m1 = _receive_one(sqs, url)
    assert _receive_one(sqs, url, WaitTimeSeconds=0) is None
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m1["ReceiptHandle"], VisibilityTimeout=0)
    assert counts(sqs, url) == (1, 0, 0)
    m2 = _receive_one(sqs, url, WaitTimeSeconds=0)
    assert m2 is not None and m2["MessageId"] == m1["MessageId"]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_message_visibility_extends_the_timeout(sqs, new_queue):
    _, url = new_queue("visext", VisibilityTimeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="hold")
    m1 = _receive_one(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m1["ReceiptHandle"], VisibilityTimeout=30)
    time.sleep(1.5)
    assert _receive_one(sqs, url, WaitTimeSeconds=0) is None
    assert counts(sqs, url) == (0, 1, 0)
    # Shortening it works too: it counts from the call, not from the receive.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m1["ReceiptHandle"], VisibilityTimeout=1)
    t = time.monotonic()
    m2 = _receive_one(sqs, url, WaitTimeSeconds=5)
    assert m2 is not None and m2["MessageId"] == m1["MessageId"]
    assert 0.8 <= time.monotonic() - t <= 1.0 + 1.5 * SLOW


def test_visibility_timeout_override_on_receive(sqs, new_queue):
    _, url = new_queue("visover", VisibilityTimeout=60)
    sqs.send_message(QueueUrl=url, MessageBody="short")
    m1 = _receive_one(sqs, url, VisibilityTimeout=1)
    t = time.monotonic()
    m2 = _receive_one(sqs, url, WaitTimeSeconds=5)
    assert m2 is not None and m2["MessageId"] == m1["MessageId"]
    assert 0.8 <= time.monotonic() - t <= 1.0 + 1.5 * SLOW
    # Without an override the queue's 60 s applies: not back within 2 s.
    assert _receive_one(sqs, url, WaitTimeSeconds=2) is None


def test_receive_with_visibility_timeout_zero_leaves_message_visible(sqs, new_queue):
    _, url = new_queue("vis-zero")
    sqs.send_message(QueueUrl=url, MessageBody="peek")
    m1 = _receive_one(sqs, url, VisibilityTimeout=0)
    m2 = _receive_one(sqs, url, WaitTimeSeconds=0)
    assert m2 is not None and m2["MessageId"] == m1["MessageId"]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"


def test_queue_visibility_timeout_change_applies_to_later_receives(sqs, new_queue):
    _, url = new_queue("vischg", VisibilityTimeout=60)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    sqs.send_message(QueueUrl=url, MessageBody="m")
    m1 = _receive_one(sqs, url)
    m2 = _receive_one(sqs, url, WaitTimeSeconds=5)
    assert m2 is not None and m2["MessageId"] == m1["MessageId"]


def test_visibility_timeout_limits(sqs, new_queue):
    _, url = new_queue("vislim")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=43201)
    assert error_code(e) == "InvalidParameterValue"
    m = _receive_one(sqs, url)
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=43201)
    assert error_code(e) == "InvalidParameterValue"
    # 12 hours counted from the receive is the ceiling; a little less is fine.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=43000)
    assert counts(sqs, url) == (0, 1, 0)
