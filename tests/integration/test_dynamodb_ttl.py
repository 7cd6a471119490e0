"""DynamoDB time to live: with UpdateTimeToLive enabled, the background sweep deletes items
whose TTL attribute is a number of epoch seconds in the past (with their index entries);
items without the attribute, with another type, or with a future time stay; each deletion is
a stream REMOVE record marked with the DynamoDB service's identity."""

import time

from ddb_helpers import create_table, ddb  # noqa: F401 (fixture)
from helpers import SLOW, make_client


def _keys(ddb, table):
    return {it["pk"]["S"] for it in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}


def _wait_until(pred, timeout=15 * SLOW):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_expired_items_deleted_with_stream_records(ddb, server):
    # A table with a GSI and a stream.
    t = "ttl-" + str(int(time.time() * 1000))
    ddb.create_table(
        TableName=t,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    now = int(time.time())
    items = {
        "past": {"exp": {"N": str(now - 3600)}},
        "past2": {"exp": {"N": str(now - 10) + ".5"}},
        "future": {"exp": {"N": str(now + 3600)}},
        "missing": {},
        "string": {"exp": {"S": str(now - 3600)}},
        "ancient": {"exp": {"N": str(now - 6 * 365 * 86400)}},  # > 5 years: AWS ignores it
    }
    for k, extra in items.items():
        ddb.put_item(TableName=t, Item={"pk": {"S": k}, "g": {"S": "x"}, **extra})
    # Not enabled yet: nothing is deleted.
    time.sleep(1.5)
    assert _keys(ddb, t) == set(items)
    out = ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert out["TimeToLiveSpecification"]["AttributeName"] == "exp"
    assert _wait_until(lambda: _keys(ddb, t) == {"future", "missing", "string", "ancient"})
    g = ddb.query(TableName=t, IndexName="by_g", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "x"}})
    assert {it["pk"]["S"] for it in g["Items"]} == {"future", "missing", "string", "ancient"}

    streams = make_client(server.endpoint, "dynamodbstreams")
    arn = ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    inserts = [r for r in records if r["eventName"] == "INSERT"]
    removes = [r for r in records if r["eventName"] == "REMOVE"]
    assert len(inserts) == len(items)
    assert {r["dynamodb"]["Keys"]["pk"]["S"] for r in removes} == {"past", "past2"}
    for r in removes:
        # the API's member names (Lambda's stream events spell them "type"/"principalId")
        assert r["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
        assert "OldImage" in r["dynamodb"] and "NewImage" not in r["dynamodb"]
    for r in inserts:
        assert "userIdentity" not in r


def test_ttl_disabled_keeps_items(ddb):
    t = create_table(ddb)
    now = int(time.time())
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(now - 100)}})
    time.sleep(2.0)
    assert _keys(ddb, t) == {"a"}
    # Re-enabled: an item whose time passes is deleted then.
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "exp": {"N": str(int(time.time()) + 2)}})
    assert _wait_until(lambda: _keys(ddb, t) == set())
