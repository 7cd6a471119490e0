"""Functions invoked by buses and topics: an EventBridge rule whose target is a function
(the event, or the target's Input, as the payload; a missing function dead-lettered to the
target's DLQ), and SNS lambda subscriptions (confirmed at once, the SNS event shape)."""

import json
import time

import pytest

import helpers
from helpers import SLOW
from lambda_helpers import create, lambda_client

# Sends the event it got to OUT_URL (through this server's SQS, no endpoint in the code).
HANDLER = {"app.py": """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["OUT_URL"], MessageBody=json.dumps(event))
"""}


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def events(server):
    return helpers.make_client(server.endpoint, "events")


@pytest.fixture(scope="module")
def sns(server):
    return helpers.make_client(server.endpoint, "sns")


def function(lam, out_url):
    name = create(lam, HANDLER, Timeout=30, MemorySize=256,
                  Environment={"Variables": {"OUT_URL": out_url}})
    return name, "arn:aws:lambda:us-east-1:%s:function:%s" % (helpers.ACCOUNT, name)


def received(sqs, url, n, wait=20):
    got = []
    deadline = time.monotonic() + wait * SLOW
    while len(got) < n and time.monotonic() < deadline:
        got.extend(json.loads(m["Body"]) for m in helpers.drain(sqs, url, wait=1))
    return got


def test_rule_target_invokes_the_function_with_the_event(server, lam, events, sqs, new_queue):
    _, out = new_queue("out")
    name, arn = function(lam, out)
    rule = helpers.unique("orders")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["orders"]}))
    resp = events.put_targets(Rule=rule, Targets=[
        {"Id": "fn", "Arn": arn},
        {"Id": "fn-input", "Arn": arn, "Input": json.dumps({"fixed": True})}])
    assert resp["FailedEntryCount"] == 0
    assert events.put_events(Entries=[{"Source": "orders", "DetailType": "ORDER_CREATED",
                                       "Detail": json.dumps({"orderId": "o-1"})}])["FailedEntryCount"] == 0
    got = received(sqs, out, 2)
    full = [g for g in got if "detail" in g]
    assert len(full) == 1 and len(got) == 2
    assert full[0]["detail"] == {"orderId": "o-1"} and full[0]["detail-type"] == "ORDER_CREATED"
    assert full[0]["source"] == "orders"
    assert {"fixed": True} in got
    # Events that do not match the rule invoke nothing.
    events.put_events(Entries=[{"Source": "users", "DetailType": "X", "Detail": "{}"}])
    time.sleep(1 * SLOW)
    assert received(sqs, out, 1, wait=1) == []


def test_rule_target_missing_function_goes_to_the_dlq(server, events, sqs, new_queue):
    dlq_name, dlq_url = new_queue("rule-dlq")
    rule = helpers.unique("missing")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["gone"]}))
    arn = "arn:aws:lambda:us-east-1:%s:function:no-such-function" % helpers.ACCOUNT
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn,
                                            "DeadLetterConfig": {"Arn": server.arn(dlq_name)}}])
    events.put_events(Entries=[{"Source": "gone", "DetailType": "X", "Detail": "{}"}])
    msgs = helpers.receive_all(sqs, dlq_url, 1, wait=2, MessageAttributeNames=["All"])
    assert len(msgs) == 1
    attrs = msgs[0]["MessageAttributes"]
    assert attrs["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"
    assert attrs["TARGET_ARN"]["StringValue"] == arn
    assert json.loads(msgs[0]["Body"])["source"] == "gone"


def test_sns_lambda_subscription(server, lam, sns, sqs, new_queue):
    _, out = new_queue("out")
    name, arn = function(lam, out)
    topic = sns.create_topic(Name=helpers.unique("notify"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
    assert sub.startswith(topic + ":")  # confirmed at once
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"
    mid = sns.publish(TopicArn=topic, Message="hello", Subject="greeting", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "welcome"}})["MessageId"]
    got = received(sqs, out, 1)
    assert len(got) == 1
    rec = got[0]["Records"][0]
    assert rec["EventSource"] == "aws:sns" and rec["EventVersion"] == "1.0"
    assert rec["EventSubscriptionArn"] == sub
    s = rec["Sns"]
    assert s["Type"] == "Notification" and s["MessageId"] == mid and s["TopicArn"] == topic
    assert s["Message"] == "hello" and s["Subject"] == "greeting"
    assert s["MessageAttributes"] == {"kind": {"Type": "String", "Value": "welcome"}}
    assert s["SignatureVersion"] == "1" and s["Signature"]
    assert s["SigningCertUrl"].endswith(".pem") and "Unsubscribe" in s["UnsubscribeUrl"]
    assert s["Timestamp"].endswith("Z")
    # Without a subject, Subject is null, as on AWS.
    sns.publish(TopicArn=topic, Message="plain")
    assert received(sqs, out, 1)[0]["Records"][0]["Sns"]["Subject"] is None


def test_sns_lambda_endpoint_must_be_a_function_arn(sns):
    topic = sns.create_topic(Name=helpers.unique("bad"))["TopicArn"]
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint="not-an-arn")


def test_bus_to_topic_to_function(server, lam, events, sns, sqs, new_queue):
    # The seeds' fan-out: an EventBridge rule feeds a topic, whose lambda subscriber runs.
    _, out = new_queue("out")
    name, arn = function(lam, out)
    topic = sns.create_topic(Name=helpers.unique("fanout"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    rule = helpers.unique("to-topic")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["payments"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": topic}])
    events.put_events(Entries=[{"Source": "payments", "DetailType": "PAID", "Detail": "{}"}])
    got = received(sqs, out, 1)
    assert json.loads(got[0]["Records"][0]["Sns"]["Message"])["detail-type"] == "PAID"


# ---- asynchronous invocation settings and destinations -----------------------------------

FLAKY = {"app.py": """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": event["n"]}
"""}


def test_event_invoke_config_api(server, lam, new_queue):
    name = create(lam, FLAKY)
    qname, _ = new_queue("dest")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=name)
    put = lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": server.arn(qname)}})
    assert put["FunctionArn"].endswith(":function:%s:$LATEST" % name)
    assert put["MaximumRetryAttempts"] == 1
    upd = lam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=120)
    assert upd["MaximumRetryAttempts"] == 1 and upd["MaximumEventAgeInSeconds"] == 120
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert got["DestinationConfig"]["OnFailure"]["Destination"] == server.arn(qname)
    assert hasattr(got["LastModified"], "year")
    assert "EventInvokeConfig" not in lam.get_function_configuration(FunctionName=name)
    listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert len(listed) == 1
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=3)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=21601)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={
            "OnSuccess": {"Destination": "arn:aws:s3:::bucket"}})
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName="no-such-fn", MaximumRetryAttempts=0)
    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=name)


def test_on_failure_destination_gets_the_invocation_record(server, lam, sqs, new_queue):
    name = create(lam, FLAKY)
    qname, url = new_queue("failures")
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": server.arn(qname)}})
    resp = lam.invoke(FunctionName=name, InvocationType="Event",
                      Payload=json.dumps({"fail": True, "n": 7}).encode())
    msgs = helpers.receive_all(sqs, url, 1, wait=2)
    assert len(msgs) == 1
    rec = json.loads(msgs[0]["Body"])
    assert rec["version"] == "1.0"
    ctx = rec["requestContext"]
    assert ctx["condition"] == "RetriesExhausted" and ctx["approximateInvokeCount"] == 1
    assert ctx["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert ctx["functionArn"].endswith(":function:%s:$LATEST" % name)
    assert rec["requestPayload"] == {"fail": True, "n": 7}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                      "functionError": "Unhandled"}
    assert rec["responsePayload"]["errorMessage"] == "asked to fail"


@pytest.mark.sluice_timeout(90)
def test_on_success_destination_topic_and_default_retries(server, lam, sns, sqs, new_queue):
    name = create(lam, FLAKY)
    qname, url = new_queue("successes")
    topic = sns.create_topic(Name=helpers.unique("done"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=server.arn(qname),
                  Attributes={"RawMessageDelivery": "true"})
    fname, furl = new_queue("fails")
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={
        "OnSuccess": {"Destination": topic}, "OnFailure": {"Destination": server.arn(fname)}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 3}).encode())
    rec = json.loads(helpers.receive_all(sqs, url, 1, wait=2)[0]["Body"])
    assert rec["requestContext"]["condition"] == "Success"
    assert rec["responsePayload"] == {"ok": 3}
    assert "functionError" not in rec["responseContext"]
    # Without MaximumRetryAttempts, a failing event is tried three times, then reported.
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True, "n": 4}).encode())
    msgs = helpers.receive_all(sqs, furl, 1, wait=2, max_rounds=30)
    ctx = json.loads(msgs[0]["Body"])["requestContext"]
    assert ctx["condition"] == "RetriesExhausted" and ctx["approximateInvokeCount"] == 3


def test_on_success_destination_event_bus(server, lam, sqs, new_queue):
    """A bus as the destination: the record arrives as an EventBridge event with Lambda's
    source and detail-type, routed by the bus's rules."""
    events = helpers.make_client(server.endpoint, "events")
    bus = helpers.unique("results")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    qname, url = new_queue("bus-results")
    rule = helpers.unique("r")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({
        "source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Success"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": server.arn(qname)}])
    name = create(lam, FLAKY)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={
        "OnSuccess": {"Destination": bus_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 5}).encode())
    msgs = helpers.receive_all(sqs, url, 1, wait=2, max_rounds=15)
    assert len(msgs) == 1
    ev = json.loads(msgs[0]["Body"])
    assert ev["source"] == "lambda"
    assert ev["detail-type"] == "Lambda Function Invocation Result - Success"
    assert ev["detail"]["responsePayload"] == {"ok": 5}
    assert ev["detail"]["requestContext"]["condition"] == "Success"
    assert ev["resources"][0].endswith(":function:%s:$LATEST" % name)
