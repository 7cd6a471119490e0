"""Scheduled rules: a rate(1 minute) rule fires one minute after it is created, delivering
AWS's scheduled event (source "aws.events", detail-type "Scheduled Event", the rule's ARN
as its only resource, detail {}); a restart right after that fire does not fire it again
before its next minute. The smallest schedule is one minute, so this suite holds the one
test that waits for a fire; schedule validation is in test_events_api.py."""

import datetime
import json
import time

import pytest

from events_helpers import ACCOUNT, REGION, SLOW, iso_seconds, make_events_client, new_queue, rule_arn, unique
from helpers import make_client


@pytest.mark.sluice_timeout(100)
def test_rate_rule_fires_after_a_minute_and_not_again_after_a_restart(fresh_server):
    srv = fresh_server
    ev = make_events_client(srv.endpoint)
    sqs = make_client(srv.endpoint)
    url, arn = new_queue(sqs, "heartbeat")
    name = unique("heartbeat")
    t_created = time.monotonic()
    created_at = datetime.datetime.now(datetime.timezone.utc)
    r = ev.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
    assert r["RuleArn"] == rule_arn(name)
    ev.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    # A disabled schedule never fires.
    _, quiet_arn = new_queue(sqs, "quiet")
    quiet = unique("quiet")
    ev.put_rule(Name=quiet, ScheduleExpression="rate(1 minute)", State="DISABLED")
    ev.put_targets(Rule=quiet, Targets=[{"Id": "q", "Arn": quiet_arn}])

    msgs = []
    deadline = t_created + 75 * SLOW
    while not msgs and time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=10).get("Messages", [])
    t_fired = time.monotonic()
    assert len(msgs) == 1, "no scheduled event within %.0f s" % (t_fired - t_created)
    elapsed = t_fired - t_created
    assert 58 <= elapsed <= 75 * SLOW, "fired %.1f s after creation" % elapsed
    e = json.loads(msgs[0]["Body"])
    assert e["version"] == "0"
    assert e["source"] == "aws.events"
    assert e["detail-type"] == "Scheduled Event"
    assert e["resources"] == [rule_arn(name)]
    assert e["detail"] == {}
    assert e["account"] == ACCOUNT and e["region"] == REGION
    fired_at = iso_seconds(e["time"])
    assert 55 <= (fired_at - created_at).total_seconds() <= 75 * SLOW
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])

    # SIGKILL and restart straight after the fire: the fire that happened is not repeated at
    # startup (the next one is due a minute after the first).
    srv.restart_after_kill()
    sqs = make_client(srv.endpoint)
    quiet_until = time.monotonic() + 10
    again = []
    while time.monotonic() < quiet_until and not again:
        wait = max(1, min(5, int(quiet_until - time.monotonic())))
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait).get("Messages", [])
    assert again == [], "fired again %.1f s after the first fire: %s" % (
        time.monotonic() - t_fired,
        again[0]["Body"] if again else "",
    )
    quiet_url = sqs.get_queue_url(QueueName=quiet_arn.rsplit(":", 1)[1])["QueueUrl"]
    assert sqs.receive_message(QueueUrl=quiet_url, WaitTimeSeconds=0).get("Messages", []) == []
