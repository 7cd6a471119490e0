"""DynamoDB Query and Scan through boto3: key conditions (=, <, <=, >, >=, BETWEEN,
begins_with) on number and string sort keys in DynamoDB's order, ScanIndexForward, Limit
and ExclusiveStartKey/LastEvaluatedKey pagination, filters, projections, Select COUNT, the
1 MB page, Scan segments that partition the table; BatchGetItem and BatchWriteItem (limits,
duplicate keys), TransactWriteItems (all or nothing, cancellation reasons, idempotency
tokens) and TransactGetItems."""

import botocore.exceptions
import pytest
from boto3.dynamodb.conditions import Attr, Key

from ddb_helpers import create_table, ddb, ddb_raw, ddb_resource, range_table, table  # noqa: F401
from helpers import error_code


def fill(ddb, table, pk, sks):
    for sk in sks:
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"N": str(sk)}, "v": {"N": str(sk)}})


def sks(items):
    return [float(i["sk"]["N"]) for i in items]


def q(ddb, table, cond, values, **kw):
    vals = {":p": {"S": "p"}}
    vals.update(values)
    return ddb.query(TableName=table, KeyConditionExpression="pk = :p" + cond, ExpressionAttributeValues=vals, **kw)


def test_key_conditions_in_numeric_order(ddb, range_table):
    fill(ddb, range_table, "p", [10, -3, 2.5, 0, 100, 9.99, -20])
    fill(ddb, range_table, "other", [1, 2])
    assert sks(q(ddb, range_table, "", {})["Items"]) == [-20, -3, 0, 2.5, 9.99, 10, 100]
    assert sks(q(ddb, range_table, " AND sk < :a", {":a": {"N": "2.5"}})["Items"]) == [-20, -3, 0]
    assert sks(q(ddb, range_table, " AND sk <= :a", {":a": {"N": "2.5"}})["Items"]) == [-20, -3, 0, 2.5]
    assert sks(q(ddb, range_table, " AND sk > :a", {":a": {"N": "10"}})["Items"]) == [100]
    assert sks(q(ddb, range_table, " AND sk >= :a", {":a": {"N": "10"}})["Items"]) == [10, 100]
    assert sks(q(ddb, range_table, " AND sk = :a", {":a": {"N": "9.990"}})["Items"]) == [9.99]
    assert sks(q(ddb, range_table, " AND sk BETWEEN :a AND :b", {":a": {"N": "-3"}, ":b": {"N": "10"}})["Items"]) == [
        -3, 0, 2.5, 9.99, 10]
    back = q(ddb, range_table, "", {}, ScanIndexForward=False)
    assert sks(back["Items"]) == [100, 10, 9.99, 2.5, 0, -3, -20]
    assert back["Count"] == back["ScannedCount"] == 7


def test_string_sort_keys_and_begins_with(ddb):
    t = create_table(ddb, range_key=("sk", "S"))
    for sk in ["order#2", "order#10", "order#1", "item#1", "order", "ordex", "\u00e9t\u00e9"]:
        ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    items = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                      ExpressionAttributeValues={":p": {"S": "p"}, ":b": {"S": "order#"}})["Items"]
    assert [i["sk"]["S"] for i in items] == ["order#1", "order#10", "order#2"]
    items = ddb.query(TableName=t, KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert [i["sk"]["S"] for i in items][-1] == "\u00e9t\u00e9"  # UTF-8 byte order
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.query(TableName=t, KeyConditionExpression="pk = :p AND sk > :n",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":n": {"N": "1"}})
    assert error_code(e) == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.query(TableName=t, KeyConditionExpression="sk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert "Query condition missed key schema element" in str(e.value)


def test_pagination_filter_projection_count(ddb, range_table):
    fill(ddb, range_table, "p", range(25))
    seen, pages, start = [], 0, None
    while True:
        kw = {"Limit": 7}
        if start:
            kw["ExclusiveStartKey"] = start
        out = q(ddb, range_table, "", {}, **kw)
        seen += sks(out["Items"])
        pages += 1
        start = out.get("LastEvaluatedKey")
        if not start:
            break
        assert set(start) == {"pk", "sk"}
    assert seen == list(range(25)) and pages == 4
    back = q(ddb, range_table, "", {}, ScanIndexForward=False, Limit=5,
             ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"N": "20"}})
    assert sks(back["Items"]) == [19, 18, 17, 16, 15]
    out = q(ddb, range_table, "", {":m": {"N": "10"}}, FilterExpression="v >= :m", Limit=15)
    assert out["ScannedCount"] == 15 and out["Count"] == 5
    out = q(ddb, range_table, "", {}, Select="COUNT")
    assert out["Count"] == 25 and "Items" not in out
    out = q(ddb, range_table, " AND sk = :z", {":z": {"N": "3"}}, ProjectionExpression="v")
    assert out["Items"] == [{"v": {"N": "3"}}]
    paginated = ddb.get_paginator("query").paginate(
        TableName=range_table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
        PaginationConfig={"PageSize": 4})
    assert sum(p["Count"] for p in paginated) == 25


def test_one_megabyte_page(ddb, range_table):
    big = "x" * (100 * 1024)
    for i in range(15):
        ddb.put_item(TableName=range_table, Item={"pk": {"S": "big"}, "sk": {"N": str(i)}, "b": {"S": big}})
    out = ddb.query(TableName=range_table, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "big"}}, Select="COUNT")
    assert out["Count"] == 11  # the page stops once 1 MB was read
    assert out["LastEvaluatedKey"] == {"pk": {"S": "big"}, "sk": {"N": "10"}}
    out = ddb.scan(TableName=range_table, ExclusiveStartKey=out["LastEvaluatedKey"], Select="COUNT")
    assert out["ScannedCount"] >= 0


def test_scan_segments_partition_the_table(ddb, table):
    for i in range(120):
        ddb.put_item(TableName=table, Item={"pk": {"S": "k%03d" % i}, "n": {"N": str(i)}})
    seen = []
    for seg in range(4):
        part = []
        for page in ddb.get_paginator("scan").paginate(TableName=table, Segment=seg, TotalSegments=4,
                                                       PaginationConfig={"PageSize": 9}):
            part += [i["pk"]["S"] for i in page["Items"]]
        assert 10 < len(part) < 60  # roughly even
        seen += part
    assert sorted(seen) == ["k%03d" % i for i in range(120)]
    out = ddb.scan(TableName=table, FilterExpression="n < :x", ExpressionAttributeValues={":x": {"N": "10"}})
    assert out["Count"] == 10 and out["ScannedCount"] == 120
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.scan(TableName=table, Segment=4, TotalSegments=4)
    assert "must be less than parameter TotalSegments" in str(e.value)


def test_resource_query(ddb, ddb_resource, range_table):
    t = ddb_resource.Table(range_table)
    for i in range(5):
        t.put_item(Item={"pk": "r", "sk": i, "tag": "even" if i % 2 == 0 else "odd"})
    out = t.query(KeyConditionExpression=Key("pk").eq("r") & Key("sk").between(1, 3),
                  FilterExpression=Attr("tag").eq("odd"))
    assert [int(i["sk"]) for i in out["Items"]] == [1, 3]


def test_batch_write_and_get(ddb, table, range_table):
    reqs = {table: [{"PutRequest": {"Item": {"pk": {"S": "b%d" % i}, "n": {"N": str(i)}}}} for i in range(20)],
            range_table: [{"PutRequest": {"Item": {"pk": {"S": "x"}, "sk": {"N": "1"}}}}]}
    assert ddb.batch_write_item(RequestItems=reqs)["UnprocessedItems"] == {}
    out = ddb.batch_get_item(RequestItems={
        table: {"Keys": [{"pk": {"S": "b%d" % i}} for i in range(0, 20, 2)] + [{"pk": {"S": "none"}}],
                "ProjectionExpression": "n"},
        range_table: {"Keys": [{"pk": {"S": "x"}, "sk": {"N": "1"}}]}})
    assert sorted(int(i["n"]["N"]) for i in out["Responses"][table]) == list(range(0, 20, 2))
    assert out["Responses"][range_table] == [{"pk": {"S": "x"}, "sk": {"N": "1"}}]
    assert out["UnprocessedKeys"] == {}
    ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": {"pk": {"S": "b%d" % i}}}} for i in range(10)]})
    assert ddb.scan(TableName=table, Select="COUNT")["Count"] == 10
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "d"}}}},
                                                   {"DeleteRequest": {"Key": {"pk": {"S": "d"}}}}]})
    assert "Provided list of item keys contains duplicates" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "m%d" % i}}}} for i in range(26)]})
    assert "Too many items requested for the BatchWriteItem call" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "g%d" % i}} for i in range(101)]}})
    assert "Too many items requested for the BatchGetItem call" in str(e.value)


def test_transact_write_all_or_nothing(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "stock"}, "n": {"N": "1"}})
    items = [
        {"Put": {"TableName": table, "Item": {"pk": {"S": "order-1"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": table, "Key": {"pk": {"S": "stock"}}, "UpdateExpression": "ADD n :m",
                    "ConditionExpression": "n >= :one", "ExpressionAttributeValues": {":m": {"N": "-1"}, ":one": {"N": "1"}}}},
    ]
    ddb.transact_write_items(TransactItems=items)
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "stock"}})["Item"]["n"] == {"N": "0"}
    items[0]["Put"]["Item"] = {"pk": {"S": "order-2"}}
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as e:
        ddb.transact_write_items(TransactItems=items)
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert "[None, ConditionalCheckFailed]" in e.value.response["Error"]["Message"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "order-2"}})  # undone
    # Every item's condition is evaluated: both failures are reported.
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as e:
        ddb.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "stock"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "order-3"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "order-1"}}, "ConditionExpression": "attribute_exists(nope)"}}])
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "order-3"}})
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "order-1"}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}}}}])
    assert "Transaction request cannot include multiple operations on one item" in str(e.value)


def test_transact_idempotency_token(ddb, table):
    items = [{"Update": {"TableName": table, "Key": {"pk": {"S": "tok"}}, "UpdateExpression": "ADD n :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "tok"}})["Item"]["n"] == {"N": "1"}
    items[0]["Update"]["ExpressionAttributeValues"][":one"] = {"N": "2"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    assert error_code(e) == "IdempotentParameterMismatchException"


def test_transact_get(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "tg"}, "a": {"S": "1"}, "b": {"S": "2"}})
    out = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": table, "Key": {"pk": {"S": "tg"}}, "ProjectionExpression": "a"}},
        {"Get": {"TableName": table, "Key": {"pk": {"S": "missing"}}}}])
    assert out["Responses"] == [{"Item": {"a": {"S": "1"}}}, {}]
