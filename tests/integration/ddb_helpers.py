"""Shared fixtures of the DynamoDB integration suites: clients (low-level and resource) on
the module's server, and table factories."""

import boto3
import pytest

import helpers
from helpers import REGION, client_config, make_client


def make_ddb(endpoint, **cfg):
    return make_client(endpoint, "dynamodb", **cfg)


def make_resource(endpoint):
    return boto3.session.Session().resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(),
    )


def create_table(ddb, name=None, hash_key=("pk", "S"), range_key=None, **kw):
    name = name or helpers.unique("t")
    attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    kw.setdefault("BillingMode", "PAY_PER_REQUEST")
    ddb.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=schema, **kw)
    return name


@pytest.fixture(scope="module")
def ddb(server):
    return make_ddb(server.endpoint)


@pytest.fixture(scope="module")
def ddb_resource(server):
    return make_resource(server.endpoint)


@pytest.fixture
def table(ddb):
    """A fresh table with a string partition key `pk`."""
    return create_table(ddb)


@pytest.fixture
def range_table(ddb):
    """A fresh table with partition key `pk` (S) and sort key `sk` (N)."""
    return create_table(ddb, range_key=("sk", "N"))


def ddb_raw(endpoint, op, payload):
    """A raw DynamoDB call (for members Debian's botocore model predates): (status, body)."""
    import json

    from helpers import raw_request

    status, _, body = raw_request(
        endpoint,
        json.dumps(payload),
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810." + op},
    )
    return status, json.loads(body)
