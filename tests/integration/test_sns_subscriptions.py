"""SNS subscriptions through boto3: Subscribe for every protocol of this step (sqs
confirmed at once; http/https, email, email-json and sms pending confirmation),
subscription attributes (FilterPolicy, FilterPolicyScope, RawMessageDelivery,
RedrivePolicy, DeliveryPolicy) on Subscribe and on SetSubscriptionAttributes,
ReturnSubscriptionArn, idempotent Subscribe, Unsubscribe, ListSubscriptions(ByTopic) with
pagination, ConfirmSubscription, and SNS's errors."""

import json

import pytest
from botocore.exceptions import ClientError

from sns_helpers import (  # noqa: F401 - fixtures
    ACCOUNT,
    err,
    http_endpoint,
    http_subscribe,
    make_queue,
    make_sns_client,
    new_topic,
    sns,
    subscribe_queue,
    topic_arn,
    unique,
    wait_http,
)


def _all_subscriptions(sns, topic=None):
    out, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        r = sns.list_subscriptions_by_topic(TopicArn=topic, **kw) if topic else sns.list_subscriptions(**kw)
        out += r["Subscriptions"]
        token = r.get("NextToken")
        if not token:
            return out


# --------------------------------------------------------------------------- Subscribe


def test_sqs_subscription_is_confirmed_at_once(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    # Without ReturnSubscriptionArn a confirmed subscription's ARN is returned anyway.
    assert arn.startswith(topic + ":")
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["SubscriptionArn"] == arn
    assert a["TopicArn"] == topic
    assert a["Protocol"] == "sqs"
    assert a["Endpoint"] == qarn
    assert a["Owner"] == ACCOUNT
    assert a["PendingConfirmation"] == "false"
    assert a["ConfirmationWasAuthenticated"] == "true"
    assert a["RawMessageDelivery"] == "false"
    assert "FilterPolicy" not in a


@pytest.mark.parametrize(
    "protocol,endpoint",
    [("email", "someone@example.com"), ("email-json", "someone@example.com"), ("sms", "+15555550100")],
)
def test_pending_protocols_answer_pending_confirmation(sns, protocol, endpoint):
    topic = new_topic(sns)
    r = sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
    if protocol == "sms":
        # Accepted; whether SMS needs a confirmation is not part of this step.
        assert r["SubscriptionArn"] == "pending confirmation" or r["SubscriptionArn"].startswith(topic + ":")
        return
    assert r["SubscriptionArn"] == "pending confirmation"
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert len(subs) == 1
    assert subs[0]["SubscriptionArn"] == "PendingConfirmation"
    assert subs[0]["Protocol"] == protocol
    assert subs[0]["Endpoint"] == endpoint
    assert subs[0]["Owner"] == ACCOUNT
    assert subs[0]["TopicArn"] == topic


def test_return_subscription_arn_returns_the_arn_of_a_pending_subscription(sns):
    topic = new_topic(sns)
    r = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="x@example.com", ReturnSubscriptionArn=True)
    arn = r["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["PendingConfirmation"] == "true"
    assert a["Protocol"] == "email"


def test_subscribing_the_same_endpoint_twice_returns_the_same_subscription(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    a = subscribe_queue(sns, topic, qarn)
    b = subscribe_queue(sns, topic, qarn)
    assert a == b
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1


def test_resubscribing_with_different_attributes_is_invalid(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    subscribe_queue(sns, topic, qarn, raw=True)
    with pytest.raises(ClientError) as e:
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "false"}
        )
    assert err(e) == (
        "InvalidParameter",
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
    )


def test_subscribe_with_attributes(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    _, dlq = make_queue(sqs, "dlq")
    policy = {"eventType": ["order.created", "order.paid", "order.shipped"]}
    arn = subscribe_queue(
        sns,
        topic,
        qarn,
        raw=True,
        filter_policy=policy,
        scope="MessageAttributes",
        RedrivePolicy={"deadLetterTargetArn": dlq},
    )
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert json.loads(a["FilterPolicy"]) == policy
    assert a["FilterPolicyScope"] == "MessageAttributes"
    assert a["RawMessageDelivery"] == "true"
    assert json.loads(a["RedrivePolicy"]) == {"deadLetterTargetArn": dlq}


def test_set_subscription_attributes(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    arn = subscribe_queue(sns, topic, qarn)
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=json.dumps({"k": ["v"]})
    )
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["RawMessageDelivery"] == "true"
    assert json.loads(a["FilterPolicy"]) == {"k": ["v"]}
    assert a["FilterPolicyScope"] == "MessageBody"
    # An empty FilterPolicy removes the policy.
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue="")
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert not a.get("FilterPolicy")


def test_filter_policy_scope_defaults_to_message_attributes(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    arn = subscribe_queue(sns, topic, qarn, filter_policy={"k": ["v"]})
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["FilterPolicyScope"] == "MessageAttributes"


def test_bad_subscription_attribute_values(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    arn = subscribe_queue(sns, topic, qarn)
    cases = [
        ("NoSuchAttribute", "x", "Invalid parameter: AttributeName"),
        (
            "FilterPolicyScope",
            "RandomValue",
            "Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. "
            "Please use either MessageBody or MessageAttributes",
        ),
        ("FilterPolicy", "{invalidjson}", "Invalid parameter: FilterPolicy: failed to parse JSON."),
    ]
    for name, value, message in cases:
        with pytest.raises(ClientError) as e:
            sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=name, AttributeValue=value)
        code, msg = err(e)
        assert code == "InvalidParameter", (name, code, msg)
        assert msg.startswith(message), (name, msg)
    for name, value in (("RawMessageDelivery", "maybe"), ("RedrivePolicy", "{not json"), ("DeliveryPolicy", "[")):
        with pytest.raises(ClientError) as e:
            sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=name, AttributeValue=value)
        assert err(e)[0] == "InvalidParameter", (name, err(e))
    # Nothing was changed by the failed calls.
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["RawMessageDelivery"] == "false"
    assert "RedrivePolicy" not in a


def test_nested_filter_policy_needs_message_body_scope(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    arn = subscribe_queue(sns, topic, qarn)
    nested = json.dumps({"object": {"key": [{"prefix": "auto-"}]}})
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=nested)
    assert err(e) == (
        "InvalidParameter",
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy",
    )
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=nested)
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert json.loads(a["FilterPolicy"]) == json.loads(nested)


@pytest.mark.parametrize(
    "protocol,endpoint,message",
    [
        ("carrier-pigeon", "coop", "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"),
        ("http", "https://example.com/hook", "Invalid parameter: Endpoint must match the specified protocol"),
        ("https", "http://example.com/hook", "Invalid parameter: Endpoint must match the specified protocol"),
        ("sqs", "not-an-arn", None),
        ("email", "not-an-address", None),
        ("sms", "12", None),
    ],
)
def test_invalid_endpoints_are_refused(sns, protocol, endpoint, message):
    topic = new_topic(sns)
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
    code, msg = err(e)
    assert code == "InvalidParameter", (code, msg)
    if message:
        assert msg == message
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_fifo_queue_cannot_subscribe_to_a_standard_topic(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs, fifo=True)
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    assert err(e)[0] == "InvalidParameter"


# --------------------------------------------------------------------------- Unsubscribe


def test_unsubscribe(sns, sqs):
    topic = new_topic(sns)
    _, qarn = make_queue(sqs)
    arn = subscribe_queue(sns, topic, qarn)
    sns.unsubscribe(SubscriptionArn=arn)
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=arn)
    assert err(e) == ("NotFound", "Subscription does not exist")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true")
    assert err(e) == ("NotFound", "Subscription does not exist")
    a = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert a["SubscriptionsConfirmed"] == "0"


def test_unsubscribe_with_a_malformed_arn_is_invalid(sns):
    with pytest.raises(ClientError) as e:
        sns.unsubscribe(SubscriptionArn="garbage")
    assert err(e)[0] == "InvalidParameter"


# --------------------------------------------------------------------------- listing


def test_list_subscriptions_by_topic_shape(sns, sqs):
    topic = new_topic(sns)
    other = new_topic(sns)
    made = {}
    for _ in range(3):
        _, qarn = make_queue(sqs)
        made[subscribe_queue(sns, topic, qarn)] = qarn
    _, oq = make_queue(sqs)
    other_sub = subscribe_queue(sns, other, oq)
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert {s["SubscriptionArn"]: s["Endpoint"] for s in subs} == made
    for s in subs:
        assert s["Protocol"] == "sqs"
        assert s["TopicArn"] == topic
        assert s["Owner"] == ACCOUNT
    everything = {s["SubscriptionArn"] for s in _all_subscriptions(sns)}
    assert set(made) | {other_sub} <= everything


def test_list_subscriptions_pages_of_100(fresh_server):
    from helpers import make_client

    c = make_sns_client(fresh_server.endpoint)
    sq = make_client(fresh_server.endpoint)
    topic = new_topic(c)
    made = set()
    for i in range(120):
        _, qarn = make_queue(sq, "p%d" % i)
        made.add(subscribe_queue(c, topic, qarn))
    for lister in (
        lambda **kw: c.list_subscriptions_by_topic(TopicArn=topic, **kw),
        lambda **kw: c.list_subscriptions(**kw),
    ):
        pages, token = [], None
        while True:
            r = lister(**({"NextToken": token} if token else {}))
            pages.append([s["SubscriptionArn"] for s in r["Subscriptions"]])
            token = r.get("NextToken")
            if not token:
                break
        assert [len(p) for p in pages] == [100, 20]
        assert {a for p in pages for a in p} == made


# --------------------------------------------------------------------------- confirmation


def test_confirm_subscription_with_the_token(sns, http_endpoint):
    topic = new_topic(sns)
    r = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=http_endpoint.url("/hook"))
    assert r["SubscriptionArn"] == "pending confirmation"
    (req, conf), *_ = wait_http(http_endpoint, "SubscriptionConfirmation")
    arn = sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["PendingConfirmation"] == "false"
    assert a["Endpoint"] == http_endpoint.url("/hook")
    # Confirming again is harmless and answers the same ARN.
    assert sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"] == arn
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in subs] == [arn]


def test_confirm_subscription_with_a_wrong_token_is_invalid(sns, http_endpoint):
    topic = new_topic(sns)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=http_endpoint.url("/hook"))
    assert wait_http(http_endpoint, "SubscriptionConfirmation")
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=topic, Token="00" * 144)
    assert err(e)[0] == "InvalidParameter"
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subs[0]["SubscriptionArn"] == "PendingConfirmation"


def test_confirm_subscription_on_a_missing_topic(sns):
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=topic_arn(unique("missing")), Token="00" * 144)
    assert err(e)[0] in ("NotFound", "InvalidParameter")


def test_confirmation_by_subscribe_url(sns, http_endpoint):
    topic = new_topic(sns)
    arn, conf = http_subscribe(sns, topic, http_endpoint, confirm="url")
    assert arn.startswith(topic + ":"), arn
    a = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert a["PendingConfirmation"] == "false"
    counts = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (counts["SubscriptionsConfirmed"], counts["SubscriptionsPending"]) == ("1", "0")
