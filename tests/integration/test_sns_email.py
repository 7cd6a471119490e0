"""SNS email and email-json subscriptions, delivered to a real SMTP server on loopback
(Debian's aiosmtpd, see smtp_sink.py).

The confirmation mail and its link (nothing else is mailed before), notifications with the
topic's DisplayName as sender, the Publish Subject and an unsubscribe link that works, the
signed JSON envelope of email-json, per-protocol messages and filter policies, a temporary
SMTP failure retried until delivered, and a permanent one dead-lettered into the
subscription's RedrivePolicy queue. The mail log (/_sluice/ses/messages) records each mail."""

import json
import re
import urllib.parse
import urllib.request

import pytest

from helpers import make_client, unique
from smtp_sink import mail_server, smtp_sink  # noqa: F401 - fixtures
from sns_helpers import make_queue, make_sns_client, new_topic, receive, verify_signature, wait_for


@pytest.fixture(scope="module")
def sns(mail_server):
    return make_sns_client(mail_server.endpoint)


@pytest.fixture(scope="module")
def sqs(mail_server):
    return make_client(mail_server.endpoint)


def address(prefix="reader"):
    return "%s@example.test" % unique(prefix).lower()


def text_of(received):
    """The text part, with its line ends as LF."""
    return received.parts()["text/plain"].replace("\r\n", "\n")


def subscribe_url(received):
    m = re.search(r"(http://\S+Action=ConfirmSubscription\S+)", text_of(received))
    assert m, "no SubscribeURL in %r" % text_of(received)
    return m.group(1)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def mail_log(server, to):
    with urllib.request.urlopen(server.endpoint + "/_sluice/ses/messages", timeout=10) as r:
        doc = json.loads(r.read())
    return [m for m in doc["messages"] if to in m["Destination"]["ToAddresses"]]


def subscribe_email(sns, smtp_sink, topic, protocol="email", to=None, **attrs):
    """Subscribes, confirms by the mailed link; returns (subscription ARN, address)."""
    to = to or address()
    kw = {"TopicArn": topic, "Protocol": protocol, "Endpoint": to}
    if attrs:
        kw["Attributes"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in attrs.items()}
    assert sns.subscribe(**kw)["SubscriptionArn"] == "pending confirmation"
    (conf,) = smtp_sink.wait_for(to)
    if protocol == "email-json":
        url = json.loads(text_of(conf))["SubscribeURL"]
    else:
        url = subscribe_url(conf)
    status, body = get(url)
    assert status == 200
    arn = re.search(r"<SubscriptionArn>([^<]+)</SubscriptionArn>", body).group(1)
    return arn, to


# --------------------------------------------------------------------------- email


def test_confirmation_mail_then_notifications(sns, smtp_sink, mail_server):
    topic = new_topic(sns, DisplayName="Order Desk")
    to = address()
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=to)["SubscriptionArn"] == "pending confirmation"
    (conf,) = smtp_sink.wait_for(to)
    assert conf.header("Subject") == "AWS Notification - Subscription Confirmation"
    assert conf.header("From") == "Order Desk <no-reply@sns.sluice.local>"
    assert conf.rcpt_tos == [to]
    assert topic in text_of(conf)
    url = subscribe_url(conf)
    assert url.startswith(mail_server.endpoint + "/?Action=ConfirmSubscription&TopicArn=")

    # Pending: a publish mails nothing.
    sns.publish(TopicArn=topic, Message="too early")
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in subs] == ["PendingConfirmation"]

    status, body = get(url)
    assert status == 200 and "ConfirmSubscriptionResponse" in body
    arn = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    assert arn.startswith(topic + ":")

    r = sns.publish(TopicArn=topic, Message="Order 42 has shipped.\nThanks!", Subject="Shipped: 42")
    mails = smtp_sink.wait_for(to, n=2)
    assert len(mails) == 2, "the early publish must not have been mailed"
    note = mails[1]
    assert note.header("Subject") == "Shipped: 42"
    assert note.header("From") == "Order Desk <no-reply@sns.sluice.local>"
    text = text_of(note)
    assert text.startswith("Order 42 has shipped.\nThanks!\n")
    unsub = re.search(r"(http://\S+Action=Unsubscribe\S+)", text).group(1)
    assert note.header("List-Unsubscribe") == "<%s>" % unsub

    logged = wait_for(lambda: [m for m in mail_log(mail_server, to) if m["Id"] == r["MessageId"]])
    assert logged[0]["Subject"] == "Shipped: 42"
    assert logged[0]["SubscriptionArn"] == arn
    assert logged[0]["Body"]["text_part"].rstrip("\n") == text.rstrip("\n")

    # The link in the mail unsubscribes.
    status, _ = get(unsub)
    assert status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_default_subject_per_protocol_message_and_filter_policy(sns, smtp_sink):
    topic = new_topic(sns)
    _, to = subscribe_email(sns, smtp_sink, topic, FilterPolicy={"kind": ["mail"]})
    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "email": "just for mail"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "mail"}},
    )
    sns.publish(
        TopicArn=topic,
        Message="filtered out",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "sms"}},
    )
    mails = smtp_sink.wait_for(to, n=2)  # the confirmation and one notification
    assert mails[1].header("Subject") == "AWS Notification Message"
    assert text_of(mails[1]).startswith("just for mail\n")
    wait_for(lambda: False, timeout=0.5)
    assert len(smtp_sink.messages(to)) == 2


def test_utf8_subject_and_message(sns, smtp_sink):
    topic = new_topic(sns)
    _, to = subscribe_email(sns, smtp_sink, topic)
    sns.publish(TopicArn=topic, Message="Grüße aus Köln \u2014 \u2713", Subject="Bestellung bestätigt")
    mail = smtp_sink.wait_for(to, n=2)[1]
    assert mail.header("Subject") == "Bestellung bestätigt"
    assert text_of(mail).startswith("Grüße aus Köln \u2014 \u2713\n")


# --------------------------------------------------------------------------- email-json


def test_email_json_gets_signed_envelopes(sns, smtp_sink):
    topic = new_topic(sns)
    to = address()
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=to)
    (conf,) = smtp_sink.wait_for(to)
    env = json.loads(text_of(conf))
    assert env["Type"] == "SubscriptionConfirmation"
    assert env["TopicArn"] == topic
    verify_signature(env)
    arn = sns.confirm_subscription(TopicArn=topic, Token=env["Token"])["SubscriptionArn"]
    r = sns.publish(
        TopicArn=topic,
        Message="payload",
        Subject="Subj",
        MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}},
    )
    note = json.loads(text_of(smtp_sink.wait_for(to, n=2)[1]))
    assert note["Type"] == "Notification"
    assert note["MessageId"] == r["MessageId"]
    assert note["Message"] == "payload"
    assert note["Subject"] == "Subj"
    assert note["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"}}
    assert urllib.parse.quote(arn, safe="") in note["UnsubscribeURL"]
    verify_signature(note)


# --------------------------------------------------------------------------- failures


def test_temporary_smtp_failures_are_retried_until_delivered(sns, smtp_sink):
    topic = new_topic(sns)
    to = address("flaky")  # the sink answers 451 twice, then takes it
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=to)
    (conf,) = smtp_sink.wait_for(to, timeout=15)
    assert smtp_sink.attempts(to) == 3
    assert "ConfirmSubscription" in text_of(conf)


def test_a_rejected_mail_is_dead_lettered(sns, sqs, smtp_sink, mail_server):
    topic = new_topic(sns)
    to = address("perm")  # the sink refuses it with 550
    dlq_url, dlq_arn = make_queue(sqs, "maildlq")
    sns.subscribe(
        TopicArn=topic,
        Protocol="email",
        Endpoint=to,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})},
    )
    # The confirmation never arrives, but the mail log has it: confirm with its token.
    conf = wait_for(lambda: mail_log(mail_server, to))
    token = re.search(r"Token=([0-9a-f]+)", conf[0]["Body"]["text_part"]).group(1)
    sns.confirm_subscription(TopicArn=topic, Token=token)
    r = sns.publish(TopicArn=topic, Message="never read")
    msgs = receive(sqs, dlq_url, 1, timeout=10)
    assert len(msgs) == 1
    env = json.loads(msgs[0]["Body"])
    assert env["Type"] == "Notification"
    assert env["MessageId"] == r["MessageId"]
    assert env["Message"] == "never read"
    attrs = msgs[0]["MessageAttributes"]
    assert attrs["ErrorCode"]["StringValue"] == "EmailRejected"
    assert "550" in attrs["ErrorMessage"]["StringValue"] or "No such user" in attrs["ErrorMessage"]["StringValue"]
    assert smtp_sink.messages(to) == []
