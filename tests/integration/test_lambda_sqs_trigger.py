"""Event source mappings from SQS queues: the mapping API with Lambda's validation errors,
batches of up to 10 in the SQS event shape, partial batch failures (ReportBatchItemFailures)
that reach the queue's DLQ through its own maxReceiveCount redrive, a raising handler whose
whole batch is received again, disabling and enabling, and mappings surviving a restart."""

import json
import time

import pytest

import helpers
from helpers import SLOW
from lambda_helpers import create, lambda_client

# Reports every batch it gets to OUT_URL (through this server's SQS, no endpoint in the
# code), then: raises if a message asks for it while its receive count is below
# "raise_below"; reports the messages with "fail" as batch item failures.
HANDLER = {"app.py": """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    records = event["Records"]
    seen = [{"id": r["messageId"], "body": json.loads(r["body"]),
             "count": int(r["attributes"]["ApproximateReceiveCount"])} for r in records]
    sqs.send_message(QueueUrl=os.environ["OUT_URL"],
                     MessageBody=json.dumps({"seen": seen, "first": records[0]}))
    for s in seen:
        if s["count"] < s["body"].get("raise_below", 0):
            raise RuntimeError("batch fails")
    return {"batchItemFailures": [{"itemIdentifier": s["id"]} for s in seen
                                  if s["body"].get("fail")]}
"""}


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


def function(lam, out_url):
    return create(lam, HANDLER, Timeout=30, MemorySize=256,
                  Environment={"Variables": {"OUT_URL": out_url}})


def batches(sqs, out_url, until, timeout=20):
    """The batches the handler reported, read until until(batches) or the timeout."""
    got = []
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline and not until(got):
        got.extend(json.loads(m["Body"]) for m in helpers.drain(sqs, out_url, wait=1))
    return got


def send(sqs, url, bodies):
    for i in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": json.dumps(b)} for j, b in enumerate(bodies[i:i + 10])])


def wait_state(lam, uuid, state):
    deadline = time.monotonic() + 10 * SLOW
    while lam.get_event_source_mapping(UUID=uuid)["State"] != state:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_mapping_api_and_validation(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("src")
    arn = server.arn(qname)
    fn_arn = "arn:aws:lambda:us-east-1:%s:function:%s" % (helpers.ACCOUNT, name)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                        FunctionResponseTypes=["ReportBatchItemFailures"],
                                        Enabled=False)
    assert m["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert m["State"] == "Creating" and m["BatchSize"] == 10
    assert m["EventSourceArn"] == arn and m["FunctionArn"] == fn_arn
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    uuid = m["UUID"]
    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Disabled" and got["MaximumBatchingWindowInSeconds"] == 0
    assert hasattr(got["LastModified"], "year")
    listed = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [x["UUID"] for x in listed] == [uuid]
    assert lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"][0]["UUID"] == uuid

    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="no-such-fn")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(EventSourceArn=server.arn("no-such-queue"), FunctionName=name)
    _, other_url = new_queue("other")
    other = server.arn(other_url.rsplit("/", 1)[1])
    with pytest.raises(lam.exceptions.InvalidParameterValueException):  # > 10 needs a window
        lam.create_event_source_mapping(EventSourceArn=other, FunctionName=name, BatchSize=100)
    fifo_name, _ = new_queue("fifo", fifo=True)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(EventSourceArn=server.arn(fifo_name), FunctionName=name,
                                        BatchSize=11)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(EventSourceArn=other, FunctionName=name,
                                        FunctionResponseTypes=["Nope"])
    big = lam.create_event_source_mapping(EventSourceArn=other, FunctionName=name, BatchSize=100,
                                          MaximumBatchingWindowInSeconds=1, Enabled=False)
    assert big["BatchSize"] == 100

    upd = lam.update_event_source_mapping(UUID=uuid, BatchSize=5)
    assert upd["State"] == "Updating" and upd["BatchSize"] == 5
    assert lam.get_event_source_mapping(UUID=uuid)["BatchSize"] == 5
    gone = lam.delete_event_source_mapping(UUID=uuid)
    assert gone["State"] == "Deleting"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID=uuid)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_event_source_mapping(UUID=uuid)
    lam.delete_event_source_mapping(UUID=big["UUID"])


def test_batches_of_ten_in_the_sqs_event_shape(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("orders")
    send(sqs, url, [{"n": i} for i in range(25)])
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 25}))
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name,
                                           BatchSize=10)["UUID"]
    got = batches(sqs, out, lambda b: sum(len(x["seen"]) for x in b) >= 26)
    ns = sorted(s["body"]["n"] for b in got for s in b["seen"])
    assert ns == list(range(26))  # each message once
    assert max(len(b["seen"]) for b in got) == 10
    first = got[0]["first"]
    assert first["eventSource"] == "aws:sqs" and first["eventSourceARN"] == server.arn(qname)
    assert first["awsRegion"] == "us-east-1"
    assert first["md5OfBody"] == helpers.md5_hex(first["body"].encode())
    assert first["receiptHandle"] and first["messageId"]
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(first["attributes"]) >= {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    time.sleep(0.5 * SLOW)
    assert helpers.counts(sqs, url)[:2] == (0, 0)  # every message deleted
    assert lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"
    lam.delete_event_source_mapping(UUID=uuid)


def test_message_attributes_in_lambda_shape(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("attrs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}), MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "order"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name)["UUID"]
    got = batches(sqs, out, lambda b: len(b) >= 1)
    attrs = got[0]["first"]["messageAttributes"]
    assert attrs["kind"] == {"stringValue": "order", "stringListValues": [], "binaryListValues": [],
                             "dataType": "String"}
    assert attrs["blob"]["binaryValue"] == "AAE=" and attrs["blob"]["dataType"] == "Binary"
    lam.delete_event_source_mapping(UUID=uuid)


@pytest.mark.sluice_timeout(90)
def test_partial_batch_failures_reach_the_dlq_after_max_receive_count(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    dlq_name, dlq_url = new_queue("notify-dlq")
    qname, url = new_queue("notify", VisibilityTimeout=3, RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": server.arn(dlq_name), "maxReceiveCount": "3"}))
    send(sqs, url, [{"n": i, "fail": i in (3, 7)} for i in range(10)])
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name,
                                           BatchSize=10,
                                           FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
    dead = helpers.receive_all(sqs, dlq_url, 2, wait=2, max_rounds=20)
    assert sorted(json.loads(m["Body"])["n"] for m in dead) == [3, 7]
    got = batches(sqs, out, lambda b: sum(len(x["seen"]) for x in b) >= 14)
    counts = {}
    for b in got:
        for s in b["seen"]:
            counts.setdefault(s["body"]["n"], []).append(s["count"])
    assert all(counts[n] == [1] for n in range(10) if n not in (3, 7))  # deleted at once
    assert counts[3] == [1, 2, 3] and counts[7] == [1, 2, 3]  # three receives, then the DLQ
    assert helpers.counts(sqs, url)[:2] == (0, 0)
    lam.delete_event_source_mapping(UUID=uuid)


@pytest.mark.sluice_timeout(90)
def test_a_raising_handler_gets_the_whole_batch_again(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("retry", VisibilityTimeout=1)
    send(sqs, url, [{"n": 0, "raise_below": 3}, {"n": 1}, {"n": 2}])
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name,
                                           FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
    got = batches(sqs, out, lambda b: any(s["count"] == 3 for x in b for s in x["seen"]))
    counts = {}
    for b in got:
        for s in b["seen"]:
            counts.setdefault(s["body"]["n"], []).append(s["count"])
    assert counts[0] == [1, 2, 3]
    assert counts[1] == [1, 2, 3] and counts[2] == [1, 2, 3]  # nothing of a failed batch deleted
    time.sleep(1.5 * SLOW)
    assert helpers.counts(sqs, url)[:2] == (0, 0)
    lam.delete_event_source_mapping(UUID=uuid)


def test_disable_and_enable(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("toggle")
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name)["UUID"]
    wait_state(lam, uuid, "Enabled")
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    wait_state(lam, uuid, "Disabled")
    send(sqs, url, [{"n": 1}])
    time.sleep(1.5 * SLOW)
    assert helpers.counts(sqs, url)[0] == 1  # not consumed while disabled
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = batches(sqs, out, lambda b: len(b) >= 1)
    assert got[0]["seen"][0]["body"] == {"n": 1}
    lam.delete_event_source_mapping(UUID=uuid)
    send(sqs, url, [{"n": 2}])
    time.sleep(1.5 * SLOW)
    assert helpers.counts(sqs, url)[0] == 1  # a deleted mapping consumes nothing


@pytest.mark.sluice_timeout(120)
def test_mapping_survives_restart(fresh_server):
    lam = lambda_client(fresh_server.endpoint)
    sqs = helpers.make_client(fresh_server.endpoint)
    out = sqs.create_queue(QueueName=helpers.unique("out"))["QueueUrl"]
    qname = helpers.unique("durable")
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    name = function(lam, out)
    uuid = lam.create_event_source_mapping(EventSourceArn=fresh_server.arn(qname),
                                           FunctionName=name)["UUID"]
    fresh_server.restart_after_kill()
    lam = lambda_client(fresh_server.endpoint)
    sqs = helpers.make_client(fresh_server.endpoint)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    send(sqs, url, [{"n": "after-restart"}])
    got = batches(sqs, out, lambda b: len(b) >= 1)
    assert got[0]["seen"][0]["body"] == {"n": "after-restart"}


def test_fifo_queue_batches_keep_group_order(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("orders", fifo=True)
    for i in range(0, 20, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": json.dumps({"n": i + j}), "MessageGroupId": "g",
             "MessageDeduplicationId": "d%d" % (i + j)} for j in range(10)])
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name,
                                           BatchSize=10)["UUID"]
    got = batches(sqs, out, lambda b: sum(len(x["seen"]) for x in b) >= 20)
    order = [s["body"]["n"] for b in sorted(got, key=lambda b: b["seen"][0]["body"]["n"])
             for s in b["seen"]]
    assert order == list(range(20))
    first = got[0]["first"]["attributes"]
    assert first["MessageGroupId"] == "g" and first["SequenceNumber"]
    assert first["MessageDeduplicationId"].startswith("d")
    lam.delete_event_source_mapping(UUID=uuid)


def test_filter_criteria_drop_what_does_not_match(server, lam, sqs, new_queue):
    _, out = new_queue("out")
    name = function(lam, out)
    qname, url = new_queue("filtered")
    send(sqs, url, [{"n": 1, "kind": "order"}, {"n": 2, "kind": "user"}, {"n": 3, "kind": "order"}])
    uuid = lam.create_event_source_mapping(
        EventSourceArn=server.arn(qname), FunctionName=name,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]})["UUID"]
    got = batches(sqs, out, lambda b: sum(len(x["seen"]) for x in b) >= 2)
    time.sleep(0.5 * SLOW)
    got += batches(sqs, out, lambda b: False, timeout=1)
    assert sorted(s["body"]["n"] for b in got for s in b["seen"]) == [1, 3]
    assert helpers.counts(sqs, url)[:2] == (0, 0)  # the unmatched message was deleted
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_event_source_mapping(UUID=uuid, FilterCriteria={"Filters": [{"Pattern": "{"}]})
    lam.delete_event_source_mapping(UUID=uuid)


@pytest.mark.sluice_timeout(90)
def test_seed_notification_flow_from_an_eventbridge_rule(server, lam, sqs, new_queue):
    """The seeds' notification path end to end: OrderPlaced events on the default bus, a rule
    to the notification queue, a function reading it in batches of 10 with partial batch
    failures, and the failing notifications in the queue's DLQ after 3 receives."""
    events = helpers.make_client(server.endpoint, "events")
    _, out = new_queue("out")
    name = function(lam, out)
    dlq_name, dlq_url = new_queue("notify-dlq")
    qname, url = new_queue("notifications", VisibilityTimeout=3, RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": server.arn(dlq_name), "maxReceiveCount": "3"}))
    rule = helpers.unique("order-placed")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["orders"],
                                                        "detail-type": ["OrderPlaced"]}))
    # the handler reads the message body: the rule passes just the detail
    events.put_targets(Rule=rule, Targets=[{"Id": "notify", "Arn": server.arn(qname),
                                            "InputPath": "$.detail"}])
    entries = [{"Source": "orders", "DetailType": "OrderPlaced",
                "Detail": json.dumps({"n": i, "fail": i in (2, 8)})} for i in range(10)]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    uuid = lam.create_event_source_mapping(EventSourceArn=server.arn(qname), FunctionName=name,
                                           BatchSize=10,
                                           FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
    dead = helpers.receive_all(sqs, dlq_url, 2, wait=2, max_rounds=20)
    assert sorted(json.loads(m["Body"])["n"] for m in dead) == [2, 8]
    got = batches(sqs, out, lambda b: sum(len(x["seen"]) for x in b) >= 14)
    done = {s["body"]["n"] for b in got for s in b["seen"] if not s["body"]["fail"]}
    assert done == {0, 1, 3, 4, 5, 6, 7, 9}
    assert helpers.counts(sqs, url)[:2] == (0, 0)
    lam.delete_event_source_mapping(UUID=uuid)
