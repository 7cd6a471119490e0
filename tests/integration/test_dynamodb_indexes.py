"""DynamoDB secondary indexes through boto3: a GSI (ALL, KEYS_ONLY and INCLUDE projections)
and an LSI created with the table, maintained in the write's transaction (put, update of an
index key, delete, sparse items), queried in index order with pagination across items that
share an index key, scanned, described with counts; and AWS's errors (unknown index,
consistent read on a GSI, index key of the wrong type)."""

import botocore.exceptions
import pytest

import helpers
from ddb_helpers import ddb  # noqa: F401 - fixtures
from helpers import error_code


@pytest.fixture
def orders(ddb):
    name = helpers.unique("orders")
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "total", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "order_id", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                                     {"AttributeName": "total", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "status-keys", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "status-include", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}},
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "by-total", "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"},
                                                    {"AttributeName": "total", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
        ],
    )
    return name


def put(ddb, t, customer, oid, status=None, total=None, **extra):
    item = {"customer": {"S": customer}, "order_id": {"S": oid}}
    if status is not None:
        item["status"] = {"S": status}
    if total is not None:
        item["total"] = {"N": str(total)}
    for k, v in extra.items():
        item[k] = {"S": v}
    ddb.put_item(TableName=t, Item=item)


def by_status(ddb, t, status, **kw):
    return ddb.query(TableName=t, IndexName="by-status", KeyConditionExpression="#s = :s",
                     ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": status}}, **kw)


def test_gsi_follows_writes(ddb, orders):
    put(ddb, orders, "c1", "o1", "PENDING", 30, note="n1", other="x")
    put(ddb, orders, "c1", "o2", "PENDING", 10)
    put(ddb, orders, "c2", "o3", "PENDING", 20)
    put(ddb, orders, "c2", "o4", "SHIPPED", 5)
    put(ddb, orders, "c3", "o5")  # no status: not in the GSIs (sparse)
    out = by_status(ddb, orders, "PENDING")
    assert [i["order_id"]["S"] for i in out["Items"]] == ["o2", "o3", "o1"]  # by total
    assert out["Items"][2]["other"] == {"S": "x"}
    # An update moves the item between index partitions; a delete removes it.
    ddb.update_item(TableName=orders, Key={"customer": {"S": "c1"}, "order_id": {"S": "o2"}},
                    UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": "SHIPPED"}})
    ddb.delete_item(TableName=orders, Key={"customer": {"S": "c2"}, "order_id": {"S": "o3"}})
    assert [i["order_id"]["S"] for i in by_status(ddb, orders, "PENDING")["Items"]] == ["o1"]
    shipped = by_status(ddb, orders, "SHIPPED", ScanIndexForward=False)
    assert [i["order_id"]["S"] for i in shipped["Items"]] == ["o2", "o4"]
    ranged = by_status(ddb, orders, "SHIPPED")
    ranged = ddb.query(TableName=orders, IndexName="by-status", KeyConditionExpression="#s = :s AND #t BETWEEN :a AND :b",
                       ExpressionAttributeNames={"#s": "status", "#t": "total"},
                       ExpressionAttributeValues={":s": {"S": "SHIPPED"}, ":a": {"N": "6"}, ":b": {"N": "10"}})
    assert [i["order_id"]["S"] for i in ranged["Items"]] == ["o2"]
    keys = ddb.query(TableName=orders, IndexName="status-keys", KeyConditionExpression="#s = :s",
                     ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "PENDING"}})
    assert keys["Items"] == [{"customer": {"S": "c1"}, "order_id": {"S": "o1"}, "status": {"S": "PENDING"}}]
    inc = ddb.query(TableName=orders, IndexName="status-include", KeyConditionExpression="#s = :s",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "PENDING"}})
    assert inc["Items"][0]["note"] == {"S": "n1"} and "other" not in inc["Items"][0]
    assert sorted(i["order_id"]["S"] for i in ddb.scan(TableName=orders, IndexName="by-status")["Items"]) == ["o1", "o2", "o4"]
    d = ddb.describe_table(TableName=orders)["Table"]
    gsis = {g["IndexName"]: g for g in d["GlobalSecondaryIndexes"]}
    assert gsis["by-status"]["ItemCount"] == 3 and gsis["by-status"]["IndexStatus"] == "ACTIVE"
    assert d["LocalSecondaryIndexes"][0]["IndexName"] == "by-total"
    assert d["ItemCount"] == 4


def test_index_pagination_with_equal_index_keys(ddb, orders):
    for i in range(12):
        put(ddb, orders, "c%d" % (i % 3), "o%02d" % i, "NEW", 7)  # one index key for all
    seen, start = [], None
    while True:
        kw = {"Limit": 5}
        if start:
            kw["ExclusiveStartKey"] = start
        out = by_status(ddb, orders, "NEW", **kw)
        seen += [(i["customer"]["S"], i["order_id"]["S"]) for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if not start:
            break
        assert set(start) == {"customer", "order_id", "status", "total"}
    assert len(seen) == 12 and len(set(seen)) == 12


def test_lsi_query(ddb, orders):
    for oid, total in (("a", 50), ("b", 5), ("c", 25)):
        put(ddb, orders, "lc", oid, total=total)
    out = ddb.query(TableName=orders, IndexName="by-total", KeyConditionExpression="customer = :c AND #t > :m",
                    ExpressionAttributeNames={"#t": "total"},
                    ExpressionAttributeValues={":c": {"S": "lc"}, ":m": {"N": "6"}}, ConsistentRead=True)
    assert [i["order_id"]["S"] for i in out["Items"]] == ["c", "a"]


def test_index_errors(ddb, orders):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.query(TableName=orders, IndexName="nope", KeyConditionExpression="customer = :c",
                  ExpressionAttributeValues={":c": {"S": "x"}})
    assert "The table does not have the specified index: nope" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        by_status(ddb, orders, "X", ConsistentRead=True)
    assert "Consistent reads are not supported on global secondary indexes" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=orders, Item={"customer": {"S": "c"}, "order_id": {"S": "o"}, "status": {"N": "1"}})
    assert error_code(e) == "ValidationException"
    assert "Type mismatch for Index Key status Expected: S Actual: N" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_item(TableName=orders, Key={"customer": {"S": "c"}, "order_id": {"S": "o"}},
                        UpdateExpression="SET #t = :v", ExpressionAttributeNames={"#t": "total"},
                        ExpressionAttributeValues={":v": {"S": "oops"}})
    assert "Type mismatch for Index Key total" in str(e.value)


def test_indexes_survive_restart_and_delete(fresh_server):
    from ddb_helpers import make_ddb

    c = make_ddb(fresh_server.endpoint)
    name = helpers.unique("t")
    c.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "g", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   GlobalSecondaryIndexes=[{"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                            "Projection": {"ProjectionType": "ALL"}}])
    c.put_item(TableName=name, Item={"pk": {"S": "1"}, "g": {"S": "x"}})
    fresh_server.stop()
    fresh_server.start()
    c = make_ddb(fresh_server.endpoint)
    out = c.query(TableName=name, IndexName="gix", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}})
    assert out["Count"] == 1
    # A second table's index gets its own store table: no entries shared.
    other = helpers.unique("t")
    c.create_table(TableName=other, BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "g", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   GlobalSecondaryIndexes=[{"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                            "Projection": {"ProjectionType": "ALL"}}])
    assert c.query(TableName=other, IndexName="gix", KeyConditionExpression="g = :g",
                   ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == 0
    c.delete_table(TableName=name)
    c.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "g", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   GlobalSecondaryIndexes=[{"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                            "Projection": {"ProjectionType": "ALL"}}])
    assert c.query(TableName=name, IndexName="gix", KeyConditionExpression="g = :g",
                   ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == 0
