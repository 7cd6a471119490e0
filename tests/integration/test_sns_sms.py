"""SMS through an HTTP SMS gateway: a local recording endpoint stands in for the gateway
(sluiced --sms-gateway-url, --sms-gateway-auth, --sms-gateway-body and its content type).

Publish to a PhoneNumber (E.164 validated, SMS attributes SenderID and SMSType checked),
sms subscriptions of a topic (with filter policies and per-protocol messages), the
account defaults of SetSMSAttributes, the gateway's failures retried (1, 5, 20 s) and then
dead-lettered into the subscription's RedrivePolicy queue, the SMS log at
/_sluice/sns/sms, and a server without a gateway that only logs."""

import json
import os
import shutil
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import _stop_checked
from events_helpers import HttpEndpoint
from helpers import Server
from sns_helpers import err, make_queue, make_sns_client, new_topic, receive, wait_for

AUTH = "Authorization: Bearer gw-token-123"


@pytest.fixture(scope="module")
def gateway():
    ep = HttpEndpoint().start()
    yield ep
    ep.stop()


def _start(extra_args):
    tmp = tempfile.mkdtemp(prefix="sluice-it-")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    return tmp, Server(data, extra_args=extra_args).start()


@pytest.fixture(scope="module")
def server(gateway):
    """A sluiced whose SMS gateway is the module's recording endpoint (JSON bodies)."""
    tmp, s = _start(["--sms-gateway-url", gateway.url("/sms/send"), "--sms-gateway-auth", AUTH])
    yield s
    _stop_checked(s)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def sns(server):
    return make_sns_client(server.endpoint)


@pytest.fixture(scope="module")
def sqs(server):
    from helpers import make_client

    return make_client(server.endpoint)


def sms_to(gateway, phone, n=1, timeout=10.0):
    """The gateway requests for one phone number (waits for n of them)."""

    def got():
        out = [r for r in gateway.received("/sms/") if r.json().get("to") == phone]
        return out if len(out) >= n else None

    return wait_for(got, timeout=timeout) or [r for r in gateway.received("/sms/") if r.json().get("to") == phone]


def sms_log(server, phone):
    with urllib.request.urlopen(server.endpoint + "/_sluice/sns/sms", timeout=10) as r:
        doc = json.loads(r.read())
    return [m for m in doc["messages"] if m["PhoneNumber"] == phone]


_phone_seq = [int(time.time() * 1000) % 10_000_000]


def new_phone():
    _phone_seq[0] += 1
    return "+1555%07d" % (_phone_seq[0] % 10_000_000)


# --------------------------------------------------------------------------- Publish to a number


def test_publish_to_phone_number_reaches_the_gateway(sns, gateway, server):
    phone = new_phone()
    r = sns.publish(
        PhoneNumber=phone,
        Message="Your code is 4711 \u2713 \"quoted\"",
        MessageAttributes={
            "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "Shop-1"},
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        },
    )
    (req,) = sms_to(gateway, phone)
    assert req.method == "POST"
    assert req.path == "/sms/send"
    assert req.headers["authorization"] == "Bearer gw-token-123"
    assert req.headers["content-type"] == "application/json"
    body = req.json()  # the default template is JSON, values escaped inside it
    assert body == {
        "to": phone,
        "from": "Shop-1",
        "text": "Your code is 4711 \u2713 \"quoted\"",
        "type": "Transactional",
        "id": r["MessageId"],
    }
    (logged,) = sms_log(server, phone)
    assert logged["Id"] == r["MessageId"]
    assert logged["Message"] == "Your code is 4711 \u2713 \"quoted\""
    assert logged["SenderID"] == "Shop-1"
    assert logged["SMSType"] == "Transactional"


def test_defaults_without_attributes_are_promotional_and_no_sender(sns, gateway):
    phone = new_phone()
    sns.publish(PhoneNumber=phone, Message="hi")
    (req,) = sms_to(gateway, phone)
    assert req.json()["type"] == "Promotional"
    assert req.json()["from"] == ""


@pytest.mark.parametrize("phone", ["5551234567", "+0123456789", "+1", "+1555abc4567", "+1234567890123456"])
def test_invalid_phone_numbers_are_refused(sns, phone):
    with pytest.raises(sns.exceptions.InvalidParameterException) as e:
        sns.publish(PhoneNumber=phone, Message="x")
    assert err(e) == ("InvalidParameter", "Invalid parameter: PhoneNumber Reason: %s is not valid to publish to" % phone)


def test_bad_sms_attributes_are_refused(sns):
    with pytest.raises(sns.exceptions.InvalidParameterException) as e:
        sns.publish(
            PhoneNumber=new_phone(),
            Message="x",
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Urgent"}},
        )
    assert "SMSType" in err(e)[1]
    with pytest.raises(sns.exceptions.InvalidParameterException) as e:
        sns.publish(
            PhoneNumber=new_phone(),
            Message="x",
            MessageAttributes={"AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "much-too-long-id"}},
        )
    assert "SenderID" in err(e)[1]


def test_phone_number_and_topic_together_are_refused(sns):
    topic = new_topic(sns)
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(PhoneNumber=new_phone(), TopicArn=topic, Message="x")


def test_account_sms_attributes_are_stored_and_used_as_defaults(sns, gateway):
    sns.set_sms_attributes(attributes={"DefaultSenderID": "Acme", "DefaultSMSType": "Transactional"})
    try:
        got = sns.get_sms_attributes()["attributes"]
        assert got["DefaultSenderID"] == "Acme"
        assert got["DefaultSMSType"] == "Transactional"
        assert sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"] == {
            "DefaultSMSType": "Transactional"
        }
        phone = new_phone()
        sns.publish(PhoneNumber=phone, Message="with defaults")
        (req,) = sms_to(gateway, phone)
        assert req.json()["from"] == "Acme"
        assert req.json()["type"] == "Transactional"
    finally:
        sns.set_sms_attributes(attributes={"DefaultSenderID": "", "DefaultSMSType": "Promotional"})
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_sms_attributes(attributes={"DefaultSMSType": "Loud"})
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_sms_attributes(attributes={"NoSuchAttribute": "1"})


def test_check_if_phone_number_is_opted_out(sns):
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=new_phone())["isOptedOut"] is False
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.check_if_phone_number_is_opted_out(phoneNumber="call me")


# --------------------------------------------------------------------------- sms subscriptions


def test_sms_subscriptions_get_their_message_and_filters_apply(sns, gateway):
    topic = new_topic(sns)
    a, b = new_phone(), new_phone()
    ra = sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=a)
    assert ra["SubscriptionArn"].startswith(topic + ":")  # confirmed at once, as on AWS
    sns.subscribe(
        TopicArn=topic,
        Protocol="sms",
        Endpoint=b,
        Attributes={"FilterPolicy": json.dumps({"urgent": ["yes"]})},
    )
    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "long default text", "sms": "short sms"}),
    )
    sns.publish(
        TopicArn=topic,
        Message="urgent one",
        MessageAttributes={"urgent": {"DataType": "String", "StringValue": "yes"}},
    )
    to_a = sms_to(gateway, a, n=2)
    assert sorted(r.json()["text"] for r in to_a) == ["short sms", "urgent one"]
    to_b = sms_to(gateway, b, n=1)
    time.sleep(0.3)
    assert [r.json()["text"] for r in sms_to(gateway, b)] == ["urgent one"]


def test_gateway_failures_are_retried_then_delivered(sns, gateway):
    phone = new_phone()
    gateway.script("/sms/send", 503, 500)  # the next two requests fail
    sns.publish(PhoneNumber=phone, Message="persistent")
    reqs = sms_to(gateway, phone, n=3, timeout=20)
    assert len(reqs) == 3
    assert [r.json()["text"] for r in reqs] == ["persistent"] * 3
    # 1 s, then 5 s between the attempts
    assert reqs[1].t - reqs[0].t >= 0.9
    assert reqs[2].t - reqs[1].t >= 4.5


def test_a_refused_sms_goes_to_the_subscriptions_dead_letter_queue(sns, sqs, gateway):
    topic = new_topic(sns)
    phone = new_phone()
    dlq_url, dlq_arn = make_queue(sqs, "smsdlq")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sms",
        Endpoint=phone,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})},
    )
    gateway.script("/sms/send", 400)  # a 4xx is final: no retry
    sns.publish(TopicArn=topic, Message="undeliverable")
    msgs = receive(sqs, dlq_url, 1, timeout=10)
    assert len(msgs) == 1
    assert msgs[0]["Body"] == "undeliverable"
    attrs = msgs[0]["MessageAttributes"]
    assert attrs["ErrorCode"]["StringValue"] == "GatewayError"
    assert "HTTP 400" in attrs["ErrorMessage"]["StringValue"]
    assert len(sms_to(gateway, phone)) == 1


# --------------------------------------------------------------------------- other gateways


def test_form_encoded_template(gateway):
    tmp, s = _start(
        [
            "--sms-gateway-url", gateway.url("/form/send"),
            "--sms-gateway-body", "To={{phone}}&Body={{message}}&From={{sender}}",
            "--sms-gateway-content-type", "application/x-www-form-urlencoded",
        ]
    )
    try:
        c = make_sns_client(s.endpoint)
        phone = new_phone()
        c.publish(PhoneNumber=phone, Message="a&b=c d")
        reqs = wait_for(lambda: gateway.received("/form/"), timeout=10)
        assert reqs, "the gateway got nothing"
        req = reqs[-1]
        assert req.headers["content-type"] == "application/x-www-form-urlencoded"
        assert "authorization" not in req.headers
        assert urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True) == {
            "To": [phone],
            "Body": ["a&b=c d"],
            "From": [""],
        }
    finally:
        _stop_checked(s)
        shutil.rmtree(tmp, ignore_errors=True)


def test_without_a_gateway_sms_is_only_logged(fresh_server):
    c = make_sns_client(fresh_server.endpoint)
    phone = new_phone()
    r = c.publish(PhoneNumber=phone, Message="logged only")
    logged = wait_for(lambda: sms_log(fresh_server, phone), timeout=5)
    assert [m["Id"] for m in logged] == [r["MessageId"]]
