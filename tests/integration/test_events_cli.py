"""The AWS CLI v2 (Debian's /usr/bin/aws; `aws events`, AWS JSON 1.1) against sluiced:
seed 004's test procedure (`aws events put-events` with its Order Created / Inventory
Updated entries) end to end through rules to SQS queues, the CLI's output shapes, and its
error reporting."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from helpers import cli_env
from events_helpers import ACCOUNT, REGION, SLOW, bus_arn, rule_arn, unique

AWS = "/usr/bin/aws"

pytestmark = pytest.mark.skipif(not os.access(AWS, os.X_OK), reason="no AWS CLI at /usr/bin/aws")


@pytest.fixture(scope="module")
def aws(server):
    home = tempfile.mkdtemp(prefix="sluice-cli-")
    env = cli_env(home)

    def run(*args, expect_rc=0):
        p = subprocess.run(
            [AWS, "--endpoint-url", server.endpoint, "--output", "json"] + list(args),
            env=env,
            capture_output=True,
            timeout=60 * SLOW,
        )
        assert p.returncode == expect_rc, (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
        if expect_rc != 0:
            return p.stderr.decode("utf-8", "replace")
        out = p.stdout.decode("utf-8").strip()
        return json.loads(out) if out else None

    yield run
    shutil.rmtree(home, ignore_errors=True)


def _receive_all(aws, url, n):
    """n event bodies from the queue (received with a long visibility timeout, so each once)."""
    got = []
    for _ in range(int(10 * SLOW)):
        r = aws(
            "sqs",
            "receive-message",
            "--queue-url",
            url,
            "--max-number-of-messages",
            "10",
            "--wait-time-seconds",
            "2",
            "--visibility-timeout",
            "300",
        )
        got += [json.loads(m["Body"]) for m in (r or {}).get("Messages", [])]
        if len(got) >= n:
            break
    return got


def test_seed_004_test_procedure(server, aws):
    """Seed 004: a custom bus, rules on source + detail-type, queues as targets, and the
    `aws events put-events --entries '[...]'` commands of its test procedure."""
    bus = unique("custom-event-bus")
    created = aws("events", "create-event-bus", "--name", bus)
    assert created == {"EventBusArn": bus_arn(bus)}

    queues = {}
    for key in ("order", "inventory"):
        name = unique(key + "-queue")
        url = aws("sqs", "create-queue", "--queue-name", name)["QueueUrl"]
        queues[key] = (url, "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name))

    rules = {
        "order": {"source": ["orders"], "detail-type": ["Order Created", "Order Completed"]},
        "inventory": {"source": ["inventory"], "detail-type": ["Inventory Updated"]},
    }
    names = {}
    for key, pattern in rules.items():
        names[key] = unique(key + "-events-rule")
        r = aws(
            "events", "put-rule", "--name", names[key], "--event-bus-name", bus, "--event-pattern", json.dumps(pattern)
        )
        assert r == {"RuleArn": rule_arn(names[key], bus)}
        t = aws(
            "events",
            "put-targets",
            "--rule",
            names[key],
            "--event-bus-name",
            bus,
            "--targets",
            json.dumps([{"Id": "1", "Arn": queues[key][1]}]),
        )
        assert t == {"FailedEntryCount": 0, "FailedEntries": []}

    order_detail = (
        '{"order_id":"ORD-001","customer_id":"CUST-001","items":[{"item_id":"ITEM-001","quantity":2,'
        '"price":29.99}],"total":59.98,"timestamp":"2024-01-15T10:00:00Z"}'
    )
    inv_detail = '{"item_id":"ITEM-001","quantity":100,"action":"restock","timestamp":"2024-01-15T10:00:00Z"}'
    wf_detail = '{"workflow_id":"WF-001","order_id":"ORD-001","timestamp":"2024-01-15T10:00:00Z"}'
    sent = {}
    for source, dtype, detail in (
        ("orders", "Order Created", order_detail),
        ("inventory", "Inventory Updated", inv_detail),
        ("workflow", "Workflow Triggered", wf_detail),
    ):
        entries = '[{"EventBusName": "%s", "Source": "%s", "DetailType": "%s", "Detail": %s}]' % (
            bus,
            source,
            dtype,
            json.dumps(detail),
        )
        r = aws("events", "put-events", "--entries", entries)
        assert r["FailedEntryCount"] == 0
        (e,) = r["Entries"]
        sent[dtype] = e["EventId"]

    (order,) = _receive_all(aws, queues["order"][0], 1)
    assert order["id"] == sent["Order Created"]
    assert order["source"] == "orders" and order["detail-type"] == "Order Created"
    assert order["detail"] == json.loads(order_detail)
    (inv,) = _receive_all(aws, queues["inventory"][0], 1)
    assert inv["id"] == sent["Inventory Updated"]
    assert inv["detail"] == json.loads(inv_detail)

    listed = aws("events", "list-rules", "--event-bus-name", bus)
    assert sorted(r["Name"] for r in listed["Rules"]) == sorted(names.values())
    described = aws("events", "describe-rule", "--name", names["order"], "--event-bus-name", bus)
    assert described["EventBusName"] == bus
    assert json.loads(described["EventPattern"]) == rules["order"]
    targets = aws("events", "list-targets-by-rule", "--rule", names["order"], "--event-bus-name", bus)
    assert targets == {"Targets": [{"Id": "1", "Arn": queues["order"][1]}]}


def test_test_event_pattern(aws):
    event = {
        "id": "1",
        "detail-type": "Order Created",
        "source": "orders",
        "account": ACCOUNT,
        "time": "2024-01-15T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"total": 59.98},
    }
    yes = aws(
        "events",
        "test-event-pattern",
        "--event-pattern",
        json.dumps({"detail": {"total": [{"numeric": [">", 50]}]}}),
        "--event",
        json.dumps(event),
    )
    assert yes == {"Result": True}
    no = aws(
        "events",
        "test-event-pattern",
        "--event-pattern",
        json.dumps({"source": ["payments"]}),
        "--event",
        json.dumps(event),
    )
    assert no == {"Result": False}


def test_cli_reports_errors(aws):
    missing = unique("missing")
    stderr = aws("events", "describe-rule", "--name", missing, expect_rc=254)
    assert "ResourceNotFoundException" in stderr
    assert missing in stderr
    stderr = aws("events", "put-rule", "--name", unique("bad"), "--event-pattern", "not json", expect_rc=254)
    assert "InvalidEventPatternException" in stderr
    stderr = aws("events", "delete-event-bus", "--name", "default", expect_rc=254)
    assert "ValidationException" in stderr


def test_put_events_partial_failure_output(aws):
    entries = json.dumps(
        [
            {"Source": "orders", "DetailType": "Order Created", "Detail": "{}"},
            {"Source": "orders", "DetailType": "Order Created", "Detail": "not json"},
        ]
    )
    r = aws("events", "put-events", "--entries", entries)
    assert r["FailedEntryCount"] == 1
    assert "EventId" in r["Entries"][0]
    assert r["Entries"][1] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
