"""DynamoDB Streams through boto3's dynamodbstreams client: a record for every committed
change (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) in commit order,
with the images its view type keeps; none for failed conditional writes or unchanged writes;
ListStreams, DescribeStream (one shard), shard iterators (TRIM_HORIZON, LATEST,
AT_/AFTER_SEQUENCE_NUMBER) and GetRecords paging; a disabled stream's shard closes; records
survive SIGKILL, none lost or duplicated."""

import threading

import botocore.exceptions
import pytest

from ddb_helpers import create_table, ddb, make_ddb  # noqa: F401 (fixture)
from helpers import make_client


@pytest.fixture(scope="module")
def streams(server):
    return make_client(server.endpoint, "dynamodbstreams")


def _stream_table(ddb, view, **kw):
    t = create_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, **kw)
    return t, ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]


def _shard(streams, arn):
    return streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]


def _read_all(streams, arn, kind="TRIM_HORIZON", limit=1000, **kw):
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=_shard(streams, arn), ShardIteratorType=kind,
                                    **kw)["ShardIterator"]
    out = []
    while True:
        r = streams.get_records(ShardIterator=it, Limit=limit)
        out += r["Records"]
        it = r.get("NextShardIterator")
        if not r["Records"] or not it:
            return out


def _summary(records):
    return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]


def test_every_write_kind_in_order(ddb, streams):
    t, arn = _stream_table(ddb, "NEW_AND_OLD_IMAGES")
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "2"}})  # unchanged: no record
    ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET w = :w",
                    ExpressionAttributeValues={":w": {"S": "x"}})
    ddb.update_item(TableName=t, Key={"pk": {"S": "u"}}, UpdateExpression="SET w = :w",
                    ExpressionAttributeValues={":w": {"S": "y"}})
    with pytest.raises(botocore.exceptions.ClientError):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(botocore.exceptions.ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {"pk": {"S": "tx-no"}}}},
            {"ConditionCheck": {"TableName": t, "Key": {"pk": {"S": "a"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}])
    ddb.batch_write_item(RequestItems={t: [
        {"PutRequest": {"Item": {"pk": {"S": "b1"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "b2"}}}}]})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {"pk": {"S": "t1"}}}},
        {"Delete": {"TableName": t, "Key": {"pk": {"S": "b1"}}}}])
    ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}})
    ddb.delete_item(TableName=t, Key={"pk": {"S": "nothing"}})  # no item: no record
    records = _read_all(streams, arn)
    assert _summary(records) == [("INSERT", "a"), ("MODIFY", "a"), ("MODIFY", "a"), ("INSERT", "u"),
                                 ("INSERT", "b1"), ("INSERT", "b2"), ("INSERT", "t1"), ("REMOVE", "b1"),
                                 ("REMOVE", "a")]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(len(r["dynamodb"]["SequenceNumber"]) >= 21 for r in records)
    assert len({r["eventID"] for r in records}) == len(records)
    first, modify, remove = records[0], records[1], records[-1]
    assert first["eventSource"] == "aws:dynamodb" and first["eventVersion"] and first["awsRegion"]
    assert first["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert "OldImage" not in first["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}, "w": {"S": "x"}}
    assert "NewImage" not in remove["dynamodb"]
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert first["dynamodb"]["SizeBytes"] > 0
    assert first["dynamodb"]["ApproximateCreationDateTime"]


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_view_types(ddb, streams, view):
    t, arn = _stream_table(ddb, view, range_key=("sk", "N"))
    ddb.put_item(TableName=t, Item={"pk": {"S": "k"}, "sk": {"N": "1"}, "v": {"S": "old"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "k"}, "sk": {"N": "1"}, "v": {"S": "new"}})
    rec = _read_all(streams, arn)[1]["dynamodb"]
    assert rec["Keys"] == {"pk": {"S": "k"}, "sk": {"N": "1"}}
    assert rec["StreamViewType"] == view
    assert ("NewImage" in rec) == (view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"))
    assert ("OldImage" in rec) == (view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"))
    if "NewImage" in rec:
        assert rec["NewImage"]["v"] == {"S": "new"}
    if "OldImage" in rec:
        assert rec["OldImage"]["v"] == {"S": "old"}


def test_bad_view_type(ddb):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        create_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "ALL"})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "streamViewType" in e.value.response["Error"]["Message"]


def test_iterators(ddb, streams):
    t, arn = _stream_table(ddb, "KEYS_ONLY")
    for i in range(5):
        ddb.put_item(TableName=t, Item={"pk": {"S": "k%d" % i}})
    shard = _shard(streams, arn)
    records = _read_all(streams, arn)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert len(seqs) == 5

    def keys_from(kind, seq=None, limit=1000):
        kw = {"SequenceNumber": seq} if seq else {}
        return [k for _, k in _summary(_read_all(streams, arn, kind, limit=limit, **kw))]

    assert keys_from("TRIM_HORIZON", limit=2) == ["k0", "k1", "k2", "k3", "k4"]
    assert keys_from("AT_SEQUENCE_NUMBER", seqs[2]) == ["k2", "k3", "k4"]
    assert keys_from("AFTER_SEQUENCE_NUMBER", seqs[2]) == ["k3", "k4"]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    r = streams.get_records(ShardIterator=latest)
    assert r["Records"] == []
    ddb.put_item(TableName=t, Item={"pk": {"S": "k5"}})
    r = streams.get_records(ShardIterator=r["NextShardIterator"])
    assert _summary(r["Records"]) == [("INSERT", "k5")]
    # An iterator can be used again: it names a position, not a cursor.
    assert _summary(streams.get_records(ShardIterator=latest)["Records"]) == [("INSERT", "k5")]
    # Paging with Limit.
    r = streams.get_records(
        ShardIterator=streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"], Limit=2)
    assert _summary(r["Records"]) == [("INSERT", "k0"), ("INSERT", "k1")]
    # Errors.
    for kw, code in [
        ({"ShardIteratorType": "AT_SEQUENCE_NUMBER"}, "ValidationException"),
        ({"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "123456789012345678901234"},
         "ValidationException"),
        ({"ShardIteratorType": "TRIM_HORIZON", "ShardId": "shardId-00000000000000000000-nope0000"}, "ResourceNotFoundException"),
    ]:
        args = {"StreamArn": arn, "ShardId": shard, **kw}
        with pytest.raises(botocore.exceptions.ClientError) as e:
            streams.get_shard_iterator(**args)
        assert e.value.response["Error"]["Code"] == code
    with pytest.raises(botocore.exceptions.ClientError) as e:
        streams.get_records(ShardIterator="not-an-iterator-at-all")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        streams.describe_stream(StreamArn=arn + "x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_describe_and_disable(ddb, streams):
    t, arn = _stream_table(ddb, "NEW_IMAGE")
    other, other_arn = _stream_table(ddb, "KEYS_ONLY")
    listed = streams.list_streams(TableName=t)["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": t,
                       "StreamLabel": ddb.describe_table(TableName=t)["Table"]["LatestStreamLabel"]}]
    arns = set()
    start = None
    while True:
        kw = {"ExclusiveStartStreamArn": start} if start else {}
        page = streams.list_streams(Limit=1, **kw)
        arns |= {s["StreamArn"] for s in page["Streams"]}
        start = page.get("LastEvaluatedStreamArn")
        if not start:
            break
    assert {arn, other_arn} <= arns
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED"
    assert desc["StreamViewType"] == "NEW_IMAGE"
    assert desc["TableName"] == t
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert len(desc["Shards"]) == 1
    assert "EndingSequenceNumber" not in desc["Shards"][0]["SequenceNumberRange"]
    ddb.put_item(TableName=t, Item={"pk": {"S": "x"}})
    ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName=t, Item={"pk": {"S": "y"}})  # no stream: no record
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    rng = desc["Shards"][0]["SequenceNumberRange"]
    assert rng["EndingSequenceNumber"] >= rng["StartingSequenceNumber"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=desc["Shards"][0]["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    r = streams.get_records(ShardIterator=it)
    assert _summary(r["Records"]) == [("INSERT", "x")]
    assert "NextShardIterator" not in r  # the shard is closed and read to its end
    # Deleting a table disables its stream; the stream stays listed and readable.
    ddb.delete_table(TableName=other)
    assert streams.describe_stream(StreamArn=other_arn)["StreamDescription"]["StreamStatus"] == "DISABLED"


def test_records_survive_sigkill(fresh_server):
    ddb = make_ddb(fresh_server.endpoint)
    streams = make_client(fresh_server.endpoint, "dynamodbstreams")
    t, arn = _stream_table(ddb, "KEYS_ONLY")
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def writer(idx):
        c = make_ddb(fresh_server.endpoint, connect_timeout=2, read_timeout=10)
        n = 0
        while not stop.is_set():
            n += 1
            k = "w%d-%d" % (idx, n)
            try:
                c.put_item(TableName=t, Item={"pk": {"S": k}})
            except Exception:
                return
            with lock:
                acked.append(k)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for th in threads:
        th.start()
    threading.Event().wait(1.0)
    fresh_server.kill()
    stop.set()
    for th in threads:
        th.join()
    fresh_server.restart_after_kill()
    records = _read_all(make_client(fresh_server.endpoint, "dynamodbstreams"), arn)
    keys = [k for _, k in _summary(records)]
    assert len(keys) == len(set(keys)), "a record is duplicated"
    assert set(acked) <= set(keys), "an acknowledged write has no record"
    items = set()
    start = None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        page = make_ddb(fresh_server.endpoint).scan(TableName=t, **kw)
        items |= {it["pk"]["S"] for it in page["Items"]}
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert items == set(keys), "no change without its record, no record without its change"
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs)
    # Numbering continues after the restart.
    make_ddb(fresh_server.endpoint).put_item(TableName=t, Item={"pk": {"S": "after"}})
    again = _read_all(make_client(fresh_server.endpoint, "dynamodbstreams"), arn)
    assert _summary(again)[-1] == ("INSERT", "after")
    assert int(again[-1]["dynamodb"]["SequenceNumber"]) > seqs[-1]
    del streams


def test_trimmed_and_expired(fresh_server_factory, monkeypatch):
    """Retention and iterator lifetime shortened (24 h and 15 min on AWS, and by default)."""
    import time

    monkeypatch.setenv("SLUICE_DDB_STREAM_RETENTION_MS", "2000")
    monkeypatch.setenv("SLUICE_DDB_ITERATOR_TTL_MS", "6000")
    monkeypatch.setenv("SLUICE_DDB_SWEEP_MS", "100")
    srv = fresh_server_factory()
    ddb = make_ddb(srv.endpoint)
    streams = make_client(srv.endpoint, "dynamodbstreams")
    t, arn = _stream_table(ddb, "KEYS_ONLY")
    ddb.put_item(TableName=t, Item={"pk": {"S": "old"}})
    shard = _shard(streams, arn)
    horizon = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = streams.get_records(ShardIterator=horizon)["Records"][0]["dynamodb"]["SequenceNumber"]
    time.sleep(2.8)  # the record is past retention and the sweep trims it
    ddb.put_item(TableName=t, Item={"pk": {"S": "new"}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        streams.get_records(ShardIterator=horizon)
    assert e.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber=first)
    assert e.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    # TRIM_HORIZON now starts after what was trimmed.
    assert _summary(_read_all(streams, arn)) == [("INSERT", "new")]
    fresh = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                       ShardIteratorType="LATEST")["ShardIterator"]
    time.sleep(6.2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        streams.get_records(ShardIterator=fresh)
    assert e.value.response["Error"]["Code"] == "ExpiredIteratorException"
