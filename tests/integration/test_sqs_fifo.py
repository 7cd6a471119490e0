"""FIFO queues: group ids, deduplication, ordering, group blocking, sequence numbers."""

import hashlib
import time

import pytest
from botocore.exceptions import ClientError

from helpers import counts, error_code, http_status


def _recv(sqs, url, n=10, wait=1, **kw):
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=n, WaitTimeSeconds=wait, AttributeNames=["All"], **kw
    ).get("Messages", [])


def test_message_group_id_is_required(sqs, new_queue):
    _, url = new_queue("fg", fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert error_code(e) == "MissingParameter"
    assert http_status(e) == 400


def test_deduplication_id_or_content_based_deduplication_is_required(sqs, new_queue):
    _, url = new_queue("fd", fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert error_code(e) == "InvalidParameterValue"
    assert counts(sqs, url) == (0, 0, 0)


def test_batch_without_group_id_fails_as_a_whole(sqs, new_queue):
    _, url = new_queue("fbg", fifo=True, ContentBasedDeduplication="true")
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}])
    assert error_code(e) == "InvalidParameterValue"


def test_per_message_delay_is_not_allowed_on_fifo(sqs, new_queue):
    _, url = new_queue("fdelay", fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=2)
    assert error_code(e) == "InvalidParameterValue"


def test_send_returns_sequence_numbers_and_receive_has_fifo_attributes(sqs, new_queue):
    _, url = new_queue("fseq", fifo=True)
    seqs = []
    for i in range(3):
        r = sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageGroupId="g", MessageDeduplicationId="d%d" % i)
        seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    got = _recv(sqs, url)
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    for i, m in enumerate(got):
        a = m["Attributes"]
        assert a["MessageGroupId"] == "g"
        assert a["MessageDeduplicationId"] == "d%d" % i
        assert int(a["SequenceNumber"]) == seqs[i]
        assert a["ApproximateReceiveCount"] == "1"


def test_dedup_by_id_returns_the_same_message_id(sqs, new_queue):
    _, url = new_queue("fdd", fifo=True)
    a = sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="same")
    b = sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g", MessageDeduplicationId="same")
    assert b["MessageId"] == a["MessageId"]
    other = sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="other")
    assert other["MessageId"] != a["MessageId"]
    got = _recv(sqs, url)
    assert [m["Body"] for m in got] == ["first", "first"]
    assert [m["MessageId"] for m in got] == [a["MessageId"], other["MessageId"]]


def test_dedup_holds_after_the_original_is_deleted(sqs, new_queue):
    _, url = new_queue("fddd", fifo=True)
    a = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="k")
    (m,) = _recv(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    b = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="k")
    assert b["MessageId"] == a["MessageId"]
    assert _recv(sqs, url, wait=1) == []
    assert counts(sqs, url) == (0, 0, 0)


def test_content_based_deduplication(sqs, new_queue):
    _, url = new_queue("fcbd", fifo=True, ContentBasedDeduplication="true")
    a = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g1")
    b = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g2")  # still a duplicate
    c = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g1")
    assert b["MessageId"] == a["MessageId"]
    assert c["MessageId"] != a["MessageId"]
    # An explicit id overrides the generated one; the generated one is SHA-256 of the body.
    d = sqs.send_message(
        QueueUrl=url,
        MessageBody="different body, same id",
        MessageGroupId="g1",
        MessageDeduplicationId=hashlib.sha256(b"same body").hexdigest(),
    )
    assert d["MessageId"] == a["MessageId"]
    e = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g1", MessageDeduplicationId="explicit")
    assert e["MessageId"] != a["MessageId"]
    got = _recv(sqs, url)
    assert sorted(m["MessageId"] for m in got) == sorted([a["MessageId"], c["MessageId"], e["MessageId"]])


def test_deduplication_scope_message_group(sqs, new_queue):
    _, url = new_queue("fscope", fifo=True, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="k")
    b = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g2", MessageDeduplicationId="k")
    c = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="k")
    assert b["MessageId"] != a["MessageId"]  # other group: not a duplicate
    assert c["MessageId"] == a["MessageId"]  # same group: a duplicate
    got = _recv(sqs, url)
    assert sorted(m["Attributes"]["MessageGroupId"] for m in got) == ["g1", "g2"]


def test_strict_order_within_a_group(sqs, new_queue):
    _, url = new_queue("forder", fifo=True, ContentBasedDeduplication="true")
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody="msg-%02d" % i, MessageGroupId="only")
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": "msg-%02d" % i, "MessageGroupId": "only"} for i in range(12, 20)],
    )
    bodies = []
    for _ in range(10):
        got = _recv(sqs, url, wait=1)
        if not got:
            break
        bodies += [m["Body"] for m in got]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
    assert bodies == ["msg-%02d" % i for i in range(20)]


def test_group_is_blocked_while_a_message_is_in_flight(sqs, new_queue):
    _, url = new_queue("fblock", fifo=True, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="A1", MessageGroupId="A")
    sqs.send_message(QueueUrl=url, MessageBody="A2", MessageGroupId="A")
    sqs.send_message(QueueUrl=url, MessageBody="B1", MessageGroupId="B")
    sqs.send_message(QueueUrl=url, MessageBody="B2", MessageGroupId="B")
    (a1,) = _recv(sqs, url, n=1)
    assert a1["Body"] == "A1"
    # A is blocked behind A1; B still delivers.
    (b1,) = _recv(sqs, url, n=1)
    assert b1["Body"] == "B1"
    assert _recv(sqs, url, n=10, wait=0) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    got = _recv(sqs, url, n=10, wait=1)
    assert [m["Body"] for m in got] == ["A2"]  # B still blocked behind B1
    sqs.delete_message(QueueUrl=url, ReceiptHandle=b1["ReceiptHandle"])
    got = _recv(sqs, url, n=10, wait=1)
    assert [m["Body"] for m in got] == ["B2"]


def test_a_failed_message_is_redelivered_before_the_rest_of_its_group(sqs, new_queue):
    _, url = new_queue("fretry", fifo=True, ContentBasedDeduplication="true", VisibilityTimeout=1)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageGroupId="g")
    first = _recv(sqs, url, n=1)
    assert [m["Body"] for m in first] == ["m0"]
    time.sleep(1.2)  # not deleted: m0 becomes visible again
    again = _recv(sqs, url, n=10, wait=1)
    assert [m["Body"] for m in again] == ["m0", "m1", "m2"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_receive_returns_multiple_groups_in_order(sqs, new_queue):
    _, url = new_queue("fgroups", fifo=True, ContentBasedDeduplication="true")
    for i in range(3):
        for g in ("x", "y"):
            sqs.send_message(QueueUrl=url, MessageBody="%s%d" % (g, i), MessageGroupId=g)
    seen = []
    for _ in range(10):
        got = _recv(sqs, url, wait=1)
        if not got:
            break
        seen += [m["Body"] for m in got]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
    assert sorted(seen) == ["x0", "x1", "x2", "y0", "y1", "y2"]
    assert [b for b in seen if b[0] == "x"] == ["x0", "x1", "x2"]
    assert [b for b in seen if b[0] == "y"] == ["y0", "y1", "y2"]


def test_fifo_batch_send_keeps_order_and_sequence_numbers_increase(sqs, new_queue):
    _, url = new_queue("fbatch", fifo=True)
    r = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "e%d" % i, "MessageBody": "b%d" % i, "MessageGroupId": "g", "MessageDeduplicationId": "k%d" % i}
            for i in range(5)
        ],
    )
    assert r.get("Failed", []) == []
    by_id = {e["Id"]: e for e in r["Successful"]}
    seqs = [int(by_id["e%d" % i]["SequenceNumber"]) for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    got = _recv(sqs, url)
    assert [m["Body"] for m in got] == ["b%d" % i for i in range(5)]


def test_receive_request_attempt_id_retry_returns_the_same_messages(sqs, new_queue):
    _, url = new_queue("fattempt", fifo=True, ContentBasedDeduplication="true")
    for body in ("a1", "a2", "a3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30,
                                ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [m["Body"] for m in first] == ["a1", "a2"]
    # A retry (say, after a lost response) gets the same messages and receipt handles.
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30,
                                ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in again] == \
        [(m["MessageId"], m["ReceiptHandle"]) for m in first]
    # Another attempt id is a new receive: the group is blocked while a1, a2 are in flight.
    assert sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-2").get("Messages", []) == []
    # Once one of them changed (deleted), the old attempt id is a normal receive too.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-1").get("Messages", []) == []


def test_receive_request_attempt_id_is_validated(sqs, new_queue):
    _, url = new_queue("fattemptbad", fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="bad id with spaces")
    assert error_code(e) == "InvalidParameterValue"
