"""EventBridge routing to SQS queues (boto3): the seeds' rules (order.* to the inventory
queue, payment.* to the payments queue, *.failed to alerts), the event envelope, content
filters, rule state, several rules and targets, FIFO queues, event-bus targets, and what a
target receives (Input, InputPath, InputTransformer).

Each test works on its own event bus (or its own sources on the default bus), so tests
sharing the module's server do not see each other's events."""

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from events_helpers import (  # noqa: F401 - fixtures
    ACCOUNT,
    REGION,
    assert_empty,
    attr,
    bus_arn,
    entry,
    events,
    inventory_event,
    iso_seconds,
    new_queue,
    order_created,
    order_event,
    payment_event,
    put_ok,
    receive,
    receive_events,
    rule_arn,
    seed004_order_created,
    seed_routes,
    setup_seed_routing,
    unique,
    user_registered,
)


def _rule_to_queue(events, sqs, pattern, bus="default", target_extra=None, queue=None):
    """A rule on `bus` with one queue target; returns (rule name, queue url, queue arn)."""
    url, arn = queue or new_queue(sqs)
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    target = {"Id": "q", "Arn": arn}
    target.update(target_extra or {})
    r = events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    assert r["FailedEntryCount"] == 0, r
    return name, url, arn


def _new_bus(events):
    name = unique("bus")
    events.create_event_bus(Name=name)
    return name


# --------------------------------------------------------------------------- the seeds


def test_seed_rules_route_orders_payments_and_failures_to_their_queues(events, sqs):
    setup = setup_seed_routing(events, sqs, bus=unique("ecommerce-events"))
    bus = setup["bus"]
    entries = [
        order_created("ord_1", bus=bus),
        order_event("cancelled", "ord_2", bus=bus),
        payment_event("processed", "ord_1", bus=bus),
        payment_event("failed", "ord_3", bus=bus),
        inventory_event("reserved", bus=bus),
        user_registered(bus=bus),
        order_event("failed", "ord_4", bus=bus),
    ]
    ids = put_ok(events, entries)
    expected = {q: set() for q in setup["queues"]}
    for e, eid in zip(entries, ids):
        for q in seed_routes(e["DetailType"]):
            expected[q].add(eid)
    assert expected == {
        "inventory": {ids[0], ids[1], ids[6]},
        "payments": {ids[2], ids[3]},
        "alerts": {ids[3], ids[6]},
    }
    by_id = dict(zip(ids, entries))
    for q, (url, _) in setup["queues"].items():
        got = receive_events(sqs, url, len(expected[q]))
        assert {g["id"] for g in got} == expected[q], q
        assert len(got) == len(expected[q]), "duplicates on %s" % q
        for g in got:
            sent = by_id[g["id"]]
            assert g["detail-type"] == sent["DetailType"]
            assert g["source"] == sent["Source"]
            assert g["detail"] == json.loads(sent["Detail"])
        assert_empty(sqs, url, wait=0.5)


def test_event_envelope_is_awss_shape(events, sqs):
    bus = _new_bus(events)
    _, url, _ = _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=bus)
    when = datetime.datetime(2024, 1, 15, 10, 30, 0, tzinfo=datetime.timezone.utc)
    resources = ["arn:aws:dynamodb:us-east-1:000000000000:table/orders", "order/ord_67890"]
    timed = order_created(bus=bus)
    timed.update(Time=when, Resources=resources)
    (eid,) = put_ok(events, [timed])
    t0 = datetime.datetime.now(datetime.timezone.utc)
    (untimed,) = put_ok(events, [order_created("ord_2", bus=bus)])
    got = {g["id"]: g for g in receive_events(sqs, url, 2)}
    e = got[eid]
    assert set(e) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert e["version"] == "0"
    assert e["account"] == ACCOUNT
    assert e["region"] == REGION
    assert e["detail-type"] == "order.created"
    assert e["source"] == "order-service"
    assert e["time"] == "2024-01-15T10:30:00Z"
    assert e["resources"] == resources
    assert e["detail"]["items"] == [{"productId": "prod_222", "quantity": 2, "price": 29.99}]
    assert e["detail"]["total"] == 59.98
    # Without Time, the event time is when EventBridge received it.
    u = got[untimed]
    assert u["resources"] == []
    assert abs((iso_seconds(u["time"]) - t0).total_seconds()) <= 5


def test_seed004_source_and_detail_type_lists(events, sqs):
    """Seed 004's rules: source orders + detail-type Order Created | Order Completed; and
    source inventory + Inventory Updated."""
    bus = _new_bus(events)
    _, orders_url, _ = _rule_to_queue(
        events, sqs, {"source": ["orders"], "detail-type": ["Order Created", "Order Completed"]}, bus=bus
    )
    _, inv_url, _ = _rule_to_queue(
        events, sqs, {"source": ["inventory"], "detail-type": ["Inventory Updated"]}, bus=bus
    )
    inv = {"item_id": "ITEM-001", "quantity": 100, "action": "restock", "timestamp": "2024-01-15T10:00:00Z"}
    ids = put_ok(
        events,
        [
            seed004_order_created(bus=bus),
            entry("orders", "Order Completed", {"order_id": "ORD-001"}, bus),
            entry("orders", "Order Shipped", {"order_id": "ORD-001"}, bus),
            entry("inventory", "Inventory Updated", inv, bus),
            entry("workflow", "Workflow Triggered", {"workflow_id": "WF-001", "order_id": "ORD-001"}, bus),
        ],
    )
    assert {g["id"] for g in receive_events(sqs, orders_url, 2)} == {ids[0], ids[1]}
    (got,) = receive_events(sqs, inv_url, 1)
    assert got["id"] == ids[3] and got["detail"] == inv
    assert_empty(sqs, orders_url, wait=0.5)
    assert_empty(sqs, inv_url, wait=0.2)


def test_content_filters_on_detail(events, sqs):
    bus = _new_bus(events)
    pattern = {
        "source": ["order-service"],
        "detail": {
            "total": [{"numeric": [">=", 100]}],
            "metadata": {"userId": [{"exists": True}]},
            "channel": [{"anything-but": ["test"]}],
        },
    }
    _, url, _ = _rule_to_queue(events, sqs, pattern, bus=bus)
    put_ok(
        events,
        [
            order_created("small", total=59.98, bus=bus, channel="web"),
            order_created("big", total=150, bus=bus, channel="web"),
            order_created("big-test", total=150, bus=bus, channel="test"),
            order_created("exact", total=100, bus=bus, channel="mobile"),
        ],
    )
    assert {g["detail"]["orderId"] for g in receive_events(sqs, url, 2)} == {"big", "exact"}
    assert_empty(sqs, url, wait=0.5)


def test_disabled_rule_does_not_route_until_enabled(events, sqs):
    bus = _new_bus(events)
    name, url, _ = _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=bus)
    events.disable_rule(Name=name, EventBusName=bus)
    assert events.describe_rule(Name=name, EventBusName=bus)["State"] == "DISABLED"
    put_ok(events, [order_created("while-disabled", bus=bus)])
    assert_empty(sqs, url, wait=1.0)
    events.enable_rule(Name=name, EventBusName=bus)
    (eid,) = put_ok(events, [order_created("after-enable", bus=bus)])
    (got,) = receive_events(sqs, url, 1)
    assert got["id"] == eid
    assert_empty(sqs, url, wait=0.3)


def test_rule_created_disabled_routes_nothing(events, sqs):
    bus = _new_bus(events)
    url, arn = new_queue(sqs)
    name = unique("rule")
    events.put_rule(
        Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["order-service"]}), State="DISABLED"
    )
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    put_ok(events, [order_created(bus=bus)])
    assert_empty(sqs, url, wait=1.0)


def test_event_matching_two_rules_reaches_the_queue_once_per_rule(events, sqs):
    bus = _new_bus(events)
    queue = new_queue(sqs)
    _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=bus, queue=queue)
    _rule_to_queue(events, sqs, {"detail-type": [{"prefix": "order."}]}, bus=bus, queue=queue)
    (eid,) = put_ok(events, [order_created(bus=bus)])
    got = receive_events(sqs, queue[0], 2)
    assert [g["id"] for g in got] == [eid, eid]
    assert_empty(sqs, queue[0], wait=0.5)


def test_one_rule_fans_out_to_all_its_targets(events, sqs):
    bus = _new_bus(events)
    queues = [new_queue(sqs) for _ in range(5)]
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["payment-service"]}))
    r = events.put_targets(
        Rule=name, EventBusName=bus, Targets=[{"Id": "t%d" % i, "Arn": arn} for i, (_, arn) in enumerate(queues)]
    )
    assert r["FailedEntryCount"] == 0
    (eid,) = put_ok(events, [payment_event("processed", bus=bus)])
    for url, _ in queues:
        (got,) = receive_events(sqs, url, 1)
        assert got["id"] == eid


def test_rules_of_another_bus_do_not_see_the_event(events, sqs):
    a, b = _new_bus(events), _new_bus(events)
    _, url_a, _ = _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=a)
    _, url_b, _ = _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=b)
    (eid,) = put_ok(events, [order_created(bus=a)])
    (got,) = receive_events(sqs, url_a, 1)
    assert got["id"] == eid
    assert_empty(sqs, url_b, wait=1.0)


def test_event_bus_name_may_be_an_arn(events, sqs):
    bus = _new_bus(events)
    _, url, _ = _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=bus)
    (eid,) = put_ok(events, [order_created(bus=bus_arn(bus))])
    (got,) = receive_events(sqs, url, 1)
    assert got["id"] == eid


def test_one_put_events_call_across_buses(events, sqs):
    a, b = _new_bus(events), _new_bus(events)
    _, url_a, _ = _rule_to_queue(events, sqs, {"source": ["order-service"]}, bus=a)
    _, url_b, _ = _rule_to_queue(events, sqs, {"source": ["payment-service"]}, bus=b)
    ids = put_ok(events, [order_created(bus=a), payment_event("processed", bus=b), payment_event("failed", bus=a)])
    assert [g["id"] for g in receive_events(sqs, url_a, 1)] == [ids[0]]
    assert [g["id"] for g in receive_events(sqs, url_b, 1)] == [ids[1]]
    assert_empty(sqs, url_a, wait=0.5)


# --------------------------------------------------------------------------- targets


def test_fifo_queue_target_keeps_order_within_its_message_group(events, sqs):
    bus = _new_bus(events)
    url, arn = new_queue(sqs, "orders", fifo=True, ContentBasedDeduplication="true")
    _rule_to_queue(
        events,
        sqs,
        {"source": ["order-service"]},
        bus=bus,
        queue=(url, arn),
        target_extra={"SqsParameters": {"MessageGroupId": "orders"}},
    )
    ids = put_ok(events, [order_created("ord_%d" % i, bus=bus) for i in range(5)])
    ids += put_ok(events, [order_created("ord_%d" % i, bus=bus) for i in range(5, 8)])
    got = []
    deadline = time.monotonic() + 10
    while len(got) < len(ids) and time.monotonic() < deadline:
        got += receive(sqs, url, 1, timeout=2)
    assert [json.loads(m["Body"])["id"] for m in got] == ids
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"orders"}


def test_event_bus_target_forwards_the_event_unchanged(events, sqs):
    """An event-bus target: the event goes on through the other bus's rules."""
    front, back = _new_bus(events), _new_bus(events)
    name = unique("forward")
    events.put_rule(Name=name, EventBusName=front, EventPattern=json.dumps({"source": ["payment-service"]}))
    r = events.put_targets(Rule=name, EventBusName=front, Targets=[{"Id": "bus", "Arn": bus_arn(back)}])
    assert r["FailedEntryCount"] == 0
    _, url, _ = _rule_to_queue(events, sqs, {"detail-type": [{"wildcard": "*.failed"}]}, bus=back)
    ids = put_ok(events, [payment_event("failed", bus=front), payment_event("processed", bus=front)])
    (got,) = receive_events(sqs, url, 1)
    assert got["id"] == ids[0]
    assert got["detail-type"] == "payment.failed"
    assert got["detail"]["reason"] == "card_declined"
    assert_empty(sqs, url, wait=0.5)


def test_target_queue_that_no_longer_exists_dead_letters_the_event(events, sqs):
    bus = _new_bus(events)
    gone_url, gone_arn = new_queue(sqs, "gone")
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["order-service"]}))
    events.put_targets(
        Rule=name,
        EventBusName=bus,
        Targets=[{"Id": "gone", "Arn": gone_arn, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    sqs.delete_queue(QueueUrl=gone_url)
    (eid,) = put_ok(events, [order_created(bus=bus)])
    (m,) = receive(sqs, dlq_url, 1)
    body = json.loads(m["Body"])
    assert body["id"] == eid and body["detail"]["orderId"] == "ord_67890"
    assert attr(m, "RULE_ARN") == rule_arn(name, bus)
    assert attr(m, "TARGET_ARN") == gone_arn
    assert attr(m, "ERROR_CODE")
    assert attr(m, "ERROR_MESSAGE")
    # Not retried: the target no longer exists.
    assert attr(m, "EXHAUSTED_RETRY_CONDITION") is None


# --------------------------------------------------------------------------- input


def _one_body(events, sqs, target_extra, event=None, pattern=None):
    bus = _new_bus(events)
    name, url, _ = _rule_to_queue(
        events, sqs, pattern or {"source": ["order-service"]}, bus=bus, target_extra=target_extra
    )
    (eid,) = put_ok(events, [dict(event or order_created(), EventBusName=bus)])
    (m,) = receive(sqs, url, 1)
    return m["Body"], eid, name, bus


def test_constant_input_replaces_the_event(events, sqs):
    body, _, _, _ = _one_body(events, sqs, {"Input": '{"action": "reserve-stock", "n": 2}'})
    assert json.loads(body) == {"action": "reserve-stock", "n": 2}


def test_input_path_selects_part_of_the_event(events, sqs):
    body, _, _, _ = _one_body(events, sqs, {"InputPath": "$.detail.metadata"})
    assert json.loads(body) == {"correlationId": "corr_abc123", "causationId": "evt_00000", "userId": "user_456"}
    body, _, _, _ = _one_body(events, sqs, {"InputPath": "$.detail.orderId"})
    assert body == '"ord_67890"'


def test_input_transformer_json_template(events, sqs):
    tr = {
        "InputPathsMap": {
            "order": "$.detail.orderId",
            "total": "$.detail.total",
            "items": "$.detail.items",
            "corr": "$.detail.metadata.correlationId",
        },
        "InputTemplate": '{"orderId": <order>, "amount": <total>, "lines": <items>, '
        '"note": "order <order> for <corr>"}',
    }
    body, _, _, _ = _one_body(events, sqs, {"InputTransformer": tr})
    assert json.loads(body) == {
        "orderId": "ord_67890",
        "amount": 59.98,
        "lines": [{"productId": "prod_222", "quantity": 2, "price": 29.99}],
        "note": "order ord_67890 for corr_abc123",
    }


def test_input_transformer_string_template_keeps_its_quotes(events, sqs):
    """A template that is a JSON string is sent as that string, quotes included; a path that
    matches nothing renders as an empty string (as AWS does)."""
    tr = {
        "InputPathsMap": {"type": "$.detail-type", "order": "$.detail.orderId", "missing": "$.detail.nothere"},
        "InputTemplate": '"Event <type> for order <order><missing>"',
    }
    body, _, _, _ = _one_body(events, sqs, {"InputTransformer": tr})
    assert body == '"Event order.created for order ord_67890"'


def test_input_transformer_predefined_variables(events, sqs):
    tr = {
        "InputPathsMap": {"id": "$.id"},
        "InputTemplate": '{"rule": "<aws.events.rule-name>", "arn": "<aws.events.rule-arn>", '
        '"at": "<aws.events.event.ingestion-time>", "id": <id>, "event": <aws.events.event.json>}',
    }
    t0 = datetime.datetime.now(datetime.timezone.utc)
    body, eid, name, bus = _one_body(events, sqs, {"InputTransformer": tr})
    out = json.loads(body)
    assert out["rule"] == name
    assert out["arn"] == rule_arn(name, bus)
    assert out["id"] == eid
    assert out["event"]["id"] == eid and out["event"]["detail"]["orderId"] == "ord_67890"
    at = datetime.datetime.fromisoformat(out["at"].replace("Z", "+00:00"))
    assert abs((at - t0).total_seconds()) <= 5


@pytest.mark.parametrize(
    "bad",
    [
        {"Input": "{}", "InputPath": "$.detail"},
        {"Input": "{}", "InputTransformer": {"InputTemplate": '"x"'}},
    ],
)
def test_only_one_kind_of_input_per_target(events, sqs, bad):
    bus = _new_bus(events)
    _, arn = new_queue(sqs)
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
    t = {"Id": "q", "Arn": arn}
    t.update(bad)
    try:
        r = events.put_targets(Rule=name, EventBusName=bus, Targets=[t])
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationException"
    else:
        assert r["FailedEntryCount"] == 1, r
    assert events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"] == []
