"""Messages over AWS Query: send/receive/delete, digests, attributes, filters, batches,
and the validation errors of each.

boto3 1.26 (botocore 1.29) does not check SQS digests itself, so every MD5 here is
recomputed and compared by the test (helpers.md5_of_attributes implements the algorithm
and was checked against digests recorded from real SQS)."""

import base64
import time

import pytest
from botocore.exceptions import ClientError

from helpers import counts, error_code, http_status, md5_hex, md5_of_attributes

ATTRS = {
    "s": {"DataType": "String", "StringValue": "hello wörld ✓"},
    "n": {"DataType": "Number", "StringValue": "-12.5e3"},
    "b": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
    "custom_s": {"DataType": "String.custom-label", "StringValue": "c"},
    "custom_n": {"DataType": "Number.int", "StringValue": "42"},
    "custom_b": {"DataType": "Binary.gif", "BinaryValue": b"GIF89a\x00\x01"},
    "Prefix.one": {"DataType": "String", "StringValue": "p1"},
    "Prefix.two": {"DataType": "String", "StringValue": "p2"},
}


def _send_and_receive(sqs, url, body, attrs=None, **receive_kw):
    kw = {"QueueUrl": url, "MessageBody": body}
    if attrs:
        kw["MessageAttributes"] = attrs
    sent = sqs.send_message(**kw)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, **receive_kw)["Messages"]
    assert len(got) == 1
    return sent, got[0]


def test_send_receive_delete(sqs, new_queue):
    _, url = new_queue("msg")
    body = '{"orderId": 42, "items": ["a", "b"]}'
    sent = sqs.send_message(QueueUrl=url, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert "MD5OfMessageAttributes" not in sent
    assert len(sent["MessageId"]) >= 32
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)
    (m,) = r["Messages"]
    assert m["Body"] == body
    assert m["MessageId"] == sent["MessageId"]
    assert m["MD5OfBody"] == md5_hex(body)
    assert m["ReceiptHandle"]
    assert "MessageAttributes" not in m
    assert "MD5OfMessageAttributes" not in m
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    # Deleting again with the same handle is not an error.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.mark.parametrize(
    "body",
    [
        "plain ascii",
        "tab\there, newline\nhere, carriage return\r\nhere",
        "xml specials <a href=\"x\">&amp; ' ]]> </a>",
        "unicode: é ß 漢字 😀 \U0010fffd \ufffd \ue000",
        " leading and trailing spaces ",
        "x" * 100000,
    ],
    ids=["ascii", "whitespace", "xml", "unicode", "spaces", "100k"],
)
def test_body_round_trips_exactly(sqs, new_queue, body):
    _, url = new_queue("body")
    sent, m = _send_and_receive(sqs, url, body)
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert m["Body"] == body
    assert m["MD5OfBody"] == md5_hex(body)


def test_message_attributes_and_their_digests(sqs, new_queue):
    _, url = new_queue("attrs")
    sent, m = _send_and_receive(sqs, url, "with attributes", ATTRS, MessageAttributeNames=["All"])
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(ATTRS)
    assert m["MessageAttributes"] == ATTRS
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(ATTRS)
    assert m["MD5OfBody"] == md5_hex("with attributes")


@pytest.mark.parametrize(
    "names,expected",
    [
        (["All"], sorted(ATTRS)),
        ([".*"], sorted(ATTRS)),
        (["Prefix.*"], ["Prefix.one", "Prefix.two"]),
        (["s", "n", "missing"], ["n", "s"]),
        (["custom_b"], ["custom_b"]),
        (["missing"], []),
        ([], []),
    ],
    ids=["All", "dot-star", "prefix-star", "names", "binary", "missing", "none"],
)
def test_message_attribute_name_filters(sqs, new_queue, names, expected):
    _, url = new_queue("filter")
    sqs.send_message(QueueUrl=url, MessageBody="filtered", MessageAttributes=ATTRS)
    kw = {"MessageAttributeNames": names} if names else {}
    (m,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, **kw)["Messages"]
    got = m.get("MessageAttributes", {})
    assert sorted(got) == expected
    if expected:
        want = {k: ATTRS[k] for k in expected}
        assert got == want
        # The digest covers the attributes returned, not all of them.
        assert m["MD5OfMessageAttributes"] == md5_of_attributes(want)
    else:
        assert "MD5OfMessageAttributes" not in m


def test_system_attributes_on_receive(sqs, new_queue):
    _, url = new_queue("sys")
    t0 = int(time.time() * 1000)
    sent = sqs.send_message(QueueUrl=url, MessageBody="sys")
    (m,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], VisibilityTimeout=1, WaitTimeSeconds=2)[
        "Messages"
    ]
    t1 = int(time.time() * 1000)
    a = m["Attributes"]
    assert set(a) >= {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}
    assert a["SenderId"]
    assert t0 - 1000 <= int(a["SentTimestamp"]) <= t1 + 1000
    assert int(a["SentTimestamp"]) <= int(a["ApproximateFirstReceiveTimestamp"]) <= t1 + 1000
    assert a["ApproximateReceiveCount"] == "1"
    assert m["MessageId"] == sent["MessageId"]
    for fifo_only in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber"):
        assert fifo_only not in a

    # Selected attributes only; the first-receive timestamp does not move.
    time.sleep(1.2)
    (m2,) = sqs.receive_message(
        QueueUrl=url, AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"], WaitTimeSeconds=2
    )["Messages"]
    assert m2["Attributes"] == {
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": a["ApproximateFirstReceiveTimestamp"],
    }
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"], VisibilityTimeout=0)
    (m3,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    assert "Attributes" not in m3 or m3["Attributes"] == {}


def test_aws_trace_header_system_attribute(sqs, new_queue):
    _, url = new_queue("trace")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sys_attrs = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=sys_attrs)
    # The digest real SQS returns for exactly this trace header.
    assert md5_of_attributes(sys_attrs) == "5ae4d5d7636402d80f4eb6d213245a88"
    assert sent["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88"
    (m,) = sqs.receive_message(QueueUrl=url, AttributeNames=["AWSTraceHeader"], WaitTimeSeconds=2)["Messages"]
    assert m["Attributes"] == {"AWSTraceHeader": trace}


def test_message_too_large(sqs, new_queue):
    _, url = new_queue("big", MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert error_code(e) == "InvalidParameterValue"
    assert http_status(e) == 400
    # The limit is in bytes of UTF-8: 513 two-byte characters are 1026 bytes.
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="é" * 513)
    assert error_code(e) == "InvalidParameterValue"
    # Attribute names, types and values count towards the limit.
    with pytest.raises(ClientError) as e:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x" * 1000,
            MessageAttributes={"a": {"DataType": "String", "StringValue": "v" * 100}},
        )
    assert error_code(e) == "InvalidParameterValue"
    assert counts(sqs, url) == (1, 0, 0)


def test_default_and_maximum_message_sizes(sqs, new_queue):
    _, url = new_queue("size")
    sqs.send_message(QueueUrl=url, MessageBody="a" * 262144)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="a" * 262145)
    assert error_code(e) == "InvalidParameterValue"
    _, big = new_queue("size", MaximumMessageSize=1048576)
    body = "b" * 1048576
    sent = sqs.send_message(QueueUrl=big, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    (m,) = sqs.receive_message(QueueUrl=big, WaitTimeSeconds=2)["Messages"]
    assert m["Body"] == body


@pytest.mark.parametrize("body", ["nul\x00byte", "bell\x07", "esc\x1b", "\ufffe", "\uffff"], ids=repr)
def test_invalid_characters_in_body(sqs, new_queue, body):
    _, url = new_queue("chars")
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert error_code(e) == "InvalidMessageContents"
    assert http_status(e) == 400
    assert counts(sqs, url) == (0, 0, 0)


def test_empty_string_attribute_value_is_rejected(sqs, new_queue):
    _, url = new_queue("emptyattr")
    with pytest.raises(ClientError) as e:
        sqs.send_message(
            QueueUrl=url, MessageBody="x", MessageAttributes={"ErrorDetails": {"DataType": "String", "StringValue": ""}}
        )
    assert error_code(e) == "InvalidParameterValue"


@pytest.mark.parametrize("n", [0, 11])
def test_max_number_of_messages_out_of_range(sqs, new_queue, n):
    _, url = new_queue("max")
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n)
    assert error_code(e) == "InvalidParameterValue"
    assert http_status(e) == 400


def test_max_number_of_messages_limits_a_receive(sqs, new_queue):
    _, url = new_queue("max")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1)["Messages"]
    assert 1 <= len(got) <= 3
    assert len({m["MessageId"] for m in got}) == len(got)
    rest = []
    for _ in range(10):
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        rest.extend(r)
        if len(got) + len(rest) >= 10:
            break
    assert sorted(m["Body"] for m in got + rest) == sorted(str(i) for i in range(10))


def test_invalid_receipt_handle(sqs, new_queue):
    _, url = new_queue("rh")
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as e:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt-handle")
    assert error_code(e) == "ReceiptHandleIsInvalid"
    assert http_status(e) == 404  # the SQS model's status for ReceiptHandleIsInvalid
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="not-a-receipt-handle", VisibilityTimeout=5)
    assert error_code(e) == "ReceiptHandleIsInvalid"


def test_tampered_receipt_handle_is_invalid(sqs, new_queue):
    _, url = new_queue("rh")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    (m,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    h = m["ReceiptHandle"]
    flipped = h[:-2] + ("A" if h[-2] != "A" else "B") + h[-1]
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=flipped)
    assert error_code(e) == "ReceiptHandleIsInvalid"
    assert counts(sqs, url) == (0, 1, 0)


# --------------------------------------------------------------------------- batches


def test_send_message_batch(sqs, new_queue):
    _, url = new_queue("batch")
    entries = [
        {"Id": "plain", "MessageBody": "one"},
        {"Id": "with-attrs_1", "MessageBody": "two", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "delayed", "MessageBody": "three", "DelaySeconds": 60},
    ]
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert r.get("Failed", []) == []
    ok = {e["Id"]: e for e in r["Successful"]}
    assert set(ok) == {"plain", "with-attrs_1", "delayed"}
    assert ok["plain"]["MD5OfMessageBody"] == md5_hex("one")
    assert "MD5OfMessageAttributes" not in ok["plain"]
    assert ok["with-attrs_1"]["MD5OfMessageAttributes"] == md5_of_attributes(entries[1]["MessageAttributes"])
    assert len({e["MessageId"] for e in ok.values()}) == 3
    assert counts(sqs, url) == (2, 0, 1)
    got = {m["Body"]: m for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"])["Messages"]}
    assert set(got) <= {"one", "two"}
    if "two" in got:
        assert got["two"]["MessageId"] == ok["with-attrs_1"]["MessageId"]
        assert got["two"]["MessageAttributes"] == entries[1]["MessageAttributes"]


def test_send_message_batch_with_a_failing_entry(sqs, new_queue):
    _, url = new_queue("batchfail")
    r = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good1", "MessageBody": "fine"},
            {"Id": "bad", "MessageBody": "nul\x00"},
            {"Id": "good2", "MessageBody": "also fine"},
        ],
    )
    assert sorted(e["Id"] for e in r["Successful"]) == ["good1", "good2"]
    (f,) = r["Failed"]
    assert f["Id"] == "bad"
    assert f["Code"] == "InvalidMessageContents"
    assert f["SenderFault"] is True
    assert counts(sqs, url) == (2, 0, 0)


def test_delete_message_batch_with_per_entry_failure(sqs, new_queue):
    _, url = new_queue("delbatch")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    msgs = []
    for _ in range(5):
        msgs += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if len(msgs) == 3:
            break
    assert len(msgs) == 3
    entries = [{"Id": "m%d" % i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
    entries.append({"Id": "bogus", "ReceiptHandle": "garbage-handle"})
    r = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in r["Successful"]) == ["m0", "m1", "m2"]
    (f,) = r["Failed"]
    assert (f["Id"], f["Code"], f["SenderFault"]) == ("bogus", "ReceiptHandleIsInvalid", True)
    assert counts(sqs, url) == (0, 0, 0)


def test_change_message_visibility_batch_with_per_entry_failure(sqs, new_queue):
    _, url = new_queue("cvbatch")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(2)])
    msgs = []
    for _ in range(5):
        msgs += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60).get(
            "Messages", []
        )
        if len(msgs) == 2:
            break
    assert len(msgs) == 2
    r = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": msgs[1]["ReceiptHandle"], "VisibilityTimeout": 120},
            {"Id": "c", "ReceiptHandle": "garbage-handle", "VisibilityTimeout": 0},
        ],
    )
    assert sorted(e["Id"] for e in r["Successful"]) == ["a", "b"]
    (f,) = r["Failed"]
    assert (f["Id"], f["Code"], f["SenderFault"]) == ("c", "ReceiptHandleIsInvalid", True)
    assert counts(sqs, url) == (1, 1, 0)
    (again,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)["Messages"]
    assert again["MessageId"] == msgs[0]["MessageId"]


BATCH_OPS = ["send", "delete", "visibility"]


def _batch(sqs, op, url, entries):
    if op == "send":
        return sqs.send_message_batch(QueueUrl=url, Entries=[dict(e, MessageBody="b") for e in entries])
    if op == "delete":
        return sqs.delete_message_batch(QueueUrl=url, Entries=[dict(e, ReceiptHandle="h") for e in entries])
    return sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[dict(e, ReceiptHandle="h", VisibilityTimeout=1) for e in entries]
    )


@pytest.mark.parametrize("op", BATCH_OPS)
def test_empty_batch(sqs, new_queue, op):
    _, url = new_queue("empty")
    with pytest.raises(sqs.exceptions.EmptyBatchRequest) as e:
        _batch(sqs, op, url, [])
    assert error_code(e) == "AWS.SimpleQueueService.EmptyBatchRequest"
    assert http_status(e) == 400


@pytest.mark.parametrize("op", BATCH_OPS)
def test_too_many_entries_in_batch(sqs, new_queue, op):
    _, url = new_queue("many")
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest) as e:
        _batch(sqs, op, url, [{"Id": "e%d" % i} for i in range(11)])
    assert error_code(e) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert http_status(e) == 400
    assert counts(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("op", BATCH_OPS)
def test_batch_entry_ids_not_distinct(sqs, new_queue, op):
    _, url = new_queue("dup")
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as e:
        _batch(sqs, op, url, [{"Id": "same"}, {"Id": "other"}, {"Id": "same"}])
    assert error_code(e) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    assert counts(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("op", BATCH_OPS)
@pytest.mark.parametrize("bad_id", ["invalid:id", "has space", "x" * 81], ids=["colon", "space", "81chars"])
def test_invalid_batch_entry_id(sqs, new_queue, op, bad_id):
    _, url = new_queue("badid")
    with pytest.raises(sqs.exceptions.InvalidBatchEntryId) as e:
        _batch(sqs, op, url, [{"Id": "fine"}, {"Id": bad_id}])
    assert error_code(e) == "AWS.SimpleQueueService.InvalidBatchEntryId"
    assert counts(sqs, url) == (0, 0, 0)


def test_batch_entry_id_of_80_characters_is_valid(sqs, new_queue):
    _, url = new_queue("id80")
    r = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "A-z_9" * 16, "MessageBody": "ok"}])
    assert [e["Id"] for e in r["Successful"]] == ["A-z_9" * 16]


def test_batch_request_too_long(sqs, new_queue):
    _, url = new_queue("long", MaximumMessageSize=262144)
    # Ten entries of 110 KiB each: every one fits in a message, together they exceed the
    # batch limit (256 KiB historically, 1 MiB since messages may be 1 MiB).
    entries = [{"Id": str(i), "MessageBody": "z" * (110 * 1024)} for i in range(10)]
    with pytest.raises(sqs.exceptions.BatchRequestTooLong) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert error_code(e) == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert http_status(e) == 400
    assert counts(sqs, url) == (0, 0, 0)


def test_binary_attribute_round_trip_is_byte_exact(sqs, new_queue):
    _, url = new_queue("bin")
    payload = base64.b64decode("AAECAwT/gIB/fn0KDQkg")  # NUL, high bytes, CR, LF, tab
    attrs = {"blob": {"DataType": "Binary", "BinaryValue": payload}}
    sent, m = _send_and_receive(sqs, url, "binary", attrs, MessageAttributeNames=["blob"])
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert m["MessageAttributes"]["blob"]["BinaryValue"] == payload
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
