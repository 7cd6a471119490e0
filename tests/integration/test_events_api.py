"""The EventBridge control plane over AWS JSON 1.1 (boto3): event buses, rules, targets,
PutEvents validation, TestEventPattern, tags, connections and API destinations.

Error codes are AWS's; messages are asserted where AWS's exact text is known (from AWS's
documentation or responses recorded against AWS)."""

import json

import pytest
from botocore.exceptions import ClientError

from events_helpers import (  # noqa: F401 - fixtures
    ACCOUNT,
    REGION,
    bus_arn,
    entry,
    err,
    events,
    new_queue,
    order_created,
    put_ok,
    raw_events,
    rule_arn,
    unique,
)

ARN_PREFIX = "arn:aws:events:%s:%s:" % (REGION, ACCOUNT)


# --------------------------------------------------------------------------- event buses


def test_default_bus_always_exists(events):
    d = events.describe_event_bus()
    assert d["Name"] == "default"
    assert d["Arn"] == ARN_PREFIX + "event-bus/default"
    assert events.describe_event_bus(Name="default")["Arn"] == d["Arn"]
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names


def test_create_describe_list_delete_event_bus(events):
    name = unique("orders-bus")
    r = events.create_event_bus(Name=name, Tags=[{"Key": "team", "Value": "orders"}])
    assert r["EventBusArn"] == ARN_PREFIX + "event-bus/" + name
    d = events.describe_event_bus(Name=name)
    assert d["Name"] == name
    assert d["Arn"] == r["EventBusArn"]
    # by ARN too
    assert events.describe_event_bus(Name=r["EventBusArn"])["Name"] == name
    listed = events.list_event_buses(NamePrefix=name)["EventBuses"]
    assert [b["Name"] for b in listed] == [name]
    assert listed[0]["Arn"] == r["EventBusArn"]
    assert events.list_tags_for_resource(ResourceARN=r["EventBusArn"])["Tags"] == [{"Key": "team", "Value": "orders"}]

    events.delete_event_bus(Name=name)
    with pytest.raises(ClientError) as e:
        events.describe_event_bus(Name=name)
    assert err(e) == ("ResourceNotFoundException", "Event bus %s does not exist." % name)
    assert events.list_event_buses(NamePrefix=name)["EventBuses"] == []
    events.delete_event_bus(Name=name)  # deleting a bus that is gone succeeds


def test_create_event_bus_that_exists(events):
    name = unique("bus")
    events.create_event_bus(Name=name)
    with pytest.raises(ClientError) as e:
        events.create_event_bus(Name=name)
    assert err(e) == ("ResourceAlreadyExistsException", "Event bus %s already exists." % name)
    with pytest.raises(ClientError) as e:
        events.create_event_bus(Name="default")
    assert err(e) == ("ResourceAlreadyExistsException", "Event bus default already exists.")


def test_default_bus_cannot_be_deleted(events):
    with pytest.raises(ClientError) as e:
        events.delete_event_bus(Name="default")
    assert err(e) == ("ValidationException", "Cannot delete event bus default.")


def test_list_event_buses_pages(events):
    prefix = unique("page")
    for i in range(5):
        events.create_event_bus(Name="%s-%d" % (prefix, i))
    seen, token = [], None
    for _ in range(10):
        kw = {"NextToken": token} if token else {}
        r = events.list_event_buses(NamePrefix=prefix, Limit=2, **kw)
        assert len(r["EventBuses"]) <= 2
        seen += [b["Name"] for b in r["EventBuses"]]
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(seen) == ["%s-%d" % (prefix, i) for i in range(5)]


def test_event_bus_description_create_and_update(events, server):
    """Description on CreateEventBus, and UpdateEventBus: newer than the installed botocore,
    so sent as raw JSON 1.1."""
    name = unique("bus")
    status, body = raw_events(server.endpoint, "CreateEventBus", {"Name": name, "Description": "before"})
    assert status == 200, body
    assert body["EventBusArn"] == ARN_PREFIX + "event-bus/" + name
    status, body = raw_events(server.endpoint, "DescribeEventBus", {"Name": name})
    assert (status, body.get("Description")) == (200, "before"), body
    status, body = raw_events(server.endpoint, "UpdateEventBus", {"Name": name, "Description": "after"})
    assert status == 200, body
    status, body = raw_events(server.endpoint, "DescribeEventBus", {"Name": name})
    assert (status, body.get("Description")) == (200, "after"), body


# --------------------------------------------------------------------------- rules


def test_put_describe_list_rule(events):
    name = unique("order-to-inventory")
    pattern = json.dumps({"source": ["order-service"], "detail-type": ["order.created", "order.cancelled"]})
    r = events.put_rule(Name=name, EventPattern=pattern, Description="route order events")
    assert r["RuleArn"] == ARN_PREFIX + "rule/" + name
    d = events.describe_rule(Name=name)
    assert d["Name"] == name
    assert d["Arn"] == r["RuleArn"]
    assert json.loads(d["EventPattern"]) == json.loads(pattern)
    assert d["State"] == "ENABLED"
    assert d["Description"] == "route order events"
    assert d["EventBusName"] == "default"
    assert d["CreatedBy"] == ACCOUNT
    listed = events.list_rules(NamePrefix=name)["Rules"]
    assert [x["Name"] for x in listed] == [name]
    assert listed[0]["Arn"] == r["RuleArn"]
    assert listed[0]["State"] == "ENABLED"


def test_rule_on_custom_bus_has_bus_in_its_arn(events):
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    name = unique("rule")
    r = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
    assert r["RuleArn"] == ARN_PREFIX + "rule/%s/%s" % (bus, name)
    assert events.describe_rule(Name=name, EventBusName=bus)["EventBusName"] == bus
    assert events.describe_rule(Name=name, EventBusName=bus_arn(bus))["Arn"] == r["RuleArn"]
    # the same name on the default bus is another rule
    with pytest.raises(ClientError) as e:
        events.describe_rule(Name=name)
    assert err(e)[0] == "ResourceNotFoundException"
    assert events.list_rules(NamePrefix=name)["Rules"] == []
    assert [x["Name"] for x in events.list_rules(EventBusName=bus)["Rules"]] == [name]


def test_put_rule_again_updates_it_and_keeps_targets(events, sqs):
    name = unique("rule")
    _, arn = new_queue(sqs)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["a"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["b"]}), Description="v2")
    d = events.describe_rule(Name=name)
    assert json.loads(d["EventPattern"]) == {"source": ["b"]}
    assert d["Description"] == "v2"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["q"]


def test_enable_disable_rule(events):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}), State="DISABLED")
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.enable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "ENABLED"
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    with pytest.raises(ClientError) as e:
        events.enable_rule(Name=unique("missing"))
    assert err(e)[0] == "ResourceNotFoundException"


def test_list_rules_pages(events):
    prefix = unique("pg")
    for i in range(5):
        events.put_rule(Name="%s-%d" % (prefix, i), EventPattern=json.dumps({"source": ["x"]}))
    seen, token = [], None
    for _ in range(10):
        kw = {"NextToken": token} if token else {}
        r = events.list_rules(NamePrefix=prefix, Limit=2, **kw)
        assert len(r["Rules"]) <= 2
        seen += [x["Name"] for x in r["Rules"]]
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(seen) == ["%s-%d" % (prefix, i) for i in range(5)]


def test_delete_rule_refused_while_it_has_targets(events, sqs):
    name = unique("rule")
    _, arn = new_queue(sqs)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    with pytest.raises(ClientError) as e:
        events.delete_rule(Name=name)
    assert err(e) == ("ValidationException", "Rule can't be deleted since it has targets.")
    r = events.remove_targets(Rule=name, Ids=["q"])
    assert r["FailedEntryCount"] == 0
    events.delete_rule(Name=name)
    with pytest.raises(ClientError) as e:
        events.describe_rule(Name=name)
    assert err(e)[0] == "ResourceNotFoundException"
    assert name in err(e)[1]
    events.delete_rule(Name=name)  # deleting a rule that does not exist succeeds


def test_put_rule_needs_a_pattern_or_a_schedule(events):
    with pytest.raises(ClientError) as e:
        events.put_rule(Name=unique("rule"))
    assert err(e) == ("ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")


@pytest.mark.parametrize(
    "pattern",
    [
        "not json",
        '{"source": "order-service"}',  # values must be arrays
        '{"detail": {"total": [{"numeric": [">", "x"]}]}}',
        '{"source": [{"prefix": ""}], "x": [{"bogus": 1}]}',
        "[]",
    ],
)
def test_put_rule_with_invalid_pattern(events, pattern):
    with pytest.raises(ClientError) as e:
        events.put_rule(Name=unique("rule"), EventPattern=pattern)
    code, msg = err(e)
    assert code == "InvalidEventPatternException"
    assert msg.startswith("Event pattern is not valid. Reason: "), msg


def test_put_rule_name_and_bus_validation(events):
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="has/slash", EventPattern=json.dumps({"source": ["x"]}))
    assert err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="x" * 65, EventPattern=json.dumps({"source": ["x"]}))
    assert err(e)[0] == "ValidationException"
    missing = unique("nobus")
    with pytest.raises(ClientError) as e:
        events.put_rule(Name=unique("rule"), EventBusName=missing, EventPattern=json.dumps({"source": ["x"]}))
    assert err(e) == ("ResourceNotFoundException", "Event bus %s does not exist." % missing)


def test_schedules_only_on_the_default_bus_and_must_parse(events):
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    with pytest.raises(ClientError) as e:
        events.put_rule(Name=unique("rule"), EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    assert err(e) == ("ValidationException", "ScheduleExpression is supported only on the default event bus.")
    for bad in ["rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "cron(0 12 * * * *)", "every 5 minutes"]:
        with pytest.raises(ClientError) as e:
            events.put_rule(Name=unique("rule"), ScheduleExpression=bad)
        assert err(e) == ("ValidationException", "Parameter ScheduleExpression is not valid."), bad
    for good in ["rate(5 minutes)", "rate(1 hour)", "cron(0 12 * * ? *)", "cron(15 10 ? * MON-FRI *)"]:
        name = unique("sched")
        events.put_rule(Name=name, ScheduleExpression=good, State="DISABLED")
        assert events.describe_rule(Name=name)["ScheduleExpression"] == good


# --------------------------------------------------------------------------- targets


def test_put_list_remove_targets(events, sqs):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["order-service"]}))
    _, a = new_queue(sqs)
    _, b = new_queue(sqs)
    dlq_url, dlq = new_queue(sqs, "dlq")
    targets = [
        {"Id": "inventory", "Arn": a},
        {
            "Id": "notify",
            "Arn": b,
            "InputPath": "$.detail",
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq},
        },
    ]
    r = events.put_targets(Rule=name, Targets=targets)
    assert r["FailedEntryCount"] == 0 and r["FailedEntries"] == []
    listed = sorted(events.list_targets_by_rule(Rule=name)["Targets"], key=lambda t: t["Id"])
    assert listed == sorted(targets, key=lambda t: t["Id"])
    # the same Id again replaces the target
    events.put_targets(Rule=name, Targets=[{"Id": "inventory", "Arn": b, "Input": '{"k": 1}'}])
    listed = {t["Id"]: t for t in events.list_targets_by_rule(Rule=name)["Targets"]}
    assert listed["inventory"] == {"Id": "inventory", "Arn": b, "Input": '{"k": 1}'}
    assert len(listed) == 2
    assert sorted(events.list_rule_names_by_target(TargetArn=b)["RuleNames"]) == [name]
    r = events.remove_targets(Rule=name, Ids=["inventory", "notify"])
    assert r["FailedEntryCount"] == 0
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    assert events.list_rule_names_by_target(TargetArn=b)["RuleNames"] == []


def test_at_most_five_targets_per_rule(events, sqs):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    _, arn = new_queue(sqs)
    events.put_targets(Rule=name, Targets=[{"Id": "t%d" % i, "Arn": arn} for i in range(5)])
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=name, Targets=[{"Id": "t5", "Arn": arn}])
    assert err(e) == ("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
    assert len(events.list_targets_by_rule(Rule=name)["Targets"]) == 5


def test_targets_of_a_rule_that_does_not_exist(events, sqs):
    _, arn = new_queue(sqs)
    missing = unique("missing")
    with pytest.raises(ClientError) as e:
        events.put_targets(Rule=missing, Targets=[{"Id": "q", "Arn": arn}])
    assert err(e) == ("ResourceNotFoundException", "Rule %s does not exist on EventBus default." % missing)
    with pytest.raises(ClientError) as e:
        events.list_targets_by_rule(Rule=missing)
    assert err(e) == ("ResourceNotFoundException", "Rule %s does not exist on EventBus default." % missing)


def test_fifo_queue_target_needs_a_message_group(events, sqs):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    _, arn = new_queue(sqs, fifo=True, ContentBasedDeduplication="true")
    try:
        r = events.put_targets(Rule=name, Targets=[{"Id": "fifo", "Arn": arn}])
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationException"
        assert e.response["Error"]["Message"] == "Parameter(s) SqsParameters must be specified for target: fifo."
    else:
        assert r["FailedEntryCount"] == 1, r
        (f,) = r["FailedEntries"]
        assert f["TargetId"] == "fifo" and f["ErrorCode"] == "ValidationException"
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    r = events.put_targets(Rule=name, Targets=[{"Id": "fifo", "Arn": arn, "SqsParameters": {"MessageGroupId": "g"}}])
    assert r["FailedEntryCount"] == 0


# --------------------------------------------------------------------------- PutEvents


def test_put_events_reports_each_entry(events):
    r = events.put_events(
        Entries=[
            {},
            {"Source": "order-service"},
            {"Source": "order-service", "DetailType": "order.created"},
            {"Source": "order-service", "DetailType": "order.created", "Detail": "not json"},
            {"Source": "order-service", "DetailType": "order.created", "Detail": '"a string"'},
            order_created(),
        ]
    )
    assert r["FailedEntryCount"] == 5
    e = r["Entries"]
    assert e[0] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
    assert e[1] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
    }
    assert e[2] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Detail is not valid. Reason: Detail is a required argument.",
    }
    assert e[3] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert e[4] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert set(e[5]) == {"EventId"} and len(e[5]["EventId"]) >= 32


def test_put_events_refuses_aws_sources(events):
    r = events.put_events(Entries=[entry("aws.ec2", "EC2 Instance State-change Notification", {"state": "x"})])
    assert r["FailedEntryCount"] == 1
    assert r["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"


def test_put_events_takes_at_most_ten_entries(events):
    with pytest.raises(ClientError) as e:
        events.put_events(Entries=[order_created()] * 11)
    assert err(e)[0] == "ValidationException"
    ids = put_ok(events, [order_created("o%d" % i) for i in range(10)])
    assert len(set(ids)) == 10


def test_put_events_entry_size_limit(events):
    big = {"blob": "x" * (256 * 1024)}
    r = events.put_events(Entries=[entry("order-service", "order.created", big), order_created()])
    assert r["FailedEntryCount"] == 1
    assert r["Entries"][0].get("ErrorCode")
    assert "EventId" in r["Entries"][1]


# --------------------------------------------------------------------------- TestEventPattern


EVENT = {
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "order.created",
    "source": "order-service",
    "account": ACCOUNT,
    "time": "2024-01-15T10:30:00Z",
    "region": REGION,
    "resources": [],
    "detail": {"orderId": "ord_67890", "total": 59.98, "items": [{"productId": "prod_222"}]},
}


@pytest.mark.parametrize(
    "pattern,result",
    [
        ({"source": ["order-service"]}, True),
        ({"source": ["payment-service"]}, False),
        ({"detail-type": [{"prefix": "order."}]}, True),
        ({"detail-type": [{"wildcard": "*.failed"}]}, False),
        ({"detail": {"total": [{"numeric": [">", 50, "<=", 60]}]}}, True),
        ({"detail": {"items": {"productId": ["prod_222"]}}}, True),
        ({"detail": {"coupon": [{"exists": False}]}}, True),
        ({"detail": {"orderId": [{"anything-but": {"prefix": "ord_"}}]}}, False),
    ],
)
def test_test_event_pattern(events, pattern, result):
    r = events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))
    assert r["Result"] is result


def test_test_event_pattern_errors(events):
    with pytest.raises(ClientError) as e:
        events.test_event_pattern(EventPattern="{bad", Event=json.dumps(EVENT))
    assert err(e)[0] == "InvalidEventPatternException"
    partial = {k: v for k, v in EVENT.items() if k != "account"}
    with pytest.raises(ClientError) as e:
        events.test_event_pattern(EventPattern=json.dumps({"source": ["order-service"]}), Event=json.dumps(partial))
    assert err(e) == ("ValidationException", "Parameter Event is not valid.")


# --------------------------------------------------------------------------- tags


def test_tags_on_rules_and_buses(events):
    bus = unique("bus")
    barn = events.create_event_bus(Name=bus)["EventBusArn"]
    rarn = events.put_rule(
        Name=unique("rule"), EventPattern=json.dumps({"source": ["x"]}), Tags=[{"Key": "env", "Value": "test"}]
    )["RuleArn"]
    assert events.list_tags_for_resource(ResourceARN=rarn)["Tags"] == [{"Key": "env", "Value": "test"}]
    for arn in (barn, rarn):
        events.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "orders"}, {"Key": "cost", "Value": "42"}])
        tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}
        assert tags["team"] == "orders" and tags["cost"] == "42"
        events.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "payments"}])
        events.untag_resource(ResourceARN=arn, TagKeys=["cost"])
        tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}
        assert tags.get("team") == "payments" and "cost" not in tags


def test_tags_of_a_rule_that_does_not_exist(events):
    missing = unique("missing")
    with pytest.raises(ClientError) as e:
        events.list_tags_for_resource(ResourceARN=rule_arn(missing))
    assert err(e) == ("ResourceNotFoundException", "Rule %s does not exist on EventBus default." % missing)
    with pytest.raises(ClientError) as e:
        events.tag_resource(ResourceARN=rule_arn(missing), Tags=[{"Key": "k", "Value": "v"}])
    assert err(e)[0] == "ResourceNotFoundException"


# --------------------------------------------------------------------------- connections, API destinations


def test_connection_lifecycle_hides_secrets(events):
    name = unique("conn")
    c = events.create_connection(
        Name=name,
        Description="order webhooks",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}},
    )
    assert c["ConnectionArn"].startswith(ARN_PREFIX + "connection/%s/" % name)
    assert c["ConnectionState"] == "AUTHORIZED"
    d = events.describe_connection(Name=name)
    assert d["Name"] == name
    assert d["ConnectionArn"] == c["ConnectionArn"]
    assert d["AuthorizationType"] == "API_KEY"
    assert d["ConnectionState"] == "AUTHORIZED"
    assert d["Description"] == "order webhooks"
    assert d["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    assert "s3cret" not in json.dumps(d, default=str)
    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [x["Name"] for x in listed] == [name]
    assert listed[0]["ConnectionState"] == "AUTHORIZED"

    events.update_connection(
        Name=name,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u2", "Password": "p2"}},
    )
    d = events.describe_connection(Name=name)
    assert d["AuthorizationType"] == "BASIC"
    assert d["AuthParameters"]["BasicAuthParameters"] == {"Username": "u2"}

    r = events.delete_connection(Name=name)
    assert r["ConnectionArn"] == c["ConnectionArn"]
    assert r["ConnectionState"] == "DELETING"
    with pytest.raises(ClientError) as e:
        events.describe_connection(Name=name)
    assert err(e) == (
        "ResourceNotFoundException",
        "Failed to describe the connection(s). Connection '%s' does not exist." % name,
    )


def test_oauth_connection_starts_authorizing(events):
    name = unique("conn")
    c = events.create_connection(
        Name=name,
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": "http://127.0.0.1:9/oauth/token",
                "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "client-id", "ClientSecret": "client-secret"},
            }
        },
    )
    assert c["ConnectionState"] == "AUTHORIZING"
    d = events.describe_connection(Name=name)
    assert d["AuthParameters"]["OAuthParameters"]["ClientParameters"] == {"ClientID": "client-id"}
    assert "client-secret" not in json.dumps(d, default=str)


def test_deauthorize_connection(events):
    name = unique("conn")
    events.create_connection(
        Name=name, AuthorizationType="BASIC", AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    )
    r = events.deauthorize_connection(Name=name)
    assert r["ConnectionState"] in ("DEAUTHORIZING", "DEAUTHORIZED")
    assert events.describe_connection(Name=name)["ConnectionState"] in ("DEAUTHORIZING", "DEAUTHORIZED")


def test_connection_validation(events):
    with pytest.raises(ClientError) as e:
        events.create_connection(
            Name=unique("conn"),
            AuthorizationType="INVALID_AUTH_TYPE",
            AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
        )
    assert err(e) == (
        "ValidationException",
        "1 validation error detected: Value 'INVALID_AUTH_TYPE' at 'authorizationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]",
    )
    with pytest.raises(ClientError) as e:
        events.create_connection(
            Name="Invalid Name With Spaces!",
            AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
        )
    assert err(e) == (
        "ValidationException",
        "1 validation error detected: Value 'Invalid Name With Spaces!' at 'name' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
    )
    name = unique("conn")
    params = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    events.create_connection(Name=name, AuthorizationType="BASIC", AuthParameters=params)
    with pytest.raises(ClientError) as e:
        events.create_connection(Name=name, AuthorizationType="BASIC", AuthParameters=params)
    assert err(e)[0] == "ResourceAlreadyExistsException"


def test_api_destination_lifecycle(events):
    conn = events.create_connection(
        Name=unique("conn"),
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
    )["ConnectionArn"]
    name = unique("dest")
    c = events.create_api_destination(
        Name=name,
        Description="inventory webhook",
        ConnectionArn=conn,
        InvocationEndpoint="https://example.com/api",
        HttpMethod="POST",
    )
    assert c["ApiDestinationArn"].startswith(ARN_PREFIX + "api-destination/%s/" % name)
    assert c["ApiDestinationState"] == "ACTIVE"
    d = events.describe_api_destination(Name=name)
    assert d["Name"] == name
    assert d["ConnectionArn"] == conn
    assert d["InvocationEndpoint"] == "https://example.com/api"
    assert d["HttpMethod"] == "POST"
    assert d["InvocationRateLimitPerSecond"] == 300
    assert d["ApiDestinationState"] == "ACTIVE"
    assert d["Description"] == "inventory webhook"
    listed = events.list_api_destinations(NamePrefix=name)["ApiDestinations"]
    assert [x["Name"] for x in listed] == [name]
    u = events.update_api_destination(
        Name=name, InvocationEndpoint="https://example.com/api/v2", HttpMethod="PUT", InvocationRateLimitPerSecond=10
    )
    assert u["ApiDestinationArn"] == c["ApiDestinationArn"]
    d = events.describe_api_destination(Name=name)
    assert (d["InvocationEndpoint"], d["HttpMethod"], d["InvocationRateLimitPerSecond"]) == (
        "https://example.com/api/v2",
        "PUT",
        10,
    )
    events.delete_api_destination(Name=name)
    with pytest.raises(ClientError) as e:
        events.describe_api_destination(Name=name)
    assert err(e) == (
        "ResourceNotFoundException",
        "Failed to describe the api-destination(s). An api-destination '%s' does not exist." % name,
    )


def test_api_destination_validation(events):
    conn = events.create_connection(
        Name=unique("conn"),
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
    )["ConnectionArn"]
    with pytest.raises(ClientError) as e:
        events.create_api_destination(
            Name=unique("dest"), ConnectionArn=conn, InvocationEndpoint="https://example.com", HttpMethod="FETCH"
        )
    assert err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.create_api_destination(
            Name=unique("dest"),
            ConnectionArn=conn,
            InvocationEndpoint="https://example.com",
            HttpMethod="POST",
            InvocationRateLimitPerSecond=301,
        )
    assert err(e)[0] == "ValidationException"
    gone = conn.rsplit("/", 2)[0] + "/%s/00000000-0000-0000-0000-000000000000" % unique("gone")
    with pytest.raises(ClientError) as e:
        events.create_api_destination(
            Name=unique("dest"), ConnectionArn=gone, InvocationEndpoint="https://example.com", HttpMethod="POST"
        )
    assert err(e)[0] == "ResourceNotFoundException"
