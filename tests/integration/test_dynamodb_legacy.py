"""DynamoDB's legacy parameters, as older SDKs send them, through boto3: Expected (Exists,
Value, ComparisonOperator) with ConditionalOperator, AttributeUpdates (PUT, ADD, DELETE),
KeyConditions, QueryFilter, ScanFilter and AttributesToGet; mixing them with expressions
is refused as AWS refuses it."""

import botocore.exceptions
import pytest

from ddb_helpers import create_table, ddb, range_table, table  # noqa: F401
from helpers import error_code


def test_expected_and_attribute_updates(ddb, table):
    k = {"pk": {"S": "l1"}}
    ddb.put_item(TableName=table, Item={"pk": {"S": "l1"}, "n": {"N": "1"}, "tags": {"SS": ["a", "b"]}},
                 Expected={"pk": {"Exists": False}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "l1"}}, Expected={"pk": {"Exists": False}})
    assert error_code(e) == "ConditionalCheckFailedException"
    out = ddb.update_item(
        TableName=table, Key=k,
        AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "4"}}, "s": {"Action": "PUT", "Value": {"S": "x"}},
                          "tags": {"Action": "DELETE", "Value": {"SS": ["a"]}}},
        Expected={"n": {"Value": {"N": "1"}}, "s": {"ComparisonOperator": "NULL"}},
        ConditionalOperator="AND", ReturnValues="ALL_NEW")
    assert out["Attributes"] == {"pk": {"S": "l1"}, "n": {"N": "5"}, "s": {"S": "x"}, "tags": {"SS": ["b"]}}
    ddb.update_item(TableName=table, Key=k, AttributeUpdates={"s": {"Action": "DELETE"}},
                    Expected={"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "100"}]},
                              "s": {"ComparisonOperator": "NOT_NULL"}},
                    ConditionalOperator="OR")
    assert "s" not in ddb.get_item(TableName=table, Key=k)["Item"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "l1"}}, Expected={"pk": {"Exists": False}},
                     ConditionExpression="attribute_not_exists(pk)")
    assert "Can not use both expression and non-expression parameters" in str(e.value)


def test_key_conditions_and_filters(ddb, range_table):
    for i in range(10):
        ddb.put_item(TableName=range_table, Item={"pk": {"S": "q"}, "sk": {"N": str(i)}, "odd": {"BOOL": i % 2 == 1}})
    out = ddb.query(TableName=range_table,
                    KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "q"}]},
                                   "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "2"}, {"N": "7"}]}},
                    QueryFilter={"odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}},
                    AttributesToGet=["sk"])
    assert out["Items"] == [{"sk": {"N": "3"}}, {"sk": {"N": "5"}}, {"sk": {"N": "7"}}]
    assert out["ScannedCount"] == 6
    out = ddb.scan(TableName=range_table,
                   ScanFilter={"sk": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "8"}]},
                               "odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": False}]}},
                   ConditionalOperator="OR")
    assert sorted(int(i["sk"]["N"]) for i in out["Items"]) == [0, 1, 2, 4, 6, 8]
