"""Delivery delay: queue DelaySeconds, per-message DelaySeconds, the Delayed count."""

import time

import pytest
from botocore.exceptions import ClientError

from helpers import SLOW, counts, error_code


def test_queue_delay_seconds(sqs, new_queue):
    _, url = new_queue("qdelay", DelaySeconds=2)
    t = time.monotonic()
    sent = sqs.send_message(QueueUrl=url, MessageBody="later")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    assert counts(sqs, url) == (0, 0, 1)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    elapsed = time.monotonic() - t
    assert [m["MessageId"] for m in got] == [sent["MessageId"]]
    assert 1.8 <= elapsed <= 2.0 + 1.5 * SLOW
    assert counts(sqs, url) == (0, 1, 0)


def test_per_message_delay_overrides_queue_delay(sqs, new_queue):
    _, url = new_queue("mdelay", DelaySeconds=60)
    t = time.monotonic()
    quick = sqs.send_message(QueueUrl=url, MessageBody="quick", DelaySeconds=1)
    slow = sqs.send_message(QueueUrl=url, MessageBody="slow")  # the queue's 60 s
    zero = sqs.send_message(QueueUrl=url, MessageBody="zero", DelaySeconds=0)
    assert counts(sqs, url) == (1, 0, 2)
    first = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["MessageId"] for m in first] == [zero["MessageId"]]
    second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["MessageId"] for m in second] == [quick["MessageId"]]
    assert 0.8 <= time.monotonic() - t <= 1.0 + 1.5 * SLOW
    assert counts(sqs, url) == (0, 2, 1)
    assert slow["MessageId"] not in {m["MessageId"] for m in first + second}


def test_batch_entries_carry_their_own_delay(sqs, new_queue):
    _, url = new_queue("bdelay")
    r = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "now", "MessageBody": "now"},
            {"Id": "later", "MessageBody": "later", "DelaySeconds": 1},
            {"Id": "much-later", "MessageBody": "much later", "DelaySeconds": 900},
        ],
    )
    assert len(r["Successful"]) == 3
    assert counts(sqs, url) == (1, 0, 2)
    time.sleep(1.3)
    assert counts(sqs, url) == (2, 0, 1)


def test_queue_delay_change_does_not_affect_messages_already_sent(sqs, new_queue):
    _, url = new_queue("qdchg")
    sqs.send_message(QueueUrl=url, MessageBody="before")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "60"})
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert counts(sqs, url) == (1, 0, 1)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["before"]


@pytest.mark.parametrize("delay", [-1, 901])
def test_delay_seconds_out_of_range(sqs, new_queue, delay):
    _, url = new_queue("dbad")
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=delay)
    assert error_code(e) == "InvalidParameterValue"
    assert counts(sqs, url) == (0, 0, 0)
