"""DynamoDB items through boto3 (client and resource APIs): PutItem, GetItem, UpdateItem,
DeleteItem with condition expressions, ReturnValues, ReturnValuesOnConditionCheckFailure,
consumed capacity, key validation with AWS's messages, the 400 KB limit and 32 levels of
nesting; and the seeds' patterns: idempotency keys with attribute_not_exists under
concurrent writers (exactly one wins) and ADD counters (no increment lost)."""

import decimal
import threading

import botocore.exceptions
import pytest
from boto3.dynamodb.conditions import Attr

from ddb_helpers import create_table, ddb, ddb_raw, ddb_resource, make_ddb, range_table, table  # noqa: F401
from helpers import error_code


def key(v):
    return {"pk": {"S": v}}


def test_put_get_delete(ddb, table):
    item = {
        "pk": {"S": "a"},
        "n": {"N": "1.50"},
        "b": {"B": b"\x00\x01"},
        "ok": {"BOOL": True},
        "nil": {"NULL": True},
        "m": {"M": {"x": {"L": [{"S": "y"}, {"N": "-0"}]}}},
        "ss": {"SS": ["b", "a"]},
        "ns": {"NS": ["1", "2.0"]},
    }
    assert "Attributes" not in ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key=key("a"), ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "1.5"}  # canonical, as DynamoDB returns it
    assert got["b"] == {"B": b"\x00\x01"}
    assert got["m"] == {"M": {"x": {"L": [{"S": "y"}, {"N": "0"}]}}}
    assert sorted(got["ss"]["SS"]) == ["a", "b"]
    assert "Item" not in ddb.get_item(TableName=table, Key=key("nope"))
    old = ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"]["n"] == {"N": "1.5"}
    out = ddb.delete_item(TableName=table, Key=key("a"), ReturnValues="ALL_OLD")
    assert out["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
    assert "Item" not in ddb.get_item(TableName=table, Key=key("a"))
    assert "Attributes" not in ddb.delete_item(TableName=table, Key=key("a"), ReturnValues="ALL_OLD")


def test_projection(ddb, table):
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": "p"}, "a": {"M": {"b": {"S": "x"}, "c": {"S": "y"}}}, "l": {"L": [{"N": "1"}, {"N": "2"}]}},
    )
    got = ddb.get_item(
        TableName=table, Key=key("p"), ProjectionExpression="#a.b, l[1]", ExpressionAttributeNames={"#a": "a"}
    )["Item"]
    assert got == {"a": {"M": {"b": {"S": "x"}}}, "l": {"L": [{"N": "2"}]}}
    got = ddb.get_item(TableName=table, Key=key("p"), AttributesToGet=["pk"])["Item"]
    assert got == {"pk": {"S": "p"}}


def test_condition_expressions(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "c"}, "state": {"S": "new"}}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "c"}}, ConditionExpression="attribute_not_exists(pk)")
    assert error_code(e) == "ConditionalCheckFailedException"
    assert e.value.response["Error"]["Message"] == "The conditional request failed"
    # ReturnValuesOnConditionCheckFailure (newer than Debian's botocore model): raw.
    status, body = ddb_raw(ddb.meta.endpoint_url, "PutItem", {
        "TableName": table, "Item": {"pk": {"S": "c"}}, "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert status == 400
    assert body["__type"] == "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    assert body["Item"] == {"pk": {"S": "c"}, "state": {"S": "new"}}
    ddb.delete_item(
        TableName=table,
        Key=key("c"),
        ConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "new"}},
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.delete_item(TableName=table, Key=key("c"), ConditionExpression="attribute_exists(pk)")
    assert error_code(e) == "ConditionalCheckFailedException"
    # The client's typed exception too.
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.update_item(TableName=table, Key=key("c"), UpdateExpression="SET a = :v",
                        ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":v": {"N": "1"}})


def test_update_expressions_and_return_values(ddb, table):
    out = ddb.update_item(
        TableName=table,
        Key=key("u"),
        UpdateExpression="SET #n = :n, tags = :t ADD hits :one",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "x"}, ":t": {"L": []}, ":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"] == {"pk": {"S": "u"}, "name": {"S": "x"}, "tags": {"L": []}, "hits": {"N": "1"}}
    out = ddb.update_item(
        TableName=table,
        Key=key("u"),
        UpdateExpression="SET tags = list_append(tags, :a), hits = hits + :ten REMOVE #n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":a": {"L": [{"S": "t1"}]}, ":ten": {"N": "10"}},
        ReturnValues="UPDATED_OLD",
    )
    assert out["Attributes"] == {"name": {"S": "x"}, "tags": {"L": []}, "hits": {"N": "1"}}
    out = ddb.update_item(
        TableName=table, Key=key("u"), UpdateExpression="SET hits = hits - :one",
        ExpressionAttributeValues={":one": {"N": "0.5"}}, ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"] == {"hits": {"N": "10.5"}}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_item(TableName=table, Key=key("u"), UpdateExpression="SET pk = :v",
                        ExpressionAttributeValues={":v": {"S": "z"}})
    assert "Cannot update attribute pk. This attribute is part of the key" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_item(TableName=table, Key=key("u"), UpdateExpression="SET a = nope + :v",
                        ExpressionAttributeValues={":v": {"N": "1"}})
    assert "The provided expression refers to an attribute that does not exist in the item" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "x"}}, ReturnValues="ALL_NEW")
    assert "Return values set to invalid value" in str(e.value)


def test_key_validation_messages(ddb, range_table):
    cases = [
        (lambda: ddb.put_item(TableName=range_table, Item={"pk": {"S": "a"}}),
         "One or more parameter values were invalid: Missing the key sk in the item"),
        (lambda: ddb.put_item(TableName=range_table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}}),
         "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S"),
        (lambda: ddb.get_item(TableName=range_table, Key={"pk": {"S": "a"}}),
         "The provided key element does not match the schema"),
        (lambda: ddb.get_item(TableName=range_table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}}),
         "The provided key element does not match the schema"),
        (lambda: ddb.delete_item(TableName=range_table, Key={"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"N": "1"}}),
         "The provided key element does not match the schema"),
        (lambda: ddb.put_item(TableName=range_table, Item={"pk": {"S": ""}, "sk": {"N": "1"}}),
         "The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
        (lambda: ddb.put_item(TableName=range_table, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "s": {"SS": []}}),
         "An string set  may not be empty"),
    ]
    for call, msg in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_code(e) == "ValidationException", msg
        assert msg in e.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.get_item(TableName="no-such-table", Key={"pk": {"S": "a"}})
    assert error_code(e) == "ResourceNotFoundException"


def test_item_size_limit_and_nesting(ddb, table):
    ok = "x" * (400 * 1024 - 100)
    ddb.put_item(TableName=table, Item={"pk": {"S": "big"}, "v": {"S": ok}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "big"}, "v": {"S": "x" * (400 * 1024)}})
    assert "Item size has exceeded the maximum allowed size" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_item(TableName=table, Key=key("big"), UpdateExpression="SET w = :w",
                        ExpressionAttributeValues={":w": {"S": "y" * 200}})
    assert "Item size to update has exceeded the maximum allowed size" in str(e.value)
    # 32 levels of nesting (31 maps around a scalar) is legal: ~66 JSON levels on the wire.
    v = {"S": "bottom"}
    for _ in range(31):
        v = {"M": {"a": v}}
    ddb.put_item(TableName=table, Item={"pk": {"S": "deep"}, "d": v})
    assert ddb.get_item(TableName=table, Key=key("deep"))["Item"]["d"] == v
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "deeper"}, "d": {"M": {"a": v}}})
    assert error_code(e) == "ValidationException"


def test_consumed_capacity(ddb, table):
    out = ddb.put_item(TableName=table, Item={"pk": {"S": "cc"}, "v": {"S": "x" * 3000}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 3.0}
    out = ddb.get_item(TableName=table, Key=key("cc"), ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 0.5
    out = ddb.get_item(TableName=table, Key=key("cc"), ConsistentRead=True, ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert out["ConsumedCapacity"]["Table"] == {"CapacityUnits": 1.0}


def test_resource_api(ddb, ddb_resource):
    name = create_table(ddb, hash_key=("order_id", "S"))
    t = ddb_resource.Table(name)
    t.put_item(Item={"order_id": "o-1", "total": decimal.Decimal("19.99"), "lines": [{"sku": "a", "qty": 2}]})
    item = t.get_item(Key={"order_id": "o-1"})["Item"]
    assert item["total"] == decimal.Decimal("19.99")
    assert item["lines"] == [{"sku": "a", "qty": 2}]
    t.update_item(Key={"order_id": "o-1"}, UpdateExpression="SET #s = :s",
                  ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": "PAID"},
                  ConditionExpression=Attr("total").gt(10) & Attr("status").not_exists())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        t.put_item(Item={"order_id": "o-1"}, ConditionExpression=Attr("order_id").not_exists())
    assert error_code(e) == "ConditionalCheckFailedException"
    assert t.get_item(Key={"order_id": "o-1"})["Item"]["status"] == "PAID"
    with t.batch_writer() as bw:
        for i in range(30):
            bw.put_item(Item={"order_id": "b-%d" % i, "n": i})
    assert t.scan(FilterExpression=Attr("order_id").begins_with("b-"))["Count"] == 30


def test_idempotency_keys_one_writer_wins(server, table):
    """Seeds 000/002: a handler records its idempotency key with attribute_not_exists; of
    concurrent writers of one key exactly one succeeds."""
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def writer(i):
        c = make_ddb(server.endpoint)
        barrier.wait()
        for k in range(20):
            try:
                c.put_item(TableName=table, Item={"pk": {"S": "idem-%d" % k}, "by": {"N": str(i)}},
                           ConditionExpression="attribute_not_exists(pk)")
                ok = True
            except c.exceptions.ConditionalCheckFailedException:
                ok = False
            with lock:
                results.append((k, i, ok))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = make_ddb(server.endpoint)
    for k in range(20):
        winners = [i for (kk, i, ok) in results if kk == k and ok]
        assert len(winners) == 1, (k, winners)
        item = c.get_item(TableName=table, Key=key("idem-%d" % k))["Item"]
        assert item["by"] == {"N": str(winners[0])}


def test_add_counters_lose_nothing(server, table):
    def worker():
        c = make_ddb(server.endpoint)
        for _ in range(25):
            c.update_item(TableName=table, Key=key("counter"), UpdateExpression="ADD stock :d",
                          ExpressionAttributeValues={":d": {"N": "-1"}})
            c.update_item(TableName=table, Key=key("counter"), UpdateExpression="ADD sold :d",
                          ExpressionAttributeValues={":d": {"N": "1"}})

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = make_ddb(server.endpoint).get_item(TableName=table, Key=key("counter"))["Item"]
    assert item["stock"] == {"N": "-150"}
    assert item["sold"] == {"N": "150"}


def test_expression_errors(ddb, table):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "e"}}, ConditionExpression="attribute_not_exists(pk)",
                     ExpressionAttributeValues={":unused": {"S": "x"}})
    assert "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_item(TableName=table, Key=key("e"), UpdateExpression="SETT a = :v",
                        ExpressionAttributeValues={":v": {"S": "x"}})
    assert 'Invalid UpdateExpression: Syntax error; token: "SETT"' in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.get_item(TableName=table, Key=key("e"), ExpressionAttributeNames={"#a": "a"})
    assert "ExpressionAttributeNames can only be specified when using expressions" in str(e.value)
