"""EventBridge rules with SNS topic targets (boto3): the event (or its rendered input) is
published to the topic in the same transaction as PutEvents, so the topic's SQS
subscriptions hold it when PutEvents returns, filter policies applying; a target topic that
does not exist dead-letters the event."""

import json

from events_helpers import (  # noqa: F401 - fixtures
    attr,
    entry,
    events,
    new_queue,
    put_ok,
    receive,
    unique,
)
from sns_helpers import sns  # noqa: F401 - fixture


def _topic_with_queue(sns, sqs, raw, policy=None):
    topic = sns.create_topic(Name=unique("evt"))["TopicArn"]
    url, arn = new_queue(sqs, "snsq")
    attrs = {"RawMessageDelivery": "true" if raw else "false"}
    if policy:
        attrs["FilterPolicy"] = json.dumps(policy)
        attrs["FilterPolicyScope"] = "MessageBody"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attrs)
    return topic, url


def test_event_reaches_the_topics_queue_when_put_events_returns(events, sns, sqs):
    topic, url = _topic_with_queue(sns, sqs, raw=True)
    source = unique("orders")
    rule = unique("to-topic")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    out = events.put_targets(Rule=rule, Targets=[{"Id": "topic", "Arn": topic}])
    assert out["FailedEntryCount"] == 0
    [eid] = put_ok(events, [entry(source, "order.created", {"orderId": "o-1"})])
    # Already committed: a zero-wait receive finds it.
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, MaxNumberOfMessages=10)
    msgs = got.get("Messages", [])
    assert len(msgs) == 1
    body = json.loads(msgs[0]["Body"])
    assert body["id"] == eid and body["detail"] == {"orderId": "o-1"}


def test_rendered_input_is_the_sns_message_and_policies_apply(events, sns, sqs):
    topic, wanted = _topic_with_queue(sns, sqs, raw=False, policy={"status": ["paid"]})
    source = unique("payments")
    rule = unique("to-topic")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": topic, "InputPath": "$.detail"}])
    put_ok(events, [entry(source, "payment", {"status": "paid", "id": 1}),
                    entry(source, "payment", {"status": "failed", "id": 2})])
    msgs = receive(sqs, wanted, 1)
    envelope = json.loads(msgs[0]["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert json.loads(envelope["Message"]) == {"status": "paid", "id": 1}
    assert not sqs.receive_message(QueueUrl=wanted, WaitTimeSeconds=1).get("Messages")


def test_missing_topic_dead_letters_the_event(events, sqs):
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    source = unique("gone")
    rule = unique("to-missing")
    missing = "arn:aws:sns:us-east-1:000000000000:%s" % unique("nope")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": missing,
                                            "DeadLetterConfig": {"Arn": dlq_arn}}])
    put_ok(events, [entry(source, "x", {"a": 1})])
    [msg] = receive(sqs, dlq_url, 1)
    assert attr(msg, "ERROR_CODE") == "RESOURCE_NOT_FOUND"
    assert attr(msg, "TARGET_ARN") == missing
