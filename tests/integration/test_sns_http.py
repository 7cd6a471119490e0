"""HTTP subscribers against a local recording endpoint: the SubscriptionConfirmation POST
(Token, SubscribeURL, signed), confirmation by GET of SubscribeURL or ConfirmSubscription,
nothing delivered before confirmation, Notification POSTs with SNS's headers and a signed
envelope that verifies with the certificate served at SigningCertURL (SignatureVersion 1,
and 2 when the topic says so), raw delivery, per-protocol messages, retries per the
subscription's DeliveryPolicy and AWS's default (3 retries), 4xx answers taken as final
(AWS counts 200-499 as delivered), a dead endpoint dead-lettered into the subscription's
RedrivePolicy queue, and a slow subscriber that delays nobody else."""

import json
import time
import urllib.parse

import pytest

from sns_helpers import (  # noqa: F401 - fixtures
    SLOW,
    ClosingEndpoint,
    fast_retry_policy,
    http_endpoint,
    http_messages,
    http_subscribe,
    make_queue,
    new_topic,
    nothing_on,
    receive,
    sns,
    subscribe_queue,
    verify_signature,
    wait_for,
    wait_http,
)
from events_helpers import HttpEndpoint


def _notifications(ep, n, timeout=10.0, path="/"):
    got = wait_http(ep, "Notification", n, timeout=timeout, prefix=path)
    assert len(got) >= n, "expected %d notifications, got %d: %s" % (n, len(got), ep.received())
    return got


# --------------------------------------------------------------------------- confirmation


def test_subscription_confirmation_post(sns, http_endpoint):
    topic = new_topic(sns)
    r = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=http_endpoint.url("/hook"))
    assert r["SubscriptionArn"] == "pending confirmation"
    ((req, body),) = wait_http(http_endpoint, "SubscriptionConfirmation")
    assert req.method == "POST"
    assert req.path == "/hook"
    assert req.headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert req.headers["x-amz-sns-message-id"] == body["MessageId"]
    assert req.headers["x-amz-sns-topic-arn"] == topic
    assert req.headers["content-type"].lower().startswith("text/plain")
    assert body["Type"] == "SubscriptionConfirmation"
    assert body["TopicArn"] == topic
    assert body["Token"]
    assert topic in body["Message"]
    su = urllib.parse.urlsplit(body["SubscribeURL"])
    q = dict(urllib.parse.parse_qsl(su.query))
    assert q["Action"] == "ConfirmSubscription"
    assert q["TopicArn"] == topic
    assert q["Token"] == body["Token"]
    assert body["SignatureVersion"] == "1"
    verify_signature(body)


def test_nothing_is_delivered_before_confirmation(sns, http_endpoint):
    topic = new_topic(sns)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=http_endpoint.url("/hook"))
    assert wait_http(http_endpoint, "SubscriptionConfirmation")
    sns.publish(TopicArn=topic, Message="too early")
    time.sleep(0.7 * SLOW)
    assert http_messages(http_endpoint, "Notification") == []
    # Confirmed: later messages arrive; the early one was never owed to it.
    (_, conf), = http_messages(http_endpoint, "SubscriptionConfirmation")
    sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])
    sns.publish(TopicArn=topic, Message="in time")
    got = _notifications(http_endpoint, 1)
    time.sleep(0.3 * SLOW)
    assert [b["Message"] for _, b in http_messages(http_endpoint, "Notification")] == ["in time"]
    assert got


# --------------------------------------------------------------------------- notifications


@pytest.mark.parametrize("confirm", ["url", "api"])
def test_notification_post_is_signed_with_sns_headers(sns, http_endpoint, confirm):
    topic = new_topic(sns)
    sub, _ = http_subscribe(sns, topic, http_endpoint, path="/orders", confirm=confirm)
    assert sub.startswith(topic + ":")
    mid = sns.publish(
        TopicArn=topic,
        Message=json.dumps({"orderId": "ord_67890"}),
        Subject="Order created",
        MessageAttributes={"eventType": {"DataType": "String", "StringValue": "order.created"}},
    )["MessageId"]
    ((req, env),) = _notifications(http_endpoint, 1)
    assert req.method == "POST" and req.path == "/orders"
    assert req.headers["x-amz-sns-message-type"] == "Notification"
    assert req.headers["x-amz-sns-message-id"] == mid
    assert req.headers["x-amz-sns-topic-arn"] == topic
    assert req.headers["x-amz-sns-subscription-arn"] == sub
    assert req.headers["content-type"] == "text/plain; charset=UTF-8"
    assert env["Type"] == "Notification"
    assert env["MessageId"] == mid
    assert env["TopicArn"] == topic
    assert env["Subject"] == "Order created"
    assert env["Message"] == json.dumps({"orderId": "ord_67890"})
    assert env["MessageAttributes"] == {"eventType": {"Type": "String", "Value": "order.created"}}
    assert env["SignatureVersion"] == "1"
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(env["UnsubscribeURL"]).query))
    assert (q.get("Action"), q.get("SubscriptionArn")) == ("Unsubscribe", sub), env["UnsubscribeURL"]
    verify_signature(env)


def test_signature_version_2(sns, http_endpoint):
    topic = new_topic(sns, SignatureVersion="2")
    _, conf = http_subscribe(sns, topic, http_endpoint)
    assert conf["SignatureVersion"] == "2"
    verify_signature(conf)
    sns.publish(TopicArn=topic, Message="sha256 please")
    ((_, env),) = _notifications(http_endpoint, 1)
    assert env["SignatureVersion"] == "2"
    verify_signature(env)
    bad = dict(env, Message="sha256 please!")
    with pytest.raises(AssertionError):
        verify_signature(bad)


def test_raw_delivery_to_http(sns, http_endpoint):
    topic = new_topic(sns)
    sub, _ = http_subscribe(sns, topic, http_endpoint, path="/raw")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.publish(TopicArn=topic, Message='{"raw": true}')
    deadline = time.monotonic() + 10 * SLOW
    posts = []
    while time.monotonic() < deadline and not posts:
        posts = [r for r in http_endpoint.received("/raw") if r.headers.get("x-amz-sns-message-type") == "Notification"]
        time.sleep(0.05)
    assert posts, http_endpoint.received()
    assert posts[0].body == b'{"raw": true}'


def test_message_structure_json_per_protocol(sns, sqs, http_endpoint):
    topic = new_topic(sns)
    http_subscribe(sns, topic, http_endpoint)
    url, qarn = make_queue(sqs)
    subscribe_queue(sns, topic, qarn)
    body = {"default": "default text", "http": "http text", "https": "https text", "sqs": "sqs text"}
    sns.publish(TopicArn=topic, Message=json.dumps(body), MessageStructure="json")
    ((_, env),) = _notifications(http_endpoint, 1)
    assert env["Message"] == "http text"
    verify_signature(env)
    (m,) = receive(sqs, url, 1)
    assert json.loads(m["Body"])["Message"] == "sqs text"


def test_filter_policy_on_http_subscription(sns, http_endpoint):
    topic = new_topic(sns)
    http_subscribe(sns, topic, http_endpoint, FilterPolicy={"eventType": [{"prefix": "order."}]})
    for ev in ("payment.processed", "order.created"):
        sns.publish(TopicArn=topic, Message=ev, MessageAttributes={"eventType": {"DataType": "String", "StringValue": ev}})
    _notifications(http_endpoint, 1)
    time.sleep(0.5 * SLOW)
    assert [b["Message"] for _, b in http_messages(http_endpoint, "Notification")] == ["order.created"]


def test_unsubscribed_endpoint_gets_nothing_more(sns, http_endpoint):
    topic = new_topic(sns)
    sub, _ = http_subscribe(sns, topic, http_endpoint)
    sns.publish(TopicArn=topic, Message="one")
    _notifications(http_endpoint, 1)
    sns.unsubscribe(SubscriptionArn=sub)
    sns.publish(TopicArn=topic, Message="two")
    time.sleep(0.7 * SLOW)
    assert [b["Message"] for _, b in http_messages(http_endpoint, "Notification")] == ["one"]


# --------------------------------------------------------------------------- retries, DLQ


@pytest.mark.sluice_timeout(60)
def test_fails_twice_then_succeeds_with_a_delivery_policy(sns, sqs, http_endpoint):
    topic = new_topic(sns)
    _, dlq = make_queue(sqs, "dlq")
    dlq_url = sqs.get_queue_url(QueueName=dlq.rsplit(":", 1)[1])["QueueUrl"]
    sub, _ = http_subscribe(
        sns,
        topic,
        http_endpoint,
        path="/flaky",
        DeliveryPolicy=fast_retry_policy(retries=3, delay=1),
        RedrivePolicy={"deadLetterTargetArn": dlq},
    )
    http_endpoint.script("/flaky", 500, 503)
    mid = sns.publish(TopicArn=topic, Message="eventually")["MessageId"]
    got = _notifications(http_endpoint, 3, timeout=20, path="/flaky")
    assert [b["MessageId"] for _, b in got] == [mid] * 3
    for _, b in got:
        verify_signature(b)
    # Retries are spaced by the policy's delay (1 s), not sent back to back.
    gaps = [b[0].t - a[0].t for a, b in zip(got, got[1:])]
    assert all(g >= 0.5 for g in gaps), gaps
    time.sleep(1.5 * SLOW)
    assert len(http_messages(http_endpoint, "Notification")) == 3  # success ends the retries
    nothing_on(sqs, dlq_url, wait=0.5)
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"


@pytest.mark.sluice_timeout(120)
def test_default_policy_retries(sns, http_endpoint):
    """Without a DeliveryPolicy, AWS's default for HTTP/S applies (3 retries, 20 s apart on
    AWS): a failed first attempt is retried and the retry succeeds."""
    topic = new_topic(sns)
    http_subscribe(sns, topic, http_endpoint, path="/default")
    http_endpoint.script("/default", 500)
    mid = sns.publish(TopicArn=topic, Message="retry me")["MessageId"]
    got = _notifications(http_endpoint, 2, timeout=30, path="/default")
    assert [b["MessageId"] for _, b in got[:2]] == [mid, mid]
    time.sleep(1.0 * SLOW)
    assert len(http_messages(http_endpoint, "Notification")) == 2


@pytest.mark.sluice_timeout(60)
def test_dead_endpoint_is_dead_lettered(sns, sqs, http_endpoint):
    topic = new_topic(sns)
    dlq_url, dlq = make_queue(sqs, "dlq")
    sub, _ = http_subscribe(
        sns,
        topic,
        http_endpoint,
        path="/dead",
        DeliveryPolicy=fast_retry_policy(retries=2, delay=1),
        RedrivePolicy={"deadLetterTargetArn": dlq},
    )
    http_endpoint.always(500)
    mid = sns.publish(
        TopicArn=topic,
        Message="never delivered",
        MessageAttributes={"eventType": {"DataType": "String", "StringValue": "order.created"}},
    )["MessageId"]
    msgs = receive(sqs, dlq_url, 1, timeout=20)
    assert msgs, "nothing dead-lettered; endpoint saw %s" % http_endpoint.received()
    (m,) = msgs
    body = m["Body"]
    try:
        env = json.loads(body)
    except ValueError:
        env = None
    # The DLQ gets the message as it would have been delivered (the envelope here).
    assert env and env.get("Message") == "never delivered" and env.get("MessageId") == mid, body
    attempts = http_messages(http_endpoint, "Notification", prefix="/dead")
    assert len(attempts) == 3, [r for r, _ in attempts]  # the first attempt and 2 retries
    time.sleep(1.5 * SLOW)
    assert len(http_messages(http_endpoint, "Notification", prefix="/dead")) == 3
    nothing_on(sqs, dlq_url, wait=0.3)
    assert sub


@pytest.mark.sluice_timeout(60)
def test_unreachable_endpoint_is_dead_lettered(sns, sqs):
    """A subscriber that stops listening after confirming: connection refused counts as a
    failure, retried, then dead-lettered."""
    ep = ClosingEndpoint().start()
    topic = new_topic(sns)
    dlq_url, dlq = make_queue(sqs, "dlq")
    http_subscribe(
        sns,
        topic,
        ep,
        DeliveryPolicy=fast_retry_policy(retries=1, delay=1),
        RedrivePolicy={"deadLetterTargetArn": dlq},
    )
    ep.stop()
    sns.publish(TopicArn=topic, Message="nobody home")
    msgs = receive(sqs, dlq_url, 1, timeout=20)
    assert len(msgs) == 1
    assert json.loads(msgs[0]["Body"])["Message"] == "nobody home"


def test_client_error_is_not_retried(sns, http_endpoint):
    """AWS counts 200-499 answers as delivered: a 404 is not retried."""
    topic = new_topic(sns)
    http_subscribe(sns, topic, http_endpoint, path="/gone", DeliveryPolicy=fast_retry_policy(retries=3, delay=1))
    http_endpoint.script("/gone", 404, 404, 404, 404)
    sns.publish(TopicArn=topic, Message="404")
    _notifications(http_endpoint, 1, path="/gone")
    time.sleep(2.5 * SLOW)
    assert len(http_messages(http_endpoint, "Notification", prefix="/gone")) == 1


@pytest.mark.sluice_timeout(60)
def test_slow_subscriber_delays_nobody(sns, sqs):
    slow = HttpEndpoint().start()
    fast = HttpEndpoint().start()
    try:
        topic = new_topic(sns)
        http_subscribe(sns, topic, slow, path="/slow")
        http_subscribe(sns, topic, fast, path="/fast")
        url, qarn = make_queue(sqs)
        subscribe_queue(sns, topic, qarn)
        slow.always(200, delay=4)
        t0 = time.monotonic()
        for i in range(3):
            sns.publish(TopicArn=topic, Message="m%d" % i)
        publish_s = time.monotonic() - t0
        assert publish_s < 1.5 * SLOW, "Publish waited for the slow subscriber (%.2fs)" % publish_s
        got = wait_http(fast, "Notification", 3, timeout=3, prefix="/fast")
        fast_s = time.monotonic() - t0
        assert len(got) == 3 and fast_s < 3 * SLOW, "fast subscriber got %d in %.2fs" % (len(got), fast_s)
        assert len(receive(sqs, url, 3, timeout=2)) == 3
    finally:
        slow.stop()
        fast.stop()


def test_subscriptions_on_one_topic_confirm_independently(sns):
    a = HttpEndpoint().start()
    b = HttpEndpoint().start()
    try:
        topic = new_topic(sns)
        sub_a, _ = http_subscribe(sns, topic, a, confirm="url")
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=b.url("/sns"))
        assert wait_http(b, "SubscriptionConfirmation")
        subs = {s["Endpoint"]: s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
        assert subs[a.url("/sns")] == sub_a
        assert subs[b.url("/sns")] == "PendingConfirmation"
        sns.publish(TopicArn=topic, Message="only a")
        assert wait_for(lambda: http_messages(a, "Notification"))
        time.sleep(0.3 * SLOW)
        assert http_messages(b, "Notification") == []
    finally:
        a.stop()
        b.stop()
