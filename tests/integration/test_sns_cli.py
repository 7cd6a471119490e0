"""The AWS CLI v2 (Debian's /usr/bin/aws; `aws sns`, AWS Query 2010-03-31) against
sluiced: seed 004's subscribe step (`aws sns subscribe --protocol email`), seed 003's
event-bus topic with a filtered SQS subscription, every topic and subscription command of
this step, the CLI's automatic pagination of list-topics, and its error reporting."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from helpers import cli_env
from sns_helpers import ACCOUNT, REGION, SLOW, make_sns_client, topic_arn, unique

AWS = "/usr/bin/aws"

pytestmark = pytest.mark.skipif(not os.access(AWS, os.X_OK), reason="no AWS CLI at /usr/bin/aws")


def _runner(endpoint, home):
    env = cli_env(home)

    def run(*args, expect_rc=0):
        p = subprocess.run(
            [AWS, "--endpoint-url", endpoint, "--output", "json"] + list(args),
            env=env,
            capture_output=True,
            timeout=60 * SLOW,
        )
        assert p.returncode == expect_rc, (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
        if expect_rc != 0:
            return p.stderr.decode("utf-8", "replace")
        out = p.stdout.decode("utf-8").strip()
        return json.loads(out) if out else None

    return run


@pytest.fixture(scope="module")
def aws(server):
    home = tempfile.mkdtemp(prefix="sluice-cli-")
    yield _runner(server.endpoint, home)
    shutil.rmtree(home, ignore_errors=True)


def _queue(aws, prefix="cliq"):
    name = unique(prefix)
    url = aws("sqs", "create-queue", "--queue-name", name)["QueueUrl"]
    arn = aws("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn")["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _receive(aws, url, n):
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
            "1",
            "--visibility-timeout",
            "300",
            "--message-attribute-names",
            "All",
        )
        got += (r or {}).get("Messages", [])
        if len(got) >= n:
            break
    return got


def test_seed_004_subscribe_email(aws):
    """Seed 004: `aws sns subscribe --topic-arn $TOPIC_ARN --protocol email
    --notification-endpoint your-email@example.com`."""
    arn = aws("sns", "create-topic", "--name", unique("event-notifications"))["TopicArn"]
    r = aws(
        "sns",
        "subscribe",
        "--topic-arn",
        arn,
        "--protocol",
        "email",
        "--notification-endpoint",
        "your-email@example.com",
    )
    assert r == {"SubscriptionArn": "pending confirmation"}
    subs = aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"], s["SubscriptionArn"]) for s in subs] == [
        ("email", "your-email@example.com", "PendingConfirmation")
    ]


def test_seed_003_event_bus_topic_with_filtered_queue(aws):
    """Seed 003: topic `portfolio-events` with tags, `order-events-queue` subscribed with
    the eventType filter policy; the event bus publishes JSON events with eventType and
    correlationId attributes."""
    name = unique("portfolio-events")
    arn = aws("sns", "create-topic", "--name", name, "--tags", "Key=Environment,Value=test", "Key=Service,Value=event-bus")[
        "TopicArn"
    ]
    assert arn == topic_arn(name)
    url, qarn = _queue(aws, "order-events-queue")
    policy = json.dumps({"eventType": ["order.created", "order.paid", "order.shipped"]})
    sub = aws(
        "sns",
        "subscribe",
        "--topic-arn",
        arn,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        qarn,
        "--attributes",
        json.dumps({"FilterPolicy": policy}),
        "--return-subscription-arn",
    )["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    sent = {}
    for t in ("order.created", "payment.processed", "order.shipped"):
        event = {"id": unique("evt"), "type": t, "correlationId": "corr_abc123"}
        attrs = {
            "eventType": {"DataType": "String", "StringValue": t},
            "correlationId": {"DataType": "String", "StringValue": "corr_abc123"},
        }
        r = aws(
            "sns",
            "publish",
            "--topic-arn",
            arn,
            "--message",
            json.dumps(event),
            "--message-attributes",
            json.dumps(attrs),
        )
        sent[t] = r["MessageId"]
    msgs = _receive(aws, url, 2)
    envs = [json.loads(m["Body"]) for m in msgs]
    assert sorted(json.loads(e["Message"])["type"] for e in envs) == ["order.created", "order.shipped"]
    for e in envs:
        t = json.loads(e["Message"])["type"]
        assert e["MessageId"] == sent[t]
        assert e["MessageAttributes"]["eventType"] == {"Type": "String", "Value": t}
    tags = aws("sns", "list-tags-for-resource", "--resource-arn", arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"Environment": "test", "Service": "event-bus"}


def test_topic_commands(aws):
    arn = aws("sns", "create-topic", "--name", unique("cli"), "--attributes", "DisplayName=Orders")["TopicArn"]
    a = aws("sns", "get-topic-attributes", "--topic-arn", arn)["Attributes"]
    assert a["DisplayName"] == "Orders"
    assert a["Owner"] == ACCOUNT
    aws("sns", "set-topic-attributes", "--topic-arn", arn, "--attribute-name", "DisplayName", "--attribute-value", "New")
    assert aws("sns", "get-topic-attributes", "--topic-arn", arn)["Attributes"]["DisplayName"] == "New"
    aws("sns", "tag-resource", "--resource-arn", arn, "--tags", "Key=team,Value=a")
    aws("sns", "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
    assert aws("sns", "list-tags-for-resource", "--resource-arn", arn)["Tags"] == []
    listed = {t["TopicArn"] for t in aws("sns", "list-topics")["Topics"]}
    assert arn in listed
    aws("sns", "delete-topic", "--topic-arn", arn)
    err = aws("sns", "get-topic-attributes", "--topic-arn", arn, expect_rc=254)
    assert "NotFound" in err and "Topic does not exist" in err


def test_fifo_topic_and_publish_batch(aws):
    arn = aws(
        "sns",
        "create-topic",
        "--name",
        unique("cli") + ".fifo",
        "--attributes",
        "FifoTopic=true,ContentBasedDeduplication=true",
    )["TopicArn"]
    name = unique("cliq") + ".fifo"
    url = aws("sqs", "create-queue", "--queue-name", name, "--attributes", "FifoQueue=true")["QueueUrl"]
    qarn = "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)
    aws(
        "sns",
        "subscribe",
        "--topic-arn",
        arn,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        qarn,
        "--attributes",
        "RawMessageDelivery=true",
    )
    entries = [{"Id": "e%d" % i, "Message": "m%d" % i, "MessageGroupId": "g"} for i in range(5)]
    r = aws("sns", "publish-batch", "--topic-arn", arn, "--publish-batch-request-entries", json.dumps(entries))
    assert sorted(s["Id"] for s in r["Successful"]) == ["e%d" % i for i in range(5)]
    assert not r.get("Failed")
    msgs = _receive(aws, url, 5)
    assert [m["Body"] for m in msgs] == ["m%d" % i for i in range(5)]
    err = aws("sns", "publish", "--topic-arn", arn, "--message", "no group", expect_rc=254)
    assert "InvalidParameter" in err and "MessageGroupId" in err


def test_subscription_commands(aws):
    arn = aws("sns", "create-topic", "--name", unique("cli"))["TopicArn"]
    url, qarn = _queue(aws)
    sub = aws("sns", "subscribe", "--topic-arn", arn, "--protocol", "sqs", "--notification-endpoint", qarn)[
        "SubscriptionArn"
    ]
    aws(
        "sns",
        "set-subscription-attributes",
        "--subscription-arn",
        sub,
        "--attribute-name",
        "RawMessageDelivery",
        "--attribute-value",
        "true",
    )
    a = aws("sns", "get-subscription-attributes", "--subscription-arn", sub)["Attributes"]
    assert a["RawMessageDelivery"] == "true" and a["Endpoint"] == qarn
    assert sub in {s["SubscriptionArn"] for s in aws("sns", "list-subscriptions")["Subscriptions"]}
    aws("sns", "publish", "--topic-arn", arn, "--message", "raw via cli", "--subject", "ignored")
    (m,) = _receive(aws, url, 1)
    assert m["Body"] == "raw via cli"
    err = aws(
        "sns",
        "set-subscription-attributes",
        "--subscription-arn",
        sub,
        "--attribute-name",
        "FilterPolicy",
        "--attribute-value",
        '{"key": [{"wrong-operator": true}]}',
        expect_rc=254,
    )
    assert "InvalidParameter" in err and "Unrecognized match type wrong-operator" in err
    aws("sns", "unsubscribe", "--subscription-arn", sub)
    assert aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn)["Subscriptions"] == []


def test_list_topics_follows_next_token(fresh_server):
    home = tempfile.mkdtemp(prefix="sluice-cli-")
    try:
        aws = _runner(fresh_server.endpoint, home)
        c = make_sns_client(fresh_server.endpoint)
        made = {c.create_topic(Name="cli-page-%03d" % i)["TopicArn"] for i in range(120)}
        listed = [t["TopicArn"] for t in aws("sns", "list-topics")["Topics"]]
        assert len(listed) == 120 and set(listed) == made
        page = aws("sns", "list-topics", "--max-items", "100")
        assert len(page["Topics"]) == 100 and page.get("NextToken")
    finally:
        shutil.rmtree(home, ignore_errors=True)
