"""The AWS CLI v2 (Debian's, AWS Query protocol) against sluiced, checking its JSON output."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from helpers import ACCOUNT, cli_env, md5_hex, md5_of_attributes, REGION, SLOW, unique

AWS = "/usr/bin/aws"

pytestmark = pytest.mark.skipif(not os.access(AWS, os.X_OK), reason="no AWS CLI at /usr/bin/aws")


@pytest.fixture(scope="module")
def aws(server):
    home = tempfile.mkdtemp(prefix="sluice-cli-")
    env = cli_env(home)

    def run(*args, expect_rc=0):
        p = subprocess.run(
            [AWS, "--endpoint-url", server.endpoint, "--output", "json", "sqs"] + list(args),
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


def test_create_list_send_receive_delete(server, aws):
    name = unique("cli")
    created = aws("create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=45,DelaySeconds=0")
    url = "http://127.0.0.1:%d/%s/%s" % (server.port, ACCOUNT, name)
    assert created == {"QueueUrl": url}

    listed = aws("list-queues", "--queue-name-prefix", name)
    assert listed == {"QueueUrls": [url]}

    body = '{"orderId": "42", "note": "héllo <world> & co"}'
    attrs = {"kind": {"DataType": "String", "StringValue": "order"}, "n": {"DataType": "Number", "StringValue": "7"}}
    sent = aws(
        "send-message",
        "--queue-url", url,
        "--message-body", body,
        "--message-attributes", json.dumps(attrs),
    )
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert sent["MessageId"]

    got = aws(
        "receive-message",
        "--queue-url", url,
        "--attribute-names", "All",
        "--message-attribute-names", "All",
        "--wait-time-seconds", "2",
    )
    (m,) = got["Messages"]
    assert m["Body"] == body
    assert m["MessageId"] == sent["MessageId"]
    assert m["MD5OfBody"] == md5_hex(body)
    assert m["MessageAttributes"] == attrs
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(m["Attributes"]["SentTimestamp"]) > 0

    assert aws("delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"]) is None

    a = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert a["VisibilityTimeout"] == "45"
    assert a["ApproximateNumberOfMessages"] == "0"
    assert a["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert a["QueueArn"] == "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)

    # Nothing left.
    assert aws("receive-message", "--queue-url", url, "--wait-time-seconds", "0") in (None, {}, {"Messages": []})


def test_fifo_and_batch_through_the_cli(server, aws):
    name = unique("clififo") + ".fifo"
    url = aws("create-queue", "--queue-name", name, "--attributes", "FifoQueue=true,ContentBasedDeduplication=true")[
        "QueueUrl"
    ]
    entries = [{"Id": "e%d" % i, "MessageBody": "m%d" % i, "MessageGroupId": "g"} for i in range(3)]
    r = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries))
    assert sorted(e["Id"] for e in r["Successful"]) == ["e0", "e1", "e2"]
    assert not r.get("Failed")
    got = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10", "--wait-time-seconds", "1")
    assert [m["Body"] for m in got["Messages"]] == ["m0", "m1", "m2"]
    a = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "FifoQueue", "ApproximateNumberOfMessagesNotVisible")
    assert a["Attributes"] == {"FifoQueue": "true", "ApproximateNumberOfMessagesNotVisible": "3"}


def test_cli_reports_missing_queue(server, aws):
    err = aws("get-queue-url", "--queue-name", unique("ghost"), expect_rc=254)
    assert "AWS.SimpleQueueService.NonExistentQueue" in err
    assert "GetQueueUrl" in err
