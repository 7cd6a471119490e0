"""DynamoDB UpdateTable: billing changes stored; a GSI created on a table with items is
backfilled (CREATING/Backfilling, then ACTIVE) and queryable with every existing item, and
maintained by writes made meanwhile; a GSI deleted; streams turned on and off; AWS's
validation errors."""

import time

import botocore.exceptions
import pytest

from ddb_helpers import create_table, ddb  # noqa: F401 (fixture)
from helpers import SLOW


def _error(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def _gsi(name, key, key_type="S", projection="ALL"):
    return {
        "Create": {
            "IndexName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": projection},
        }
    }


def _wait_active(ddb, table, index, timeout=30 * SLOW):
    deadline = time.time() + timeout
    while time.time() < deadline:
        desc = ddb.describe_table(TableName=table)["Table"]
        gsis = {g["IndexName"]: g for g in desc.get("GlobalSecondaryIndexes", [])}
        if gsis[index]["IndexStatus"] == "ACTIVE":
            return gsis[index]
        time.sleep(0.05)
    raise AssertionError("index %s not ACTIVE" % index)


def test_billing_mode_and_throughput(ddb):
    t = create_table(ddb)
    out = ddb.update_table(
        TableName=t,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
    )["TableDescription"]
    assert out["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    desc = ddb.describe_table(TableName=t)["Table"]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    ddb.update_table(TableName=t, ProvisionedThroughput={"ReadCapacityUnits": 9, "WriteCapacityUnits": 4})
    assert ddb.describe_table(TableName=t)["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 9
    ddb.update_table(TableName=t, BillingMode="PAY_PER_REQUEST")
    desc = ddb.describe_table(TableName=t)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName=t, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    assert _error(e)[0] == "ValidationException"


def test_gsi_backfill_queryable(ddb):
    t = create_table(ddb)
    n = 450  # several backfill pages
    with_color = 0
    for i in range(n):
        item = {"pk": {"S": "p%04d" % i}, "n": {"N": str(i)}}
        if i % 3 != 0:
            item["color"] = {"S": "red" if i % 2 else "blue"}
            with_color += 1
        ddb.put_item(TableName=t, Item=item)
    out = ddb.update_table(
        TableName=t,
        AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[_gsi("by_color", "color")],
    )["TableDescription"]
    created = [g for g in out["GlobalSecondaryIndexes"] if g["IndexName"] == "by_color"][0]
    assert created["IndexStatus"] == "CREATING"
    assert created["Backfilling"] is True
    # Writes during the backfill are indexed too.
    ddb.put_item(TableName=t, Item={"pk": {"S": "late"}, "color": {"S": "red"}})
    ddb.delete_item(TableName=t, Key={"pk": {"S": "p0001"}})  # was red
    _wait_active(ddb, t, "by_color")

    def query(color):
        items, start = [], None
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            r = ddb.query(TableName=t, IndexName="by_color", KeyConditionExpression="color = :c",
                          ExpressionAttributeValues={":c": {"S": color}}, **kw)
            items += r["Items"]
            start = r.get("LastEvaluatedKey")
            if not start:
                return items

    red = {it["pk"]["S"] for it in query("red")}
    blue = {it["pk"]["S"] for it in query("blue")}
    expected_red = {"p%04d" % i for i in range(n) if i % 3 != 0 and i % 2} - {"p0001"} | {"late"}
    expected_blue = {"p%04d" % i for i in range(n) if i % 3 != 0 and not i % 2}
    assert red == expected_red
    assert blue == expected_blue
    desc = ddb.describe_table(TableName=t)["Table"]
    gsi = desc["GlobalSecondaryIndexes"][0]
    assert gsi["ItemCount"] == len(expected_red) + len(expected_blue)
    assert "Backfilling" not in gsi


def test_gsi_delete_and_errors(ddb):
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    with pytest.raises(botocore.exceptions.ClientError) as e:  # no definition for g
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[_gsi("gi1", "g")])
    assert _error(e)[0] == "ValidationException"
    assert "AttributeDefinitions" in _error(e)[1]
    defs = [{"AttributeName": "g", "AttributeType": "S"}]
    ddb.update_table(TableName=t, AttributeDefinitions=defs, GlobalSecondaryIndexUpdates=[_gsi("gi1", "g")])
    _wait_active(ddb, t, "gi1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName=t, AttributeDefinitions=defs, GlobalSecondaryIndexUpdates=[_gsi("gi1", "g")])
    assert _error(e)[0] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "nope"}}])
    assert _error(e)[0] == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName=t)
    assert _error(e)[0] == "ValidationException"
    ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gi1"}}])
    desc = ddb.describe_table(TableName=t)["Table"]
    assert "GlobalSecondaryIndexes" not in desc
    assert [d["AttributeName"] for d in desc["AttributeDefinitions"]] == ["pk"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.query(TableName=t, IndexName="gi1", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "x"}})
    assert _error(e)[0] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName="no-such-table", BillingMode="PAY_PER_REQUEST")
    assert _error(e)[0] == "ResourceNotFoundException"


def test_resource_in_use_while_creating(ddb):
    t = create_table(ddb)
    # Enough items that the backfill takes more than one page.
    with ddb_batch(ddb, t) as put:
        for i in range(600):
            put({"pk": {"S": "k%d" % i}, "a": {"S": "v%d" % (i % 7)}, "b": {"S": "w"}})
    defs = [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}]
    ddb.update_table(TableName=t, AttributeDefinitions=defs, GlobalSecondaryIndexUpdates=[_gsi("ix_a", "a")])
    try:
        ddb.update_table(TableName=t, AttributeDefinitions=defs, GlobalSecondaryIndexUpdates=[_gsi("ix_b", "b")])
        raced = False  # the backfill finished first: allowed, then both exist
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceInUseException"
        raced = True
    _wait_active(ddb, t, "ix_a")
    if raced:
        ddb.update_table(TableName=t, AttributeDefinitions=defs, GlobalSecondaryIndexUpdates=[_gsi("ix_b", "b")])
    _wait_active(ddb, t, "ix_b")
    r = ddb.query(TableName=t, IndexName="ix_b", KeyConditionExpression="b = :b",
                  ExpressionAttributeValues={":b": {"S": "w"}}, Select="COUNT")
    assert r["Count"] == 600


class ddb_batch:
    def __init__(self, ddb, table):
        self.ddb, self.table, self.pending = ddb, table, []

    def __enter__(self):
        return self.put

    def put(self, item):
        self.pending.append({"PutRequest": {"Item": item}})
        if len(self.pending) == 25:
            self.flush()

    def flush(self):
        if self.pending:
            self.ddb.batch_write_item(RequestItems={self.table: self.pending})
            self.pending = []

    def __exit__(self, *exc):
        self.flush()


def test_gsi_limit_of_20(ddb):
    t = create_table(ddb)
    for i in range(20):
        defs = [{"AttributeName": "a%d" % i, "AttributeType": "S"}]
        ddb.update_table(TableName=t, AttributeDefinitions=defs,
                         GlobalSecondaryIndexUpdates=[_gsi("ix%02d" % i, "a%d" % i)])
        _wait_active(ddb, t, "ix%02d" % i)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "z", "AttributeType": "S"}],
                         GlobalSecondaryIndexUpdates=[_gsi("ix20", "z")])
    assert _error(e)[0] == "LimitExceededException"


def test_stream_on_and_off(ddb):
    t = create_table(ddb)
    assert "LatestStreamArn" not in ddb.describe_table(TableName=t)["Table"]
    out = ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    arn1 = out["TableDescription"]["LatestStreamArn"]
    assert out["TableDescription"]["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert arn1.endswith("/stream/" + out["TableDescription"]["LatestStreamLabel"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert _error(e)[0] == "ValidationException"
    ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": False})
    assert "LatestStreamArn" not in ddb.describe_table(TableName=t)["Table"]
    time.sleep(0.01)
    arn2 = ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})[
        "TableDescription"]["LatestStreamArn"]
    assert arn2 != arn1
    assert ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"] == arn2
