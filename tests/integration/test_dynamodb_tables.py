"""DynamoDB tables through boto3: create (hash, hash+range, billing modes, tags, streams),
describe (status, counts, ARN), list with pagination, delete (items gone with the table),
tags, time to live, endpoints and limits, and AWS's validation errors."""

import botocore.exceptions
import pytest

import helpers
from ddb_helpers import create_table, ddb, table  # noqa: F401 - fixtures
from helpers import error_code


def test_create_describe_delete(ddb):
    name = helpers.unique("orders")
    out = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "app", "Value": "shop"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    assert out["TableName"] == name
    assert out["TableStatus"] == "ACTIVE"
    assert out["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/" + name
    assert out["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert out["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    ddb.put_item(TableName=name, Item={"order_id": {"S": "o1"}, "total": {"N": "12.50"}})
    d = ddb.describe_table(TableName=name)["Table"]
    assert d["ItemCount"] == 1
    assert d["TableSizeBytes"] > 0
    assert d["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]
    assert d["CreationDateTime"].year >= 2024
    assert ddb.list_tags_of_resource(ResourceArn=d["TableArn"])["Tags"] == [
        {"Key": "app", "Value": "shop"}
    ]
    assert ddb.delete_table(TableName=name)["TableDescription"]["TableName"] == name
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.describe_table(TableName=name)
    assert error_code(e) == "ResourceNotFoundException"
    # A table of the same name starts empty: the items went with the old one.
    create_table(ddb, name=name, hash_key=("order_id", "S"))
    assert ddb.scan(TableName=name)["Items"] == []
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 0


def test_create_provisioned_and_range(ddb):
    name = create_table(
        ddb,
        range_key=("sk", "N"),
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
    )
    d = ddb.describe_table(TableName=name)["Table"]
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert [k["KeyType"] for k in d["KeySchema"]] == ["HASH", "RANGE"]


@pytest.mark.parametrize(
    "kw,msg",
    [
        (
            dict(
                AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "b", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            ),
            "Some index key attributes are not defined in AttributeDefinitions",
        ),
        (
            dict(
                AttributeDefinitions=[
                    {"AttributeName": "a", "AttributeType": "S"},
                    {"AttributeName": "x", "AttributeType": "S"},
                ],
                KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            ),
            "Number of attributes in KeySchema does not exactly match",
        ),
        (
            dict(
                AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"}],
                BillingMode="PAY_PER_REQUEST",
            ),
            "The first KeySchemaElement is not a HASH key type",
        ),
        (
            dict(
                AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
            ),
            "ReadCapacityUnits and WriteCapacityUnits must both be specified",
        ),
        (
            dict(
                AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            ),
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified",
        ),
    ],
)
def test_create_validation(ddb, kw, msg):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.create_table(TableName=helpers.unique("bad"), **kw)
    assert error_code(e) == "ValidationException"
    assert msg in str(e.value)


def test_create_existing_is_in_use(ddb, table):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        create_table(ddb, name=table)
    assert error_code(e) == "ResourceInUseException"
    assert "Table already exists: " + table in str(e.value)


def test_list_tables_paginates(ddb):
    prefix = helpers.unique("lt")
    names = sorted(create_table(ddb, name="%s-%02d" % (prefix, i)) for i in range(7))
    seen = []
    for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 3}):
        assert len(page["TableNames"]) <= 3
        seen += page["TableNames"]
    assert [n for n in seen if n.startswith(prefix)] == names
    assert seen == sorted(seen)
    out = ddb.list_tables(ExclusiveStartTableName=names[2], Limit=2)
    assert out["TableNames"] == names[3:5]
    assert out["LastEvaluatedTableName"] == names[4]


def test_tags(ddb, table):
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["b"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "3"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.list_tags_of_resource(ResourceArn=arn + "-nope")
    assert error_code(e) == "ResourceNotFoundException"


def test_time_to_live_is_stored(ddb, table):
    assert ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "DISABLED"
    }
    spec = {"Enabled": True, "AttributeName": "expires_at"}
    assert ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=spec)[
        "TimeToLiveSpecification"
    ] == spec
    d = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert d == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=spec)
    assert "TimeToLive is already enabled" in str(e.value)


def test_endpoints_and_limits(ddb):
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440
    assert ddb.describe_limits()["TableMaxWriteCapacityUnits"] == 40000


def test_tables_survive_restart(fresh_server):
    from ddb_helpers import make_ddb

    c = make_ddb(fresh_server.endpoint)
    name = create_table(c, range_key=("sk", "S"))
    c.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "b"}, "v": {"N": "1"}})
    fresh_server.stop()
    fresh_server.start()
    c = make_ddb(fresh_server.endpoint)
    assert name in c.list_tables()["TableNames"]
    item = c.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "b"}})["Item"]
    assert item["v"] == {"N": "1"}
    assert c.describe_table(TableName=name)["Table"]["ItemCount"] == 1
