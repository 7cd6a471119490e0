"""Subscription filter policies end to end: a topic, a queue subscribed with the policy
(raw delivery, so the body is the published message) and the messages that must and must
not reach it. Every operator SNS documents, on message attributes (FilterPolicyScope
MessageAttributes, the default) and on the message body (MessageBody): exact strings and
numbers, prefix, suffix, equals-ignore-case, anything-but (list, prefix), numeric ranges,
exists, cidr, $or, AND across keys, OR within a key, String.Array attributes,
nested body keys. Invalid policies are refused with SNS's InvalidParameter messages."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from sns_helpers import (  # noqa: F401 - fixtures
    SLOW,
    err,
    make_queue,
    new_topic,
    notifications,
    receive,
    sns,
    subscribe_queue,
)


def _collect(sqs, url, expected, timeout=6.0, linger=0.4):
    """Markers that reached the queue: waits for all expected, then lingers for extras."""
    got = []
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline and not set(expected) <= set(got):
        got += [m["Body"] for m in receive(sqs, url, 10, timeout=0.5)]
    got += [m["Body"] for m in receive(sqs, url, 10, timeout=linger)]
    return got


def _check_attributes(sns, sqs, policy, cases):
    """cases: [(message attributes as {name: value}, should_match)]. A value is a str
    (String), int/float (Number), list (String.Array), or (DataType, value)."""
    topic = new_topic(sns, "filter")
    url, qarn = make_queue(sqs, "filtered")
    subscribe_queue(sns, topic, qarn, raw=True, filter_policy=policy)
    expected = []
    for i, (attrs, should) in enumerate(cases):
        marker = "case-%d" % i
        ma = {}
        for k, v in attrs.items():
            if isinstance(v, tuple):
                ma[k] = {"DataType": v[0], "StringValue": v[1]}
            elif isinstance(v, bool) or isinstance(v, str):
                ma[k] = {"DataType": "String", "StringValue": str(v)}
            elif isinstance(v, (int, float)):
                ma[k] = {"DataType": "Number", "StringValue": repr(v)}
            elif isinstance(v, list):
                ma[k] = {"DataType": "String.Array", "StringValue": json.dumps(v)}
        kw = {"MessageAttributes": ma} if ma else {}
        sns.publish(TopicArn=topic, Message=marker, **kw)
        if should:
            expected.append(marker)
    got = _collect(sqs, url, expected)
    wrong = {
        "missing": [(m, cases[int(m.split("-")[1])][0]) for m in expected if m not in got],
        "unexpected": [(m, cases[int(m.split("-")[1])][0]) for m in got if m not in expected],
        "duplicated": [m for m in set(got) if got.count(m) > 1],
    }
    assert not any(wrong.values()), "policy %s: %s" % (json.dumps(policy), wrong)


def _check_body(sns, sqs, policy, cases):
    """cases: [(message body: a dict (sent as JSON) or a str, should_match)]."""
    topic = new_topic(sns, "filter")
    url, qarn = make_queue(sqs, "filtered")
    subscribe_queue(sns, topic, qarn, raw=True, filter_policy=policy, scope="MessageBody")
    expected, bodies = [], []
    for body, should in cases:
        text = json.dumps(body) if isinstance(body, dict) else body
        sns.publish(TopicArn=topic, Message=text)
        bodies.append(text)
        if should:
            expected.append(text)
    got = _collect(sqs, url, expected)
    missing = [b for b in expected if b not in got]
    unexpected = [b for b in got if b not in expected]
    assert not missing and not unexpected, "policy %s: missing %s, unexpected %s" % (
        json.dumps(policy),
        missing,
        unexpected,
    )


# --------------------------------------------------------------------------- attributes


def test_seed_003_event_type_filter(sns, sqs):
    """Seed 003's order_events subscription: eventType in a list of order events."""
    _check_attributes(
        sns,
        sqs,
        {"eventType": ["order.created", "order.paid", "order.shipped"]},
        [
            ({"eventType": "order.created", "correlationId": "c1"}, True),
            ({"eventType": "order.paid"}, True),
            ({"eventType": "order.shipped"}, True),
            ({"eventType": "order.cancelled"}, False),
            ({"eventType": "ORDER.CREATED"}, False),
            ({"eventType": "payment.processed"}, False),
            ({"correlationId": "c1"}, False),
            ({}, False),
        ],
    )


def test_exact_string_and_and_across_keys(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"store": ["example_corp"], "event": ["order_placed"]},
        [
            ({"store": "example_corp", "event": "order_placed"}, True),
            ({"store": "example_corp", "event": "order_placed", "extra": "x"}, True),
            ({"store": "example_corp"}, False),
            ({"event": "order_placed"}, False),
            ({"store": "other_corp", "event": "order_placed"}, False),
        ],
    )


def test_exact_numbers(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"price_usd": [301.5, 10]},
        [
            ({"price_usd": 301.5}, True),
            ({"price_usd": ("Number", "301.50")}, True),
            ({"price_usd": 10}, True),
            ({"price_usd": ("Number", "10.0")}, True),
            ({"price_usd": 301}, False),
            ({"price_usd": "301.5"}, False),  # a String attribute is not a number
        ],
    )


def test_numeric_ranges(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"price_usd": [{"numeric": [">", 0, "<=", 150]}]},
        [
            ({"price_usd": 100}, True),
            ({"price_usd": 150}, True),
            ({"price_usd": 0.001}, True),
            ({"price_usd": 0}, False),
            ({"price_usd": 150.01}, False),
            ({"price_usd": -5}, False),
            ({"price_usd": "100"}, False),
            ({}, False),
        ],
    )


def test_numeric_equals_and_single_bounds(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"a": [{"numeric": ["=", 300]}], "b": [{"numeric": [">=", 1000]}], "c": [{"numeric": ["<", 0]}]},
        [
            ({"a": 300, "b": 1000, "c": -1}, True),
            ({"a": ("Number", "300.000"), "b": 1e6, "c": -0.5}, True),
            ({"a": 301, "b": 1000, "c": -1}, False),
            ({"a": 300, "b": 999.9, "c": -1}, False),
            ({"a": 300, "b": 1000, "c": 0}, False),
        ],
    )


def test_prefix_and_suffix(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"event": [{"prefix": "order-"}], "file": [{"suffix": ".png"}]},
        [
            ({"event": "order-placed", "file": "a.png"}, True),
            ({"event": "order-", "file": ".png"}, True),
            ({"event": "Order-placed", "file": "a.png"}, False),
            ({"event": "order-placed", "file": "a.PNG"}, False),
            ({"event": "reorder-placed", "file": "a.png"}, False),
        ],
    )


def test_equals_ignore_case(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"customer": [{"equals-ignore-case": "ExAmPlE_CoRp"}]},
        [
            ({"customer": "example_corp"}, True),
            ({"customer": "EXAMPLE_CORP"}, True),
            ({"customer": "example_corp2"}, False),
            ({"customer": "example"}, False),
        ],
    )


def test_anything_but(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"event": [{"anything-but": ["order_cancelled", "order_failed"]}], "store": ["s"]},
        [
            ({"event": "order_placed", "store": "s"}, True),
            ({"event": "anything", "store": "s"}, True),
            ({"event": "order_cancelled", "store": "s"}, False),
            ({"event": "order_failed", "store": "s"}, False),
        ],
    )


def test_anything_but_single_value_number_and_prefix(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"price": [{"anything-but": 100}], "event": [{"anything-but": {"prefix": "order-"}}]},
        [
            ({"price": 99, "event": "payment-done"}, True),
            ({"price": 100, "event": "payment-done"}, False),
            ({"price": 99, "event": "order-placed"}, False),
            ({"price": 101, "event": "orde"}, True),
        ],
    )


def test_exists(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"store": [{"exists": True}], "coupon": [{"exists": False}]},
        [
            ({"store": "a"}, True),
            ({"store": 12}, True),
            ({"store": "a", "coupon": "x"}, False),
            ({"coupon": "x"}, False),
            ({}, False),
        ],
    )


def test_cidr(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"source_ip": [{"cidr": "10.0.0.0/24"}, {"cidr": "192.168.1.0/31"}]},
        [
            ({"source_ip": "10.0.0.5"}, True),
            ({"source_ip": "10.0.0.255"}, True),
            ({"source_ip": "10.0.1.5"}, False),
            ({"source_ip": "11.0.0.5"}, False),
            ({"source_ip": "192.168.1.1"}, True),
            ({"source_ip": "192.168.1.2"}, False),
            ({"source_ip": "192.168.1.0"}, True),
            ({"source_ip": "not-an-ip"}, False),
        ],
    )


def test_or_across_keys(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
        [
            ({"source": "aws.cloudwatch", "metricName": "CPUUtilization"}, True),
            ({"source": "aws.cloudwatch", "namespace": "AWS/EC2"}, True),
            ({"source": "aws.cloudwatch", "metricName": "CPUUtilization", "namespace": "AWS/EC2"}, True),
            ({"source": "aws.cloudwatch", "metricName": "DiskReads"}, False),
            ({"metricName": "CPUUtilization"}, False),
        ],
    )


def test_string_array_attribute_matches_any_element(sns, sqs):
    _check_attributes(
        sns,
        sqs,
        {"customer_interests": ["rugby", "football", "baseball"]},
        [
            ({"customer_interests": ["soccer", "rugby", "hockey"]}, True),
            ({"customer_interests": ["baseball"]}, True),
            ({"customer_interests": ["soccer", "hockey"]}, False),
            ({"customer_interests": []}, False),
        ],
    )


def test_several_subscriptions_each_get_their_matches(sns, sqs):
    """Fan-out with different policies on one topic: each queue gets exactly its matches."""
    topic = new_topic(sns, "fan")
    policies = {
        "orders": {"eventType": [{"prefix": "order."}]},
        "payments": {"eventType": [{"prefix": "payment."}]},
        "failures": {"eventType": [{"suffix": ".failed"}]},
        "all": None,
    }
    queues = {}
    for name, policy in policies.items():
        url, qarn = make_queue(sqs, name)
        subscribe_queue(sns, topic, qarn, raw=True, filter_policy=policy)
        queues[name] = url
    events = ["order.created", "order.failed", "payment.processed", "payment.failed", "user.registered"]
    for ev in events:
        sns.publish(TopicArn=topic, Message=ev, MessageAttributes={"eventType": {"DataType": "String", "StringValue": ev}})
    want = {
        "orders": {"order.created", "order.failed"},
        "payments": {"payment.processed", "payment.failed"},
        "failures": {"order.failed", "payment.failed"},
        "all": set(events),
    }
    for name, url in queues.items():
        got = _collect(sqs, url, want[name])
        assert sorted(got) == sorted(want[name]), name


def test_policy_changes_apply_to_later_publishes(sns, sqs):
    topic = new_topic(sns, "change")
    url, qarn = make_queue(sqs)
    sub = subscribe_queue(sns, topic, qarn, raw=True, filter_policy={"k": ["a"]})

    def pub(v):
        sns.publish(TopicArn=topic, Message=v, MessageAttributes={"k": {"DataType": "String", "StringValue": v}})

    pub("a")
    pub("b")
    assert _collect(sqs, url, ["a"]) == ["a"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"k": ["b"]}')
    pub("a")
    pub("b")
    assert _collect(sqs, url, ["b"]) == ["b"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="")
    pub("a")
    pub("b")
    assert sorted(_collect(sqs, url, ["a", "b"])) == ["a", "b"]


# --------------------------------------------------------------------------- body


def test_body_exact_and_nested(sns, sqs):
    _check_body(
        sns,
        sqs,
        {"type": ["order.created"], "data": {"status": ["paid", "shipped"]}},
        [
            ({"type": "order.created", "data": {"status": "paid", "id": 1}}, True),
            ({"type": "order.created", "data": {"status": "shipped"}}, True),
            ({"type": "order.created", "data": {"status": "open"}}, False),
            ({"type": "order.created", "status": "paid"}, False),
            ({"type": "order.updated", "data": {"status": "paid"}}, False),
        ],
    )


def test_body_arrays_match_any_element(sns, sqs):
    _check_body(
        sns,
        sqs,
        {"items": {"sku": ["A-1"]}},
        [
            ({"items": [{"sku": "B-2"}, {"sku": "A-1"}]}, True),
            ({"items": [{"sku": "B-2"}]}, False),
            ({"tags": ["A-1"]}, False),
        ],
    )


def test_body_operators(sns, sqs):
    _check_body(
        sns,
        sqs,
        {
            "total": [{"numeric": [">=", 50, "<", 100]}],
            "customer": {"email": [{"suffix": "@example.com"}]},
            "coupon": [{"exists": False}],
            "channel": [{"anything-but": ["test"]}],
        },
        [
            ({"total": 59.98, "customer": {"email": "a@example.com"}, "channel": "web"}, True),
            ({"total": 50, "customer": {"email": "b@example.com"}, "channel": "app"}, True),
            ({"total": 100, "customer": {"email": "a@example.com"}, "channel": "web"}, False),
            ({"total": 59.98, "customer": {"email": "a@example.org"}, "channel": "web"}, False),
            ({"total": 59.98, "customer": {"email": "a@example.com"}, "channel": "test"}, False),
            ({"total": 59.98, "customer": {"email": "a@example.com"}, "channel": "web", "coupon": "X"}, False),
            ({"total": "59.98", "customer": {"email": "a@example.com"}, "channel": "web"}, False),
        ],
    )


def test_body_or_and_prefix_ignore_case_cidr(sns, sqs):
    _check_body(
        sns,
        sqs,
        {
            "$or": [
                {"source": [{"prefix": "order-"}]},
                {"region": [{"equals-ignore-case": "EU-WEST-1"}]},
                {"ip": [{"cidr": "192.168.0.0/16"}]},
            ]
        },
        [
            ({"source": "order-service"}, True),
            ({"region": "eu-west-1"}, True),
            ({"ip": "192.168.10.20"}, True),
            ({"source": "payment-service", "region": "us-east-1", "ip": "10.1.1.1"}, False),
        ],
    )


def test_body_that_is_not_json_does_not_match(sns, sqs):
    _check_body(
        sns,
        sqs,
        {"type": ["order.created"]},
        [
            ("type=order.created", False),
            ('{"type": "order.created"', False),
            ({"type": "order.created"}, True),
        ],
    )


def test_attribute_policy_ignores_the_body_and_body_policy_ignores_attributes(sns, sqs):
    topic = new_topic(sns, "scope")
    a_url, a_arn = make_queue(sqs, "attrs")
    b_url, b_arn = make_queue(sqs, "body")
    subscribe_queue(sns, topic, a_arn, raw=True, filter_policy={"k": ["v"]})
    subscribe_queue(sns, topic, b_arn, raw=True, filter_policy={"k": ["v"]}, scope="MessageBody")
    in_body = json.dumps({"k": "v", "n": 1})
    in_attrs = json.dumps({"k": "other", "n": 2})
    sns.publish(TopicArn=topic, Message=in_body)
    sns.publish(TopicArn=topic, Message=in_attrs, MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    assert _collect(sqs, a_url, [in_attrs]) == [in_attrs]
    assert _collect(sqs, b_url, [in_body]) == [in_body]


def test_envelope_subscription_with_filter_keeps_the_envelope(sns, sqs):
    topic = new_topic(sns, "env")
    url, qarn = make_queue(sqs)
    subscribe_queue(sns, topic, qarn, filter_policy={"eventType": ["order.created"]})
    sns.publish(TopicArn=topic, Message="no", MessageAttributes={"eventType": {"DataType": "String", "StringValue": "x"}})
    sns.publish(
        TopicArn=topic,
        Message="yes",
        MessageAttributes={"eventType": {"DataType": "String", "StringValue": "order.created"}},
    )
    envs = notifications(sqs, url, 1)
    assert [e["Message"] for e in envs] == ["yes"]
    assert envs[0]["MessageAttributes"]["eventType"] == {"Type": "String", "Value": "order.created"}


# --------------------------------------------------------------------------- invalid policies

INVALID = [
    ({"key": [["value"]]}, "Match value must be String, number, true, false, or null"),
    ({"key": [{"wrong-operator": True}]}, "Unrecognized match type wrong-operator"),
    ({"key": [{"suffix": "value", "prefix": "value2"}]}, "Only one key allowed in match expression"),
    ({"key": [{"suffix": 100}]}, "suffix match pattern must be a string"),
    ({"key": [{"prefix": None}]}, "prefix match pattern must be a string"),
    ({"key": {"suffix": "value"}}, '"suffix" must be an object or an array'),
    ({"key": "value"}, '"key" must be an object or an array'),
    ({"key": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    ({"key": [{"numeric": ["operator"]}]}, "Unrecognized numeric range operator: operator"),
    ({"key": [{"numeric": [">", 3, "<", 1]}]}, "Bottom must be less than top"),
    ({"key": [{"numeric": [">=", 1, ">", 2]}]}, "Bad numeric range operator: >"),
    ({"key": [{"numeric": [">", "20", "<", "30"]}]}, "Value of > must be numeric"),
    ({"key": [{"numeric": [">", 20, "<", 30, "<", 50]}]}, "Too many terms in numeric range expression"),
    ({"key": [{"exists": "no"}]}, "exists match pattern must be either true or false."),
    ({"a": [1], "b": [1], "c": [1], "d": [1], "e": [1], "f": [1]}, "Filter policy can not have more than 5 keys"),
    (
        {"a": list(range(10)), "b": list(range(10)), "c": list(range(10))},
        "Filter policy is too complex",
    ),
]


@pytest.mark.parametrize("policy,reason", INVALID, ids=[r for _, r in INVALID])
def test_invalid_policy_on_set_subscription_attributes(sns, sqs, policy, reason):
    topic = new_topic(sns, "bad")
    _, qarn = make_queue(sqs)
    sub = subscribe_queue(sns, topic, qarn)
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy))
    code, msg = err(e)
    assert code == "InvalidParameter"
    assert msg.startswith("Invalid parameter: FilterPolicy: " + reason), msg
    assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]


@pytest.mark.parametrize("policy,reason", INVALID[:4] + INVALID[-2:], ids=[r for _, r in INVALID[:4] + INVALID[-2:]])
def test_invalid_policy_on_subscribe(sns, sqs, policy, reason):
    topic = new_topic(sns, "bad")
    _, qarn = make_queue(sqs)
    with pytest.raises(ClientError) as e:
        subscribe_queue(sns, topic, qarn, filter_policy=policy)
    code, msg = err(e)
    assert code == "InvalidParameter"
    assert msg.startswith("Invalid parameter: Attributes Reason: FilterPolicy: " + reason), msg
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_policy_that_is_not_json(sns, sqs):
    topic = new_topic(sns, "bad")
    _, qarn = make_queue(sqs)
    sub = subscribe_queue(sns, topic, qarn)
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="{invalidjson}")
    assert err(e)[0] == "InvalidParameter"
    assert err(e)[1].startswith("Invalid parameter: FilterPolicy: failed to parse JSON.")


def test_five_keys_and_150_combinations_are_allowed(sns, sqs):
    topic = new_topic(sns, "limits")
    _, qarn = make_queue(sqs)
    sub = subscribe_queue(sns, topic, qarn, filter_policy={"a": [1], "b": [1], "c": [1], "d": [1], "e": [1]})
    ok = {"a": list(range(10)), "b": list(range(15))}  # 150 combinations
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(ok))
    got = json.loads(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["FilterPolicy"])
    assert got == ok
