"""SNS topics through boto3 (AWS Query 2010-03-31): CreateTopic (standard and FIFO,
idempotent on same name + attributes, InvalidParameter on different ones), DeleteTopic
(with its subscriptions), ListTopics pagination (100 per page), Get/SetTopicAttributes,
and tags. Error codes and messages as SNS returns them."""

import json

import pytest
from botocore.exceptions import ClientError

from sns_helpers import (  # noqa: F401 - fixtures
    ACCOUNT,
    err,
    make_queue,
    new_topic,
    sns,
    status,
    subscribe_queue,
    topic_arn,
    unique,
)

# --------------------------------------------------------------------------- CreateTopic


def test_create_topic_returns_the_arn_and_is_listed(sns):
    name = unique("orders")
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == topic_arn(name)
    listed = set()
    token = None
    while True:
        r = sns.list_topics(**({"NextToken": token} if token else {}))
        listed |= {t["TopicArn"] for t in r["Topics"]}
        token = r.get("NextToken")
        if not token:
            break
    assert arn in listed


def test_create_topic_is_idempotent(sns):
    name = unique("idem")
    a = sns.create_topic(Name=name, Attributes={"DisplayName": "Orders"})["TopicArn"]
    b = sns.create_topic(Name=name, Attributes={"DisplayName": "Orders"})["TopicArn"]
    c = sns.create_topic(Name=name)["TopicArn"]  # no attributes: same topic
    assert a == b == c == topic_arn(name)
    assert sns.get_topic_attributes(TopicArn=a)["Attributes"]["DisplayName"] == "Orders"


def test_create_topic_with_different_attributes_is_invalid(sns):
    name = unique("idem")
    sns.create_topic(Name=name, Attributes={"DisplayName": "one"})
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"DisplayName": "two"})
    assert err(e) == (
        "InvalidParameter",
        "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
    )
    assert status(e) == 400
    # The first topic is unchanged.
    arn = topic_arn(name)
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "one"


@pytest.mark.parametrize("name", ["", "has space", "bad/slash", "x" * 257, "dot.name"])
def test_invalid_topic_names_are_rejected(sns, name):
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name)
    assert err(e)[0] == "InvalidParameter"


def test_fifo_topic_needs_the_fifo_suffix_and_attribute(sns):
    name = unique("orders")
    # FifoTopic=true without the .fifo suffix is refused.
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"FifoTopic": "true"})
    assert err(e)[0] == "InvalidParameter"
    # A .fifo name without FifoTopic=true is refused too (a standard topic cannot end in .fifo).
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name + ".fifo")
    assert err(e)[0] == "InvalidParameter"


def test_fifo_topic_attributes(sns):
    arn = new_topic(sns, "orders", fifo=True, ContentBasedDeduplication="true")
    assert arn.endswith(".fifo")
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["FifoTopic"] == "true"
    assert a["ContentBasedDeduplication"] == "true"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="false")
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["ContentBasedDeduplication"] == "false"


# --------------------------------------------------------------------------- attributes


def test_get_topic_attributes_of_a_new_topic(sns):
    arn = new_topic(sns, "attrs")
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["TopicArn"] == arn
    assert a["Owner"] == ACCOUNT
    assert a["SubscriptionsConfirmed"] == "0"
    assert a["SubscriptionsPending"] == "0"
    assert a["SubscriptionsDeleted"] == "0"
    assert a.get("DisplayName", "") == ""
    policy = json.loads(a["Policy"])
    assert policy["Version"] == "2008-10-17"
    assert policy["Statement"], policy
    assert any(arn == s.get("Resource") for s in policy["Statement"]), policy
    edp = json.loads(a["EffectiveDeliveryPolicy"])
    http = edp["http"]["defaultHealthyRetryPolicy"]
    # AWS's default HTTP/S policy: 3 retries, 20 s apart.
    assert http["numRetries"] == 3
    assert http["minDelayTarget"] == 20 and http["maxDelayTarget"] == 20
    assert "FifoTopic" not in a or a["FifoTopic"] == "false"


def test_subscription_counts_follow_the_subscriptions(sns, sqs):
    arn = new_topic(sns, "counts")
    subs = []
    for _ in range(3):
        _, qarn = make_queue(sqs)
        subs.append(subscribe_queue(sns, arn, qarn))
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="someone@example.com")
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (a["SubscriptionsConfirmed"], a["SubscriptionsPending"]) == ("3", "1")
    sns.unsubscribe(SubscriptionArn=subs[0])
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["SubscriptionsConfirmed"] == "2"


@pytest.mark.parametrize(
    "name,value",
    [
        ("DisplayName", "Order notifications"),
        ("SignatureVersion", "2"),
        ("TracingConfig", "Active"),
    ],
)
def test_set_topic_attributes_round_trip(sns, name, value):
    arn = new_topic(sns, "set")
    sns.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"][name] == value


def test_set_topic_policy_and_delivery_policy(sns):
    arn = new_topic(sns, "set")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "allow-publish",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "SNS:Publish",
                "Resource": arn,
            }
        ],
    }
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
    got = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert got["Statement"][0]["Sid"] == "allow-publish"
    dp = {
        "http": {
            "defaultHealthyRetryPolicy": {
                "minDelayTarget": 1,
                "maxDelayTarget": 5,
                "numRetries": 5,
                "numNoDelayRetries": 1,
                "numMinDelayRetries": 1,
                "numMaxDelayRetries": 1,
                "backoffFunction": "exponential",
            },
            "disableSubscriptionOverrides": False,
        }
    }
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(dp))
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert json.loads(a["DeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 5
    assert json.loads(a["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 5


def test_set_unknown_topic_attribute_is_invalid(sns):
    arn = new_topic(sns, "set")
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="NoSuchAttribute", AttributeValue="x")
    assert err(e) == ("InvalidParameter", "Invalid parameter: AttributeName")


def test_fifo_topic_attribute_cannot_be_changed(sns):
    arn = new_topic(sns, "std")
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="FifoTopic", AttributeValue="true")
    assert err(e)[0] == "InvalidParameter"


def test_missing_topic_is_not_found(sns):
    missing = topic_arn(unique("missing"))
    for call in (
        lambda: sns.get_topic_attributes(TopicArn=missing),
        lambda: sns.set_topic_attributes(TopicArn=missing, AttributeName="DisplayName", AttributeValue="x"),
        lambda: sns.publish(TopicArn=missing, Message="hello"),
        lambda: sns.subscribe(TopicArn=missing, Protocol="email", Endpoint="a@example.com"),
        lambda: sns.list_subscriptions_by_topic(TopicArn=missing),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e) == ("NotFound", "Topic does not exist")
        assert status(e) == 404


def test_malformed_topic_arn_is_invalid(sns):
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn="not-an-arn")
    assert err(e)[0] == "InvalidParameter"
    assert status(e) == 400


# --------------------------------------------------------------------------- DeleteTopic


def test_delete_topic_deletes_its_subscriptions(sns, sqs):
    arn = new_topic(sns, "del")
    _, qarn = make_queue(sqs)
    sub = subscribe_queue(sns, arn, qarn)
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert err(e)[0] == "NotFound"
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert err(e)[0] == "NotFound"
    all_subs = []
    token = None
    while True:
        r = sns.list_subscriptions(**({"NextToken": token} if token else {}))
        all_subs += r["Subscriptions"]
        token = r.get("NextToken")
        if not token:
            break
    assert sub not in {s["SubscriptionArn"] for s in all_subs}
    # Deleting again (or a topic that never existed) succeeds: DeleteTopic is idempotent.
    sns.delete_topic(TopicArn=arn)


def test_deleted_topic_can_be_created_again_empty(sns, sqs):
    name = unique("again")
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "first"})["TopicArn"]
    _, qarn = make_queue(sqs)
    subscribe_queue(sns, arn, qarn)
    sns.delete_topic(TopicArn=arn)
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "second"})["TopicArn"] == arn
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "second"


# --------------------------------------------------------------------------- ListTopics


def test_list_topics_pages_of_100(fresh_server):
    from sns_helpers import make_sns_client

    c = make_sns_client(fresh_server.endpoint)
    made = {c.create_topic(Name="page-%03d" % i)["TopicArn"] for i in range(230)}
    pages = []
    token = None
    while True:
        r = c.list_topics(**({"NextToken": token} if token else {}))
        pages.append([t["TopicArn"] for t in r["Topics"]])
        token = r.get("NextToken")
        if not token:
            break
        assert len(pages) < 10
    assert [len(p) for p in pages] == [100, 100, 30]
    seen = [a for p in pages for a in p]
    assert len(seen) == len(set(seen)) == 230
    assert set(seen) == made


# --------------------------------------------------------------------------- tags


def test_tags_round_trip(sns):
    arn = new_topic(sns, "tags", tags={"Environment": "test", "Service": "event-bus"})
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"Environment": "test", "Service": "event-bus"}
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "Service", "Value": "orders"}, {"Key": "Team", "Value": "a"}])
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"Environment": "test", "Service": "orders", "Team": "a"}
    sns.untag_resource(ResourceArn=arn, TagKeys=["Environment", "NotThere"])
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"Service": "orders", "Team": "a"}


def test_create_topic_with_different_tags_is_invalid(sns):
    name = unique("tags")
    sns.create_topic(Name=name, Tags=[{"Key": "a", "Value": "1"}])
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Tags=[{"Key": "a", "Value": "2"}])
    assert err(e) == ("InvalidParameter", "Invalid parameter: Tags Reason: Topic already exists with different tags")


def test_tags_on_a_missing_topic(sns):
    missing = topic_arn(unique("missing"))
    with pytest.raises(ClientError) as e:
        sns.list_tags_for_resource(ResourceArn=missing)
    assert err(e)[0] in ("ResourceNotFound", "NotFound")
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=missing, Tags=[{"Key": "a", "Value": "b"}])
    assert err(e)[0] in ("ResourceNotFound", "NotFound")


def test_too_many_tags_is_refused(sns):
    arn = new_topic(sns, "tags")
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)])
    assert err(e)[0] in ("TagLimitExceeded", "InvalidParameter")
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
