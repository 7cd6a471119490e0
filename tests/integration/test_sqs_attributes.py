"""Queue attributes over AWS Query: defaults, Get/Set, counts, validation, redrive, FIFO."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from helpers import ACCOUNT, REGION, counts, error_code, http_status, queue_attrs, unique

DEFAULTS = {
    "VisibilityTimeout": "30",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
    "ApproximateNumberOfMessagesDelayed": "0",
}


def test_all_attributes_of_a_new_standard_queue(sqs, new_queue):
    before = int(time.time())
    name, url = new_queue("attrs")
    after = int(time.time())
    a = queue_attrs(sqs, url, "All")
    for k, v in DEFAULTS.items():
        assert a.get(k) == v, k
    assert a["QueueArn"] == "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)
    created = int(a["CreatedTimestamp"])  # epoch seconds
    modified = int(a["LastModifiedTimestamp"])
    assert before - 2 <= created <= after + 2
    assert before - 2 <= modified <= after + 2
    # A standard queue has no FIFO attributes and no redrive policy.
    for absent in ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "RedrivePolicy"):
        assert absent not in a, absent


@pytest.mark.parametrize("attr", sorted(DEFAULTS))
def test_each_default_attribute_alone(sqs, new_queue, attr):
    _, url = new_queue("attr1")
    assert queue_attrs(sqs, url, attr) == {attr: DEFAULTS[attr]}


def test_get_selected_attributes_only(sqs, new_queue):
    name, url = new_queue("sel")
    a = queue_attrs(sqs, url, "QueueArn", "DelaySeconds")
    assert a == {"QueueArn": "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name), "DelaySeconds": "0"}


def test_create_with_attributes_and_set_queue_attributes(sqs, new_queue):
    _, url = new_queue(
        "set",
        VisibilityTimeout=20,
        MaximumMessageSize=2048,
        MessageRetentionPeriod=604800,
        DelaySeconds=5,
        ReceiveMessageWaitTimeSeconds=10,
    )
    a = queue_attrs(sqs, url, "All")
    assert (a["VisibilityTimeout"], a["MaximumMessageSize"], a["MessageRetentionPeriod"]) == ("20", "2048", "604800")
    assert (a["DelaySeconds"], a["ReceiveMessageWaitTimeSeconds"]) == ("5", "10")
    created = a["CreatedTimestamp"]
    time.sleep(1.1)  # timestamps are in seconds
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"VisibilityTimeout": "69", "MaximumMessageSize": "1048576", "DelaySeconds": "0"},
    )
    b = queue_attrs(sqs, url, "All")
    assert (b["VisibilityTimeout"], b["MaximumMessageSize"], b["DelaySeconds"]) == ("69", "1048576", "0")
    assert b["MessageRetentionPeriod"] == "604800"  # untouched
    assert b["ReceiveMessageWaitTimeSeconds"] == "10"
    assert b["CreatedTimestamp"] == created
    assert int(b["LastModifiedTimestamp"]) > int(a["LastModifiedTimestamp"])


@pytest.mark.parametrize(
    "attr,value",
    [
        ("VisibilityTimeout", "0"),
        ("VisibilityTimeout", "43200"),
        ("DelaySeconds", "900"),
        ("MaximumMessageSize", "1024"),
        ("MaximumMessageSize", "1048576"),
        ("MessageRetentionPeriod", "60"),
        ("MessageRetentionPeriod", "1209600"),
        ("ReceiveMessageWaitTimeSeconds", "20"),
    ],
)
def test_boundary_values_are_accepted(sqs, new_queue, attr, value):
    _, url = new_queue("edge", **{attr: value})
    assert queue_attrs(sqs, url, attr) == {attr: value}
    _, url2 = new_queue("edge")
    sqs.set_queue_attributes(QueueUrl=url2, Attributes={attr: value})
    assert queue_attrs(sqs, url2, attr) == {attr: value}


INVALID = [
    ("VisibilityTimeout", "-1"),
    ("VisibilityTimeout", "43201"),
    ("VisibilityTimeout", "abc"),
    ("DelaySeconds", "901"),
    ("DelaySeconds", "-1"),
    ("MaximumMessageSize", "1023"),
    ("MaximumMessageSize", "1048577"),
    ("MessageRetentionPeriod", "59"),
    ("MessageRetentionPeriod", "1209601"),
    ("ReceiveMessageWaitTimeSeconds", "21"),
    ("ReceiveMessageWaitTimeSeconds", "1.5"),
]


@pytest.mark.parametrize("attr,value", INVALID)
def test_invalid_values_on_set_are_invalid_attribute_value(sqs, new_queue, attr, value):
    _, url = new_queue("bad")
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={attr: value})
    assert error_code(e) == "InvalidAttributeValue"
    assert http_status(e) == 400
    assert queue_attrs(sqs, url, attr) == {attr: DEFAULTS[attr]}  # unchanged


@pytest.mark.parametrize("attr,value", INVALID[::2])
def test_invalid_values_on_create_are_invalid_attribute_value(sqs, attr, value):
    name = unique("badc")
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={attr: value})
    assert error_code(e) == "InvalidAttributeValue"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)


def test_unknown_attribute_names_are_invalid_attribute_name(sqs, new_queue):
    _, url = new_queue("unk")
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert error_code(e) == "InvalidAttributeName"
    assert http_status(e) == 400
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"NoSuchAttribute": "1"})
    assert error_code(e) == "InvalidAttributeName"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("unk"), Attributes={"NoSuchAttribute": "1"})
    assert error_code(e) == "InvalidAttributeName"


def test_approximate_counts_reflect_visible_in_flight_and_delayed(sqs, new_queue):
    _, url = new_queue("cnt")
    assert counts(sqs, url) == (0, 0, 0)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="visible-%d" % i)
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    assert counts(sqs, url) == (3, 0, 1)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert len(got) == 2
    assert counts(sqs, url) == (1, 2, 1)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert counts(sqs, url) == (1, 1, 1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=0)
    assert counts(sqs, url) == (2, 0, 1)


def test_redrive_policy_is_a_json_string(sqs, new_queue):
    dlq_name, dlq_url = new_queue("dlq")
    dlq_arn = queue_attrs(sqs, dlq_url, "QueueArn")["QueueArn"]
    _, url = new_queue("src")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    raw = queue_attrs(sqs, url, "RedrivePolicy")["RedrivePolicy"]
    assert isinstance(raw, str)
    got = json.loads(raw)
    assert got["deadLetterTargetArn"] == dlq_arn
    assert int(got["maxReceiveCount"]) == 2
    assert "RedrivePolicy" in queue_attrs(sqs, url, "All")
    # An empty string removes the policy.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in queue_attrs(sqs, url, "All")


def test_redrive_policy_on_create(sqs, new_queue):
    _, dlq_url = new_queue("dlq")
    dlq_arn = queue_attrs(sqs, dlq_url, "QueueArn")["QueueArn"]
    _, url = new_queue("src", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}))
    got = json.loads(queue_attrs(sqs, url, "RedrivePolicy")["RedrivePolicy"])
    assert got["deadLetterTargetArn"] == dlq_arn
    assert int(got["maxReceiveCount"]) == 5


def test_redrive_policy_with_an_invalid_target_arn(sqs, new_queue):
    _, url = new_queue("src")
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": "dummy", "maxReceiveCount": 42})}
        )
    assert error_code(e) == "InvalidParameterValue"
    assert "RedrivePolicy" not in queue_attrs(sqs, url, "All")


def test_fifo_queue_attributes(sqs, new_queue):
    name, url = new_queue("fifo", fifo=True)
    assert name.endswith(".fifo")
    a = queue_attrs(sqs, url, "All")
    assert a["FifoQueue"] == "true"
    assert a["ContentBasedDeduplication"] == "false"
    assert a["DeduplicationScope"] == "queue"
    assert a["FifoThroughputLimit"] == "perQueue"
    assert a["QueueArn"].endswith(":" + name)
    for k in ("VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds"):
        assert a[k] == DEFAULTS[k]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"})
    assert queue_attrs(sqs, url, "ContentBasedDeduplication") == {"ContentBasedDeduplication": "true"}
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    )
    b = queue_attrs(sqs, url, "DeduplicationScope", "FifoThroughputLimit")
    assert b == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}


def test_fifo_queue_attribute_is_unknown_on_a_standard_queue(sqs, new_queue):
    _, std = new_queue("std")
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=std, Attributes={"FifoQueue": "true"})
    assert error_code(e) == "InvalidAttributeName"
    assert "FifoQueue" not in queue_attrs(sqs, std, "All")


def test_a_fifo_queue_cannot_become_standard(sqs, new_queue):
    _, fifo = new_queue("fifo", fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "false"})
    assert error_code(e) == "InvalidAttributeValue"
    assert queue_attrs(sqs, fifo, "FifoQueue") == {"FifoQueue": "true"}


def test_setting_fifo_queue_true_on_a_fifo_queue_is_a_no_op(sqs, new_queue):
    _, fifo = new_queue("fifo", fifo=True)
    sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})
    assert queue_attrs(sqs, fifo, "FifoQueue") == {"FifoQueue": "true"}


def test_fifo_name_rules(sqs):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("nofifosuffix"), Attributes={"FifoQueue": "true"})
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("notfifo") + ".fifo")
    assert error_code(e) == "InvalidParameterValue"
