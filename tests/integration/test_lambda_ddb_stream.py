"""Lambda event source mappings from DynamoDB streams, as Lambda runs them: records in
commit order in Lambda's DynamoDB event shape, TRIM_HORIZON and LATEST, FilterCriteria,
ReportBatchItemFailures (the batch resumes at the first failed record), retries then the
OnFailure destination with DDBStreamBatchInfo, bisection, and a checkpoint that survives
SIGKILL."""

import json
import time

import pytest
from botocore.exceptions import ClientError

import helpers
from ddb_helpers import create_table, make_ddb
from helpers import SLOW, error_code
from lambda_helpers import create, lambda_client

# Reports each batch to OUT_URL; raises when a NewImage has "boom" (while its "tries" file
# count is below the "boom" value), and reports records whose NewImage has "fail" as batch
# item failures the first time it sees them.
HANDLER = {"app.py": """
import json, os
import boto3

sqs = boto3.client("sqs")
seen_fail = set()

def handler(event, context):
    out = []
    for r in event["Records"]:
        db = r["dynamodb"]
        out.append({"name": r["eventName"], "pk": db["Keys"]["pk"]["S"], "seq": db["SequenceNumber"],
                    "new": db.get("NewImage"), "old": db.get("OldImage"), "record": r})
    sqs.send_message(QueueUrl=os.environ["OUT_URL"], MessageBody=json.dumps(out))
    for o in out:
        if o["new"] and "boom" in o["new"]:
            raise RuntimeError("boom on " + o["pk"])
    failures = []
    for o in out:
        if o["new"] and "fail" in o["new"] and o["pk"] not in seen_fail:
            seen_fail.add(o["pk"])
            failures.append({"itemIdentifier": o["seq"]})
    return {"batchItemFailures": failures}
"""}


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def ddb(server):
    return make_ddb(server.endpoint)


def stream_table(ddb, view="NEW_AND_OLD_IMAGES"):
    t = create_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    return t, ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]


def function(lam, out_url):
    return create(lam, HANDLER, Timeout=30, MemorySize=256,
                  Environment={"Variables": {"OUT_URL": out_url}})


def batches(sqs, out_url, until, timeout=20):
    got = []
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline and not until(got):
        got.extend(json.loads(m["Body"]) for m in helpers.drain(sqs, out_url, wait=1))
    return got


def flat(got):
    return [(r["name"], r["pk"]) for b in got for r in b]


def put(ddb, t, pk, **attrs):
    item = {"pk": {"S": pk}}
    item.update({k: {"S": v} for k, v in attrs.items()})
    ddb.put_item(TableName=t, Item=item)


def test_records_in_order_in_lambdas_shape(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    t, arn = stream_table(ddb)
    name = function(lam, out)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                        StartingPosition="TRIM_HORIZON", BatchSize=10)
    assert (m["StartingPosition"], m["BatchSize"], m["MaximumRetryAttempts"]) == \
        ("TRIM_HORIZON", 10, -1)
    assert m["EventSourceArn"] == arn and "Checkpoint" not in m
    put(ddb, t, "a", v="1")
    put(ddb, t, "b", v="1")
    ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "2"}})
    ddb.delete_item(TableName=t, Key={"pk": {"S": "b"}})
    got = batches(sqs, out, lambda g: len(flat(g)) >= 4)
    assert flat(got) == [("INSERT", "a"), ("INSERT", "b"), ("MODIFY", "a"), ("REMOVE", "b")]
    recs = [r for b in got for r in b]
    seqs = [r["seq"] for r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    modify = recs[2]
    assert modify["old"] == {"pk": {"S": "a"}, "v": {"S": "1"}}
    assert modify["new"] == {"pk": {"S": "a"}, "v": {"S": "2"}}
    r = modify["record"]
    assert r["eventSource"] == "aws:dynamodb" and r["eventVersion"] == "1.1"
    assert r["eventSourceARN"] == arn and r["awsRegion"] == helpers.REGION
    assert r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(r["dynamodb"]["ApproximateCreationDateTime"], (int, float))
    assert r["dynamodb"]["SizeBytes"] > 0 and r["eventID"]
    assert recs[3]["old"] == {"pk": {"S": "b"}, "v": {"S": "1"}} and recs[3]["new"] is None
    got = lam.get_event_source_mapping(UUID=m["UUID"])
    assert got["LastProcessingResult"] == "OK" and "Checkpoint" not in got


def test_latest_skips_what_was_there(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    t, arn = stream_table(ddb, "KEYS_ONLY")
    put(ddb, t, "before")
    name = function(lam, out)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                    StartingPosition="LATEST", BatchSize=5)
    time.sleep(1.0)  # the mapping finds the stream's end (it polls 4 times a second)
    put(ddb, t, "after")
    got = batches(sqs, out, lambda g: len(flat(g)) >= 1)
    time.sleep(0.5)
    got += batches(sqs, out, lambda g: False, timeout=1)
    assert flat(got) == [("INSERT", "after")]
    assert got[0][0]["new"] is None  # KEYS_ONLY


def test_filter_criteria(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    t, arn = stream_table(ddb)
    name = function(lam, out)
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]})
    put(ddb, t, "x", v="1")
    put(ddb, t, "x", v="2")  # MODIFY: filtered out
    ddb.delete_item(TableName=t, Key={"pk": {"S": "x"}})
    put(ddb, t, "y")
    got = batches(sqs, out, lambda g: ("INSERT", "y") in flat(g))
    assert flat(got) == [("INSERT", "x"), ("INSERT", "y")]


def test_batch_item_failures_resume_at_the_first_failure(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    t, arn = stream_table(ddb)
    for pk in ("r1", "r2", "r3"):
        put(ddb, t, pk, **({"fail": "1"} if pk == "r2" else {}))
    name = function(lam, out)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                    StartingPosition="TRIM_HORIZON", BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    got = batches(sqs, out, lambda g: len(g) >= 2)
    assert [[r["pk"] for r in b] for b in got] == [["r1", "r2", "r3"], ["r2", "r3"]]


def test_retries_then_the_on_failure_destination(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    _, dest = new_queue("dest")
    dest_arn = sqs.get_queue_attributes(QueueUrl=dest, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    t, arn = stream_table(ddb)
    name = function(lam, out)
    m = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=10,
        MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": dest_arn}})
    assert m["DestinationConfig"] == {"OnFailure": {"Destination": dest_arn}}
    put(ddb, t, "bad", boom="1")
    got = batches(sqs, out, lambda g: len(g) >= 3)
    assert [[r["pk"] for r in b] for b in got] == [["bad"]] * 3  # the call and two retries
    recs = [json.loads(x["Body"]) for x in helpers.drain(sqs, dest, wait=10)]
    assert len(recs) == 1
    rec = recs[0]
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 3
    assert rec["responseContext"]["functionError"] == "Unhandled"
    info = rec["DDBStreamBatchInfo"]
    assert info["streamArn"] == arn and info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == got[0][0]["seq"]
    # The stream goes on past the batch given up.
    put(ddb, t, "good")
    more = batches(sqs, out, lambda g: ("INSERT", "good") in flat(g))
    assert ("INSERT", "good") in flat(more) and ("INSERT", "bad") not in flat(more)


def test_bisect_isolates_the_failing_record(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    t, arn = stream_table(ddb)
    for pk in ("b1", "b2", "b3", "b4"):
        put(ddb, t, pk, **({"boom": "1"} if pk == "b3" else {}))
    name = function(lam, out)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                    StartingPosition="TRIM_HORIZON", BatchSize=10,
                                    BisectBatchOnFunctionError=True, MaximumRetryAttempts=0)
    got = batches(sqs, out, lambda g: [r["pk"] for r in (g[-1] if g else [])] == ["b4"])
    shapes = [[r["pk"] for r in b] for b in got]
    # [b1..b4] fails -> [b1,b2] ok -> [b3,b4] fails -> [b3] fails, given up -> [b4] ok
    assert shapes == [["b1", "b2", "b3", "b4"], ["b1", "b2"], ["b3", "b4"], ["b3"], ["b4"]]


def test_validation(lam, ddb, sqs, new_queue):
    _, out = new_queue("out")
    t, arn = stream_table(ddb)
    name = function(lam, out)
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn + "x", FunctionName=name,
                                        StartingPosition="LATEST")
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                        StartingPosition="LATEST", MaximumRecordAgeInSeconds=5)
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                        StartingPosition="LATEST", BatchSize=10001)
    assert error_code(e) == "InvalidParameterValueException"
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                        StartingPosition="LATEST")
    assert m["BatchSize"] == 100
    listed = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert [x["UUID"] for x in listed] == [m["UUID"]]


def test_checkpoint_survives_sigkill(fresh_server):
    lam = lambda_client(fresh_server.endpoint)
    sqs = helpers.make_client(fresh_server.endpoint)
    ddb = make_ddb(fresh_server.endpoint)
    out = sqs.create_queue(QueueName=helpers.unique("out"))["QueueUrl"]
    t, arn = stream_table(ddb)
    name = function(lam, out)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    put(ddb, t, "one")
    assert flat(batches(sqs, out, lambda g: len(g) >= 1)) == [("INSERT", "one")]
    time.sleep(0.5)  # the checkpoint commits right after the invocation
    fresh_server.restart_after_kill()
    lam = lambda_client(fresh_server.endpoint)
    sqs = helpers.make_client(fresh_server.endpoint)
    ddb = make_ddb(fresh_server.endpoint)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    put(ddb, t, "two")
    got = batches(sqs, out, lambda g: ("INSERT", "two") in flat(g))
    assert flat(got) == [("INSERT", "two")]
