"""PurgeQueue, dead-letter queues (redrive on receive), ListDeadLetterSourceQueues, and
retention-period validation."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from helpers import counts, error_code, http_status, md5_of_attributes, queue_attrs


# --------------------------------------------------------------------------- purge


def test_purge_queue_empties_it(sqs, new_queue):
    _, url = new_queue("purge")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=30)
    inflight = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=30)["Messages"]
    assert inflight
    sqs.purge_queue(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_second_purge_within_60_seconds_is_purge_queue_in_progress(sqs, new_queue):
    _, url = new_queue("purge2")
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as e:
        sqs.purge_queue(QueueUrl=url)
    assert error_code(e) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert http_status(e) == 403
    # Other queues are not affected by this queue's purge.
    _, other = new_queue("purge3")
    sqs.purge_queue(QueueUrl=other)


def test_purge_missing_queue(server, sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.purge_queue(QueueUrl=server.queue_url("no-such-queue-for-purge"))


# --------------------------------------------------------------------------- dead-letter queues


def _arn(sqs, url):
    return queue_attrs(sqs, url, "QueueArn")["QueueArn"]


def test_message_moves_to_dlq_after_max_receive_count(sqs, new_queue):
    _, dlq = new_queue("dlq")
    _, src = new_queue(
        "src",
        VisibilityTimeout=1,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": _arn(sqs, dlq), "maxReceiveCount": 2}),
    )
    attrs = {
        "kind": {"DataType": "String", "StringValue": "poison"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
    }
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison pill", MessageAttributes=attrs)
    first_sent_ts = None
    for n in (1, 2):
        (m,) = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=3, AttributeNames=["All"])["Messages"]
        assert m["MessageId"] == sent["MessageId"]
        assert m["Attributes"]["ApproximateReceiveCount"] == str(n)
        first_sent_ts = first_sent_ts or m["Attributes"]["SentTimestamp"]
        assert m["Attributes"]["SentTimestamp"] == first_sent_ts
    time.sleep(1.2)  # the second receive's visibility timeout expires
    # The third receive finds the message over its maxReceiveCount: moved, not delivered.
    assert sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1).get("Messages", []) == []
    assert counts(sqs, src) == (0, 0, 0)
    assert counts(sqs, dlq) == (1, 0, 0)
    (d,) = sqs.receive_message(
        QueueUrl=dlq, WaitTimeSeconds=2, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    assert d["MessageId"] == sent["MessageId"]
    assert d["Body"] == "poison pill"
    assert d["MessageAttributes"] == attrs
    assert d["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert d["Attributes"]["SentTimestamp"] == first_sent_ts


def test_deleted_messages_never_reach_the_dlq(sqs, new_queue):
    _, dlq = new_queue("dlq")
    _, src = new_queue(
        "src",
        VisibilityTimeout=1,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": _arn(sqs, dlq), "maxReceiveCount": 1}),
    )
    sqs.send_message(QueueUrl=src, MessageBody="handled")
    (m,) = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"]
    sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
    time.sleep(1.2)
    assert sqs.receive_message(QueueUrl=src, WaitTimeSeconds=0).get("Messages", []) == []
    assert counts(sqs, dlq) == (0, 0, 0)


def test_list_dead_letter_source_queues(sqs, new_queue):
    _, dlq = new_queue("dlq")
    arn = _arn(sqs, dlq)
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    _, a = new_queue("srca", RedrivePolicy=policy)
    _, b = new_queue("srcb")
    sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": policy})
    _, unrelated = new_queue("plain")
    got = sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]
    assert sorted(got) == sorted([a, b])
    assert sqs.list_dead_letter_source_queues(QueueUrl=unrelated).get("queueUrls", []) == []
    # Removing a policy removes the source.
    sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": ""})
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [a]


def test_list_dead_letter_source_queues_pagination(sqs, new_queue):
    _, dlq = new_queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": _arn(sqs, dlq), "maxReceiveCount": 3})
    urls = {new_queue("src", RedrivePolicy=policy)[1] for _ in range(3)}
    seen = []
    kw = {"QueueUrl": dlq, "MaxResults": 2}
    for _ in range(5):
        r = sqs.list_dead_letter_source_queues(**kw)
        seen.extend(r.get("queueUrls", []))
        if "NextToken" not in r:
            break
        kw["NextToken"] = r["NextToken"]
    assert sorted(seen) == sorted(urls)


# --------------------------------------------------------------------------- retention


@pytest.mark.parametrize("value", ["59", "0", "1209601"])
def test_retention_period_out_of_range(sqs, new_queue, value):
    _, url = new_queue("ret")
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": value})
    assert error_code(e) == "InvalidAttributeValue"
    assert queue_attrs(sqs, url, "MessageRetentionPeriod") == {"MessageRetentionPeriod": "345600"}


def test_minimum_retention_period_is_60_seconds(sqs, new_queue):
    _, url = new_queue("ret60", MessageRetentionPeriod=60)
    assert queue_attrs(sqs, url, "MessageRetentionPeriod") == {"MessageRetentionPeriod": "60"}
    # Messages are kept (no waiting for expiry here): a fresh message is receivable.
    sqs.send_message(QueueUrl=url, MessageBody="short-lived")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]] == ["short-lived"]
