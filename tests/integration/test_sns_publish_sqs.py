"""Publish and PublishBatch with fan-out to SQS queues: the SNS JSON envelope (every field,
a signature that verifies with the served certificate, message attributes in SNS's
shape), raw delivery (the message as the body, attributes as SQS message attributes),
MessageStructure=json, TargetArn, FIFO topics to FIFO queues (group order, deduplication),
PublishBatch and its errors, and acknowledgement = already in every subscribed queue."""

import base64
import json
import re
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from helpers import md5_hex
from sns_helpers import (  # noqa: F401 - fixtures
    err,
    make_queue,
    new_topic,
    nothing_on,
    notifications,
    raw_sns,
    receive,
    sns,
    status,
    subscribe_queue,
    topic_with_queues,
    unique,
    verify_signature,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The seeds' event-bus publish (seed 003): the event as JSON, eventType and correlationId as
# message attributes.
ORDER_EVENT = {
    "id": "evt_12345",
    "type": "order.created",
    "correlationId": "corr_abc123",
    "data": {"orderId": "ord_67890", "total": 59.98},
}


def _attrs():
    return {
        "eventType": {"DataType": "String", "StringValue": "order.created"},
        "correlationId": {"DataType": "String", "StringValue": "corr_abc123"},
        "total": {"DataType": "Number", "StringValue": "59.98"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary\xff"},
        "tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
    }


# --------------------------------------------------------------------------- the envelope


def test_publish_fans_out_the_envelope_to_every_queue(sns, sqs):
    topic, queues = topic_with_queues(sns, sqs, n=3)
    msg = json.dumps(ORDER_EVENT)
    r = sns.publish(TopicArn=topic, Message=msg, Subject="Order created", MessageAttributes=_attrs())
    mid = r["MessageId"]
    assert UUID.match(mid), mid
    for url, _, sub in queues:
        (env,) = notifications(sqs, url, 1)
        assert env["Type"] == "Notification"
        assert env["MessageId"] == mid
        assert env["TopicArn"] == topic
        assert env["Subject"] == "Order created"
        assert env["Message"] == msg
        assert TIMESTAMP.match(env["Timestamp"]), env["Timestamp"]
        assert env["SignatureVersion"] == "1"
        assert env["SigningCertURL"].startswith("http")
        unsub = urllib.parse.urlsplit(env["UnsubscribeURL"])
        q = dict(urllib.parse.parse_qsl(unsub.query))
        assert (q.get("Action"), q.get("SubscriptionArn")) == ("Unsubscribe", sub), env["UnsubscribeURL"]
        assert env["MessageAttributes"] == {
            "eventType": {"Type": "String", "Value": "order.created"},
            "correlationId": {"Type": "String", "Value": "corr_abc123"},
            "total": {"Type": "Number", "Value": "59.98"},
            "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01binary\xff").decode()},
            "tags": {"Type": "String.Array", "Value": '["a", "b"]'},
        }
        verify_signature(env)
        nothing_on(sqs, url, wait=0.3)


def test_envelope_without_subject_or_attributes_omits_them(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    sns.publish(TopicArn=topic, Message="plain text")
    (env,) = notifications(sqs, url, 1)
    assert env["Message"] == "plain text"
    assert "Subject" not in env
    assert not env.get("MessageAttributes")
    verify_signature(env)


def test_signature_covers_the_message(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    sns.publish(TopicArn=topic, Message="signed", Subject="s")
    (env,) = notifications(sqs, url, 1)
    verify_signature(env)
    for field, value in (("Message", "tampered"), ("Subject", "t"), ("MessageId", "x"), ("TopicArn", "y")):
        bad = dict(env)
        bad[field] = value
        with pytest.raises(AssertionError):
            verify_signature(bad)


def test_signing_certificate_is_served(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    sns.publish(TopicArn=topic, Message="x")
    (env,) = notifications(sqs, url, 1)
    with urllib.request.urlopen(env["SigningCertURL"], timeout=10) as r:
        assert r.status == 200
        pem = r.read()
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----"), pem[:60]


def test_signature_version_2_topic(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=topic, Message="sha256", Subject="v2")
    (env,) = notifications(sqs, url, 1)
    assert env["SignatureVersion"] == "2"
    verify_signature(env)


def test_target_arn_publishes_to_the_topic(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    mid = sns.publish(TargetArn=topic, Message="via target")["MessageId"]
    (env,) = notifications(sqs, url, 1)
    assert (env["MessageId"], env["Message"], env["TopicArn"]) == (mid, "via target", topic)


def test_publish_is_in_every_queue_when_acknowledged(sns, sqs):
    """SQS deliveries commit with the Publish: right after the response, a receive that
    does not wait finds the message in every queue."""
    topic, queues = topic_with_queues(sns, sqs, n=4)
    for i in range(5):
        mid = sns.publish(TopicArn=topic, Message="m%d" % i)["MessageId"]
        for url, _, _ in queues:
            r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, MaxNumberOfMessages=10)
            msgs = r.get("Messages", [])
            assert [json.loads(m["Body"])["MessageId"] for m in msgs] == [mid], (i, url)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])


def test_publish_without_subscriptions_succeeds(sns):
    topic = new_topic(sns)
    assert UUID.match(sns.publish(TopicArn=topic, Message="nobody listens")["MessageId"])


def test_unsubscribed_queue_gets_nothing(sns, sqs):
    topic, [(url, _, sub), (url2, _, _)] = topic_with_queues(sns, sqs, n=2)
    sns.unsubscribe(SubscriptionArn=sub)
    sns.publish(TopicArn=topic, Message="after")
    notifications(sqs, url2, 1)
    nothing_on(sqs, url, wait=0.5)


def test_unsubscribe_url_unsubscribes(sns, sqs):
    topic, [(url, _, sub)] = topic_with_queues(sns, sqs)
    sns.publish(TopicArn=topic, Message="first")
    (env,) = notifications(sqs, url, 1)
    with urllib.request.urlopen(env["UnsubscribeURL"], timeout=10) as r:
        assert r.status == 200
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert err(e)[0] == "NotFound"
    sns.publish(TopicArn=topic, Message="second")
    nothing_on(sqs, url, wait=0.5)


# --------------------------------------------------------------------------- raw delivery


def test_raw_message_delivery(sns, sqs):
    topic = new_topic(sns)
    url, qarn = make_queue(sqs)
    subscribe_queue(sns, topic, qarn, raw=True)
    env_url, env_arn = make_queue(sqs)
    subscribe_queue(sns, topic, env_arn)
    msg = json.dumps(ORDER_EVENT)
    attrs = _attrs()
    del attrs["tags"]
    sns.publish(TopicArn=topic, Message=msg, Subject="ignored by raw", MessageAttributes=attrs)
    (m,) = receive(sqs, url, 1)
    assert m["Body"] == msg
    assert m["MD5OfBody"] == md5_hex(msg)
    ma = m["MessageAttributes"]
    assert ma["eventType"] == {"DataType": "String", "StringValue": "order.created"}
    assert ma["correlationId"] == {"DataType": "String", "StringValue": "corr_abc123"}
    assert ma["total"] == {"DataType": "Number", "StringValue": "59.98"}
    assert ma["blob"] == {"DataType": "Binary", "BinaryValue": b"\x00\x01binary\xff"}
    # The other subscription still gets the envelope.
    (env,) = notifications(sqs, env_url, 1)
    assert env["Message"] == msg and env["Subject"] == "ignored by raw"


def test_raw_delivery_switched_on_later(sns, sqs):
    topic, [(url, _, sub)] = topic_with_queues(sns, sqs)
    sns.publish(TopicArn=topic, Message="wrapped")
    (env,) = notifications(sqs, url, 1)
    assert env["Message"] == "wrapped"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.publish(TopicArn=topic, Message="bare")
    (m,) = receive(sqs, url, 1)
    assert m["Body"] == "bare"


# --------------------------------------------------------------------------- MessageStructure


def test_message_structure_json_picks_the_sqs_entry(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    body = {"default": "for everyone", "sqs": "for queues", "email": "for mail", "http": "for hooks"}
    sns.publish(TopicArn=topic, Message=json.dumps(body), MessageStructure="json")
    (env,) = notifications(sqs, url, 1)
    assert env["Message"] == "for queues"
    sns.publish(TopicArn=topic, Message=json.dumps({"default": "only default"}), MessageStructure="json")
    (env,) = notifications(sqs, url, 1)
    assert env["Message"] == "only default"


def test_message_structure_json_errors(sns):
    topic = new_topic(sns)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message=json.dumps({"sqs": "x"}), MessageStructure="json")
    assert err(e) == ("InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body")
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="{not json", MessageStructure="json")
    assert err(e) == ("InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse")


# --------------------------------------------------------------------------- Publish errors


def test_empty_message_is_invalid(sns):
    topic = new_topic(sns)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="")
    assert err(e) == ("InvalidParameter", "Invalid parameter: Empty message")
    assert status(e) == 400


def test_message_too_long(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs, raw=True)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="x" * (256 * 1024 + 1))
    assert err(e) == ("InvalidParameter", "Invalid parameter: Message too long")
    nothing_on(sqs, url, wait=0.3)
    # Exactly 256 KiB is accepted and delivered whole (raw, so the body fits SQS's limit).
    big = "y" * (256 * 1024)
    sns.publish(TopicArn=topic, Message=big)
    (m,) = receive(sqs, url, 1)
    assert m["Body"] == big


def test_bad_message_attributes_are_refused(sns, sqs):
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    bad = [
        {"a": {"DataType": "Strange", "StringValue": "x"}},
        {"a": {"DataType": "Number", "StringValue": "not-a-number"}},
        {"a": {"DataType": "String", "StringValue": ""}},
        {".a": {"DataType": "String", "StringValue": "x"}},
        {"a": {"DataType": "String", "BinaryValue": b"x"}},
    ]
    for a in bad:
        with pytest.raises(ClientError) as e:
            sns.publish(TopicArn=topic, Message="m", MessageAttributes=a)
        # SNS's InvalidParameterValueException has the wire code ParameterValueInvalid.
        assert err(e)[0] in ("ParameterValueInvalid", "InvalidParameter"), (a, err(e))
    nothing_on(sqs, url, wait=0.3)


def test_subject_rules(sns):
    topic = new_topic(sns)
    for subject in ("", "x" * 101, "line\nbreak"):
        with pytest.raises(ClientError) as e:
            sns.publish(TopicArn=topic, Message="m", Subject=subject)
        assert err(e)[0] == "InvalidParameter", repr(subject)


def test_dedup_id_on_a_standard_topic_is_invalid(sns):
    topic = new_topic(sns)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="m", MessageDeduplicationId="d1")
    assert err(e)[0] == "InvalidParameter"


# --------------------------------------------------------------------------- FIFO


def test_fifo_topic_keeps_group_order_in_every_fifo_queue(sns, sqs):
    topic = new_topic(sns, "orders", fifo=True, ContentBasedDeduplication="true")
    queues = []
    for _ in range(2):
        url, qarn = make_queue(sqs, fifo=True)
        subscribe_queue(sns, topic, qarn)
        queues.append(url)
    sent = []
    seqs = []
    for i in range(20):
        g = "g%d" % (i % 3)
        r = sns.publish(TopicArn=topic, Message="%s-%02d" % (g, i), MessageGroupId=g)
        assert r["SequenceNumber"].isdigit(), r
        seqs.append(int(r["SequenceNumber"]))
        sent.append((g, "%s-%02d" % (g, i)))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for url in queues:
        msgs = receive(sqs, url, 20, timeout=15)
        got = [json.loads(m["Body"])["Message"] for m in msgs]
        assert sorted(got) == sorted(m for _, m in sent), url
        for g in ("g0", "g1", "g2"):
            assert [m for m in got if m.startswith(g)] == [m for gg, m in sent if gg == g], (url, g)
        for m in msgs:
            body = json.loads(m["Body"])
            assert m["Attributes"]["MessageGroupId"] == body["Message"][:2]
            assert "SequenceNumber" in body


def test_fifo_topic_deduplicates(sns, sqs):
    topic = new_topic(sns, "dedup", fifo=True)
    url, qarn = make_queue(sqs, fifo=True)
    subscribe_queue(sns, topic, qarn)
    sns.publish(TopicArn=topic, Message="once", MessageGroupId="g", MessageDeduplicationId="d-1")
    sns.publish(TopicArn=topic, Message="once again", MessageGroupId="g", MessageDeduplicationId="d-1")
    sns.publish(TopicArn=topic, Message="other", MessageGroupId="g", MessageDeduplicationId="d-2")
    msgs = receive(sqs, url, 3, timeout=3)
    assert [json.loads(m["Body"])["Message"] for m in msgs] == ["once", "other"]


def test_fifo_content_based_deduplication(sns, sqs):
    topic = new_topic(sns, "cbd", fifo=True, ContentBasedDeduplication="true")
    url, qarn = make_queue(sqs, fifo=True)
    subscribe_queue(sns, topic, qarn, raw=True)
    sns.publish(TopicArn=topic, Message="same body", MessageGroupId="g")
    sns.publish(TopicArn=topic, Message="same body", MessageGroupId="g")
    sns.publish(TopicArn=topic, Message="different body", MessageGroupId="g")
    msgs = receive(sqs, url, 3, timeout=3)
    assert [m["Body"] for m in msgs] == ["same body", "different body"]


def test_fifo_publish_errors(sns):
    topic = new_topic(sns, "errs", fifo=True)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="m", MessageDeduplicationId="d")
    assert err(e) == ("InvalidParameter", "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="m", MessageGroupId="g")
    assert err(e) == (
        "InvalidParameter",
        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled "
        "or MessageDeduplicationId provided explicitly",
    )


def test_fifo_topic_to_standard_queue(sns, sqs):
    """AWS lets a FIFO topic deliver to standard queues too (best-effort ordering)."""
    topic = new_topic(sns, "mixed", fifo=True, ContentBasedDeduplication="true")
    url, qarn = make_queue(sqs)
    subscribe_queue(sns, topic, qarn)
    sns.publish(TopicArn=topic, Message="to standard", MessageGroupId="g")
    (env,) = notifications(sqs, url, 1)
    assert env["Message"] == "to standard"


# --------------------------------------------------------------------------- PublishBatch


def test_publish_batch_fans_out_every_entry(sns, sqs):
    topic, queues = topic_with_queues(sns, sqs, n=2)
    entries = [
        {
            "Id": "e%d" % i,
            "Message": "batch-%d" % i,
            "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}},
        }
        for i in range(10)
    ]
    entries[3]["Subject"] = "third"
    r = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert r.get("Failed", []) == []
    ok = {s["Id"]: s["MessageId"] for s in r["Successful"]}
    assert set(ok) == {e["Id"] for e in entries}
    for url, _, _ in queues:
        envs = notifications(sqs, url, 10)
        by_msg = {e["Message"]: e for e in envs}
        assert set(by_msg) == {"batch-%d" % i for i in range(10)}
        for i in range(10):
            env = by_msg["batch-%d" % i]
            assert env["MessageId"] == ok["e%d" % i]
            assert env["MessageAttributes"]["n"] == {"Type": "Number", "Value": str(i)}
            verify_signature(env)
        assert by_msg["batch-3"]["Subject"] == "third"


def test_publish_batch_fifo(sns, sqs):
    topic = new_topic(sns, "batch", fifo=True, ContentBasedDeduplication="true")
    url, qarn = make_queue(sqs, fifo=True)
    subscribe_queue(sns, topic, qarn, raw=True)
    entries = [{"Id": "e%d" % i, "Message": "m%d" % i, "MessageGroupId": "g"} for i in range(10)]
    r = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert len(r["Successful"]) == 10
    assert all(s["SequenceNumber"].isdigit() for s in r["Successful"])
    msgs = receive(sqs, url, 10)
    assert [m["Body"] for m in msgs] == ["m%d" % i for i in range(10)]


def test_publish_batch_errors(sns, server):
    topic = new_topic(sns)
    with pytest.raises(ClientError) as e:
        sns.publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}]
        )
    assert err(e)[0] == "BatchEntryIdsNotDistinct"
    assert err(e)[1].startswith("Two or more batch entries in the request have the same Id"), err(e)
    with pytest.raises(ClientError) as e:
        sns.publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": "e%d" % i, "Message": "m"} for i in range(11)]
        )
    assert err(e)[0] == "TooManyEntriesInBatchRequest"
    assert err(e)[1].startswith("The batch request contains more entries than permissible"), err(e)
    # boto3 refuses to send an empty list: send it raw.
    st, body = raw_sns(server.endpoint, {"Action": "PublishBatch", "TopicArn": topic})
    assert st == 400, body
    root = ET.fromstring(body)
    code = next(e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Code")
    assert code == "EmptyBatchRequest", body
    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": "bad id!", "Message": "m"}])
    assert err(e)[0] == "InvalidBatchEntryId"


def test_publish_batch_to_a_missing_topic(sns):
    from sns_helpers import topic_arn

    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=topic_arn(unique("missing")), PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}])
    assert err(e) == ("NotFound", "Topic does not exist")


def test_publish_batch_entry_failure_is_reported_per_entry_or_whole(sns, sqs):
    """An invalid entry (MessageStructure=json without "default") is refused; if SNS
    answers per entry, the entry is Failed with SenderFault and the others go through."""
    topic, [(url, _, _)] = topic_with_queues(sns, sqs)
    entries = [
        {"Id": "good1", "Message": "fine"},
        {"Id": "bad", "Message": json.dumps({"sqs": "x"}), "MessageStructure": "json"},
        {"Id": "good2", "Message": "also fine"},
    ]
    try:
        r = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidParameter"
        nothing_on(sqs, url, wait=0.5)
        return
    (f,) = r["Failed"]
    assert f["Id"] == "bad"
    assert f["SenderFault"] is True
    assert f["Code"] and f["Message"]
    assert {s["Id"] for s in r["Successful"]} == {"good1", "good2"}
    envs = notifications(sqs, url, 2)
    assert sorted(e["Message"] for e in envs) == ["also fine", "fine"]
