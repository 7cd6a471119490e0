"""The AWS CLI v2 (Debian's /usr/bin/aws; `aws dynamodb`, AWS JSON 1.0) against sluiced:
seed 004's tables (orders by `order_id`, inventory by `item_id`, pay-per-request) created,
written and checked the way the seed checks them (`aws dynamodb scan --table-name ...
--limit 10`), plus get-item, update-item, query and the CLI's own pagination of scan."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from helpers import SLOW, cli_env, unique

AWS = "/usr/bin/aws"

pytestmark = pytest.mark.skipif(not os.access(AWS, os.X_OK), reason="no AWS CLI at /usr/bin/aws")


@pytest.fixture(scope="module")
def aws(server):
    home = tempfile.mkdtemp(prefix="sluice-cli-")
    env = cli_env(home)

    def run(*args, expect_rc=0):
        p = subprocess.run([AWS, "--endpoint-url", server.endpoint, "--output", "json"] + list(args),
                           env=env, capture_output=True, timeout=60 * SLOW)
        assert p.returncode == expect_rc, (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
        if expect_rc != 0:
            return p.stderr.decode("utf-8", "replace")
        out = p.stdout.decode("utf-8").strip()
        return json.loads(out) if out else None

    yield run
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.sluice_timeout(180)  # each CLI run starts a Python interpreter
def test_seed_004_tables(aws):
    orders, inventory = unique("event-driven-orders"), unique("event-driven-inventory")
    for name, key in ((orders, "order_id"), (inventory, "item_id")):
        out = aws("dynamodb", "create-table", "--table-name", name,
                  "--attribute-definitions", "AttributeName=%s,AttributeType=S" % key,
                  "--key-schema", "AttributeName=%s,KeyType=HASH" % key,
                  "--billing-mode", "PAY_PER_REQUEST")
        assert out["TableDescription"]["TableStatus"] == "ACTIVE"
    aws("dynamodb", "wait", "table-exists", "--table-name", orders)
    puts = [{"PutRequest": {"Item": {"order_id": {"S": "ord-%02d" % i}, "status": {"S": "CREATED"},
                                     "amount": {"N": str(10 + i)}}}} for i in range(15)]
    out = aws("dynamodb", "batch-write-item", "--request-items", json.dumps({orders: puts}))
    assert out["UnprocessedItems"] == {}
    aws("dynamodb", "put-item", "--table-name", inventory, "--item",
        json.dumps({"item_id": {"S": "sku-1"}, "stock": {"N": "100"}}))
    out = aws("dynamodb", "update-item", "--table-name", inventory, "--key", '{"item_id":{"S":"sku-1"}}',
              "--update-expression", "ADD stock :d", "--expression-attribute-values", '{":d":{"N":"-3"}}',
              "--return-values", "UPDATED_NEW")
    assert out["Attributes"] == {"stock": {"N": "97"}}
    # The seed's check: the CLI pages with --limit and stops after 10 items.
    out = aws("dynamodb", "scan", "--table-name", orders, "--limit", "10")
    assert out["Count"] == 10 and len(out["Items"]) == 10
    out = aws("dynamodb", "scan", "--table-name", orders)  # the CLI follows LastEvaluatedKey
    assert out["Count"] == 15
    assert sorted(i["order_id"]["S"] for i in out["Items"]) == ["ord-%02d" % i for i in range(15)]
    out = aws("dynamodb", "scan", "--table-name", inventory, "--limit", "10")
    assert out["Items"] == [{"item_id": {"S": "sku-1"}, "stock": {"N": "97"}}]
    got = aws("dynamodb", "get-item", "--table-name", orders, "--key", '{"order_id":{"S":"ord-03"}}')
    assert got["Item"]["amount"] == {"N": "13"}
    q = aws("dynamodb", "query", "--table-name", orders, "--key-condition-expression", "order_id = :o",
            "--expression-attribute-values", '{":o":{"S":"ord-07"}}')
    assert q["Count"] == 1
    err = aws("dynamodb", "put-item", "--table-name", orders, "--item", '{"order_id":{"S":"ord-03"}}',
              "--condition-expression", "attribute_not_exists(order_id)", expect_rc=254)
    assert "ConditionalCheckFailedException" in err
    assert orders in aws("dynamodb", "list-tables")["TableNames"]
    aws("dynamodb", "delete-table", "--table-name", orders)
    err = aws("dynamodb", "describe-table", "--table-name", orders, expect_rc=254)
    assert "ResourceNotFoundException" in err
