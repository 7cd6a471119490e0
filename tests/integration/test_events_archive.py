"""Archives and replays (boto3): the archive lifecycle and errors, archives recording the
events that match them (never replayed ones), and replays re-sending a time window of an
archive to its bus (EventStartTime inclusive, EventEndTime exclusive, by the time the event
was archived) with "replay-name" added, to every rule or only Destination.FilterArns, with
the replay's states STARTING -> RUNNING -> COMPLETED and CANCELLING -> CANCELLED."""

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from events_helpers import (  # noqa: F401 - fixtures
    ACCOUNT,
    REGION,
    SLOW,
    archive_arn,
    assert_empty,
    bus_arn,
    err,
    events,
    new_queue,
    order_created,
    payment_event,
    put_ok,
    receive_events,
    rule_arn,
    unique,
    wait_for_second_boundary,
)

PAST = datetime.datetime(2021, 2, 1, tzinfo=datetime.timezone.utc)


def _bus(events):
    name = unique("bus")
    events.create_event_bus(Name=name)
    return name


def _rule_to_queue(events, sqs, bus, pattern):
    url, arn = new_queue(sqs)
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return name, url


def _wait_replay(events, name, states=("COMPLETED",), timeout=15.0):
    deadline = time.monotonic() + timeout * SLOW
    while True:
        d = events.describe_replay(ReplayName=name)
        if d["State"] in states or time.monotonic() > deadline:
            return d
        time.sleep(0.1)


# --------------------------------------------------------------------------- archives


def test_archive_lifecycle(events):
    bus = _bus(events)
    name = unique("archive")
    pattern = json.dumps({"source": ["order-service"]})
    c = events.create_archive(
        ArchiveName=name, EventSourceArn=bus_arn(bus), Description="orders", EventPattern=pattern, RetentionDays=7
    )
    assert c["ArchiveArn"] == archive_arn(name)
    assert c["State"] == "ENABLED"
    assert isinstance(c["CreationTime"], datetime.datetime)
    d = events.describe_archive(ArchiveName=name)
    assert d["ArchiveArn"] == archive_arn(name)
    assert d["ArchiveName"] == name
    assert d["EventSourceArn"] == bus_arn(bus)
    assert d["Description"] == "orders"
    assert json.loads(d["EventPattern"]) == {"source": ["order-service"]}
    assert d["RetentionDays"] == 7
    assert d["State"] == "ENABLED"
    assert d["EventCount"] == 0 and d["SizeBytes"] == 0
    assert d["CreationTime"] == c["CreationTime"]
    listed = events.list_archives(NamePrefix=name)["Archives"]
    assert [a["ArchiveName"] for a in listed] == [name]
    assert listed[0]["EventSourceArn"] == bus_arn(bus)
    assert [a["ArchiveName"] for a in events.list_archives(EventSourceArn=bus_arn(bus))["Archives"]] == [name]

    u = events.update_archive(ArchiveName=name, Description="all orders", RetentionDays=14)
    assert u["ArchiveArn"] == archive_arn(name)
    d = events.describe_archive(ArchiveName=name)
    assert (d["Description"], d["RetentionDays"]) == ("all orders", 14)

    events.delete_archive(ArchiveName=name)
    with pytest.raises(ClientError) as e:
        events.describe_archive(ArchiveName=name)
    assert err(e) == ("ResourceNotFoundException", "Archive %s does not exist." % name)
    assert events.list_archives(NamePrefix=name)["Archives"] == []


def test_archive_defaults(events):
    name = unique("archive")
    events.create_archive(ArchiveName=name, EventSourceArn=bus_arn("default"))
    d = events.describe_archive(ArchiveName=name)
    assert d["RetentionDays"] == 0  # kept indefinitely
    assert "EventPattern" not in d
    assert d["EventSourceArn"] == bus_arn("default")
    events.delete_archive(ArchiveName=name)


def test_create_archive_that_exists(events):
    bus = _bus(events)
    name = unique("archive")
    events.create_archive(ArchiveName=name, EventSourceArn=bus_arn(bus))
    with pytest.raises(ClientError) as e:
        events.create_archive(ArchiveName=name, EventSourceArn=bus_arn(bus))
    assert err(e) == ("ResourceAlreadyExistsException", "Archive %s already exists." % name)


def test_create_archive_on_a_bus_that_does_not_exist(events):
    missing = unique("nobus")
    with pytest.raises(ClientError) as e:
        events.create_archive(ArchiveName=unique("archive"), EventSourceArn=bus_arn(missing))
    assert err(e) == ("ResourceNotFoundException", "Event bus %s does not exist." % missing)


def test_list_archives_of_a_bus_that_does_not_exist(events):
    missing = unique("nobus")
    with pytest.raises(ClientError) as e:
        events.list_archives(EventSourceArn=bus_arn(missing))
    assert err(e) == ("ResourceNotFoundException", "Event bus %s does not exist." % missing)


def test_archive_pattern_and_name_errors(events):
    bus = _bus(events)
    with pytest.raises(ClientError) as e:
        events.create_archive(ArchiveName=unique("archive"), EventSourceArn=bus_arn(bus), EventPattern="invalid")
    assert err(e)[0] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as e:
        events.create_archive(ArchiveName="a" * 49, EventSourceArn=bus_arn(bus))
    assert err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.delete_archive(ArchiveName=unique("missing"))
    assert err(e)[0] == "ResourceNotFoundException"


def test_archives_record_the_events_that_match_them(events):
    bus = _bus(events)
    everything, orders, none = unique("all"), unique("orders"), unique("none")
    events.create_archive(ArchiveName=everything, EventSourceArn=bus_arn(bus))
    events.create_archive(
        ArchiveName=orders, EventSourceArn=bus_arn(bus), EventPattern=json.dumps({"source": ["order-service"]})
    )
    events.create_archive(
        ArchiveName=none, EventSourceArn=bus_arn(bus), EventPattern=json.dumps({"source": ["nobody"]})
    )
    put_ok(
        events,
        [
            dict(order_created("o1"), EventBusName=bus),
            dict(order_created("o2"), EventBusName=bus),
            dict(payment_event("processed"), EventBusName=bus),
        ],
    )
    put_ok(events, [order_created("on-default")])  # another bus: not archived here
    counts = {n: events.describe_archive(ArchiveName=n) for n in (everything, orders, none)}
    assert counts[everything]["EventCount"] == 3
    assert counts[orders]["EventCount"] == 2
    assert counts[none]["EventCount"] == 0
    assert counts[everything]["SizeBytes"] > counts[orders]["SizeBytes"] > 0
    assert counts[none]["SizeBytes"] == 0


# --------------------------------------------------------------------------- replays


def test_replay_resends_its_window_with_replay_name(events, sqs):
    bus = _bus(events)
    archive = unique("archive")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    _, url = _rule_to_queue(events, sqs, bus, {"source": ["order-service"]})

    (before,) = put_ok(events, [dict(order_created("before"), EventBusName=bus)])
    start = wait_for_second_boundary()
    inside = put_ok(events, [dict(order_created("in-%d" % i), EventBusName=bus) for i in range(3)])
    end = wait_for_second_boundary()
    (after,) = put_ok(events, [dict(order_created("after"), EventBusName=bus)])
    assert len(receive_events(sqs, url, 5)) == 5  # the live deliveries
    archived = events.describe_archive(ArchiveName=archive)["EventCount"]
    assert archived == 5

    name = unique("replay")
    r = events.start_replay(
        ReplayName=name,
        Description="re-run inventory",
        EventSourceArn=archive_arn(archive),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn(bus)},
    )
    assert r["ReplayArn"] == "arn:aws:events:%s:%s:replay/%s" % (REGION, ACCOUNT, name)
    assert r["State"] == "STARTING"
    assert isinstance(r["ReplayStartTime"], datetime.datetime)

    replayed = receive_events(sqs, url, 3)
    assert sorted(e["id"] for e in replayed) == sorted(inside)
    for e in replayed:
        assert e["replay-name"] == name
        assert e["detail"]["orderId"].startswith("in-")
        assert e["source"] == "order-service" and e["detail-type"] == "order.created"
    assert_empty(sqs, url, wait=1.0)  # neither `before` nor `after`
    assert before not in {e["id"] for e in replayed} and after not in {e["id"] for e in replayed}

    d = _wait_replay(events, name)
    assert d["State"] == "COMPLETED"
    assert d["ReplayName"] == name
    assert d["ReplayArn"] == r["ReplayArn"]
    assert d["Description"] == "re-run inventory"
    assert d["EventSourceArn"] == archive_arn(archive)
    assert d["Destination"] == {"Arn": bus_arn(bus)}
    assert d["EventStartTime"] == start
    assert d["EventEndTime"] == end
    assert d["ReplayStartTime"] <= d["ReplayEndTime"]
    assert start <= d["EventLastReplayedTime"] < end
    listed = events.list_replays(NamePrefix=name)["Replays"]
    assert [x["ReplayName"] for x in listed] == [name]
    assert listed[0]["State"] == "COMPLETED"
    assert [x["ReplayName"] for x in events.list_replays(EventSourceArn=archive_arn(archive))["Replays"]] == [name]
    # Replayed events are not archived again.
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == archived


def test_replay_with_filter_arns_reaches_only_those_rules(events, sqs):
    bus = _bus(events)
    archive = unique("archive")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    inventory_rule, inventory_url = _rule_to_queue(events, sqs, bus, {"detail-type": [{"prefix": "order."}]})
    _, audit_url = _rule_to_queue(events, sqs, bus, {"source": ["order-service", "payment-service"]})
    start = wait_for_second_boundary(margin=0.1)
    ids = put_ok(
        events, [dict(order_created(), EventBusName=bus), dict(payment_event("processed"), EventBusName=bus)]
    )
    receive_events(sqs, inventory_url, 1)
    receive_events(sqs, audit_url, 2)
    end = wait_for_second_boundary(margin=0.1)
    name = unique("replay")
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn(archive),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn(bus), "FilterArns": [rule_arn(inventory_rule, bus)]},
    )
    (got,) = receive_events(sqs, inventory_url, 1)
    assert got["id"] == ids[0] and got["replay-name"] == name
    assert _wait_replay(events, name)["State"] == "COMPLETED"
    assert events.describe_replay(ReplayName=name)["Destination"]["FilterArns"] == [rule_arn(inventory_rule, bus)]
    assert_empty(sqs, audit_url, wait=1.0)
    assert_empty(sqs, inventory_url, wait=0.2)


def test_rules_can_tell_replayed_events_apart(events, sqs):
    """A replay adds "replay-name", so {"replay-name": [{"exists": false}]} keeps a rule to
    live events only."""
    bus = _bus(events)
    archive = unique("archive")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    _, live_url = _rule_to_queue(
        events, sqs, bus, {"source": ["order-service"], "replay-name": [{"exists": False}]}
    )
    _, replay_url = _rule_to_queue(events, sqs, bus, {"replay-name": [{"exists": True}]})
    start = wait_for_second_boundary(margin=0.1)
    (eid,) = put_ok(events, [dict(order_created(), EventBusName=bus)])
    end = wait_for_second_boundary(margin=0.1)
    assert [e["id"] for e in receive_events(sqs, live_url, 1)] == [eid]
    name = unique("replay")
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn(archive),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn(bus)},
    )
    (got,) = receive_events(sqs, replay_url, 1)
    assert got["replay-name"] == name
    assert _wait_replay(events, name)["State"] == "COMPLETED"
    assert_empty(sqs, live_url, wait=0.5)


def _replay_setup(events):
    bus = _bus(events)
    archive = unique("archive")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    good = dict(
        EventSourceArn=archive_arn(archive),
        EventStartTime=PAST,
        EventEndTime=PAST + datetime.timedelta(days=1),
        Destination={"Arn": bus_arn(bus)},
    )
    return bus, good


def test_start_replay_of_an_archive_that_does_not_exist(events):
    _, good = _replay_setup(events)
    missing = unique("missing")
    with pytest.raises(ClientError) as e:
        events.start_replay(ReplayName=unique("r"), **dict(good, EventSourceArn=archive_arn(missing)))
    assert err(e) == (
        "ValidationException",
        "Parameter EventSourceArn is not valid. Reason: Archive %s does not exist." % missing,
    )


@pytest.mark.parametrize("end_offset", [0, -3600])
def test_start_replay_window_must_not_be_empty(events, end_offset):
    _, good = _replay_setup(events)
    with pytest.raises(ClientError) as e:
        events.start_replay(
            ReplayName=unique("r"), **dict(good, EventEndTime=PAST + datetime.timedelta(seconds=end_offset))
        )
    assert err(e) == (
        "ValidationException",
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
    )


def test_start_replay_to_another_bus(events):
    _, good = _replay_setup(events)
    other = _bus(events)
    with pytest.raises(ClientError) as e:
        events.start_replay(ReplayName=unique("r"), **dict(good, Destination={"Arn": bus_arn(other)}))
    assert err(e) == (
        "ValidationException",
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
    )


def test_start_replay_to_a_bus_that_does_not_exist(events):
    _, good = _replay_setup(events)
    nobus = unique("nobus")
    with pytest.raises(ClientError) as e:
        events.start_replay(ReplayName=unique("r"), **dict(good, Destination={"Arn": bus_arn(nobus)}))
    assert err(e) == ("ResourceNotFoundException", "Event bus %s does not exist." % nobus)


def test_start_replay_name_taken_and_unknown_replays(events):
    _, good = _replay_setup(events)
    name = unique("r")
    events.start_replay(ReplayName=name, **good)
    with pytest.raises(ClientError) as e:
        events.start_replay(ReplayName=name, **good)
    assert err(e) == ("ResourceAlreadyExistsException", "Replay %s already exists." % name)
    nope = unique("nope")
    with pytest.raises(ClientError) as e:
        events.describe_replay(ReplayName=nope)
    assert err(e) == ("ResourceNotFoundException", "Replay %s does not exist." % nope)


def test_cancel_replay(events, sqs):
    bus = _bus(events)
    archive = unique("archive")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    _, url = _rule_to_queue(events, sqs, bus, {"source": ["order-service"]})
    start = wait_for_second_boundary(margin=0.1)
    n = 600
    for k in range(0, n, 10):
        put_ok(events, [dict(order_created("o%d" % i), EventBusName=bus) for i in range(k, k + 10)])
    end = wait_for_second_boundary(margin=0.1)
    sqs.purge_queue(QueueUrl=url)

    # A finished replay cannot be cancelled.
    done = unique("done")
    events.start_replay(
        ReplayName=done,
        EventSourceArn=archive_arn(archive),
        EventStartTime=PAST,
        EventEndTime=PAST + datetime.timedelta(hours=1),
        Destination={"Arn": bus_arn(bus)},
    )
    assert _wait_replay(events, done)["State"] == "COMPLETED"
    with pytest.raises(ClientError) as e:
        events.cancel_replay(ReplayName=done)
    assert err(e)[0] == "IllegalStatusException"
    with pytest.raises(ClientError) as e:
        events.cancel_replay(ReplayName=unique("nope"))
    assert err(e)[0] == "ResourceNotFoundException"

    # A replay of many events, cancelled at once: it stops where it was.
    name = unique("replay")
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn(archive),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn(bus)},
    )
    try:
        c = events.cancel_replay(ReplayName=name)
    except ClientError as ex:
        # Lost the race: the replay finished first. Then it must say so.
        assert ex.response["Error"]["Code"] == "IllegalStatusException"
        assert events.describe_replay(ReplayName=name)["State"] == "COMPLETED"
        pytest.skip("the replay of %d events completed before CancelReplay" % n)
    assert c["State"] == "CANCELLING"
    assert c["ReplayArn"].endswith(":replay/" + name)
    d = _wait_replay(events, name, states=("CANCELLED", "COMPLETED"))
    assert d["State"] == "CANCELLED"
    time.sleep(0.5)
    replayed = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]["ApproximateNumberOfMessages"])
    assert replayed < n
