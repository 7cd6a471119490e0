"""EventBridge durability: SIGKILL while PutEvents runs loses no acknowledged event (every
acknowledged event is in every queue its rules route it to after the restart, once), an
event's fan-out is all or nothing, and work in flight at the kill (HTTP deliveries being
retried, a running replay) carries on after the restart."""

import json
import random
import threading
import time

import pytest

from events_helpers import (  # noqa: F401 - fixtures
    SLOW,
    archive_arn,
    bus_arn,
    create_destination,
    http_endpoint,
    inventory_event,
    make_events_client,
    new_queue,
    order_created,
    order_event,
    payment_event,
    put_ok,
    seed_routes,
    setup_seed_routing,
    unique,
    user_registered,
    wait_for_second_boundary,
)
from helpers import collect_markers, make_client

LOAD_SECONDS = 2.0
SENDERS = 4


def _random_entry(bus, rng, n):
    kind = rng.randrange(7)
    oid = "ord_%d" % n
    e = [
        lambda: order_created(oid),
        lambda: order_event("cancelled", oid),
        lambda: payment_event("processed", oid),
        lambda: payment_event("failed", oid),
        lambda: order_event("failed", oid),
        lambda: inventory_event("reserved"),
        lambda: user_registered(),
    ][kind]()
    e["EventBusName"] = bus
    return e


def _sender(endpoint, bus, idx, stop, killed, ledger):
    c = make_events_client(endpoint, connect_timeout=2, read_timeout=10)
    rng = random.Random(idx)
    n = 0
    while not stop.is_set():
        batch = [_random_entry(bus, rng, idx * 1000000 + n + i) for i in range(rng.randint(1, 10))]
        n += len(batch)
        try:
            r = c.put_events(Entries=batch)
        except Exception as e:  # noqa: BLE001 - connection errors after the kill are expected
            if not killed.is_set():
                with ledger["lock"]:
                    ledger["errors"].append(repr(e))
            time.sleep(0.05)
            continue
        with ledger["lock"]:
            for sent, res in zip(batch, r["Entries"]):
                if "EventId" in res:
                    ledger["acked"][res["EventId"]] = sent["DetailType"]
                elif not killed.is_set():
                    ledger["errors"].append(repr(res))


def _event_id(body):
    return json.loads(body)["id"]


@pytest.mark.sluice_timeout(150)
@pytest.mark.parametrize("durability", ["full", "normal"])
def test_kill_9_during_put_events_loses_no_acknowledged_event(fresh_server_factory, durability):
    srv = fresh_server_factory(durability=durability)
    ev = make_events_client(srv.endpoint)
    sqs = make_client(srv.endpoint)
    setup = setup_seed_routing(ev, sqs, bus=unique("ecommerce-events"))
    bus = setup["bus"]
    archive = unique("archive")
    ev.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))

    ledger = {"lock": threading.Lock(), "acked": {}, "errors": []}
    stop, killed = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=_sender, args=(srv.endpoint, bus, i, stop, killed, ledger), daemon=True)
        for i in range(SENDERS)
    ]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS)
    killed.set()
    srv.kill()  # SIGKILL while PutEvents calls are in flight
    stop.set()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads)
    assert ledger["errors"] == []
    acked = dict(ledger["acked"])
    assert len(acked) >= 100, "too little load to mean anything (%d events)" % len(acked)

    t_restart = time.monotonic()
    srv.start(port=srv.port)
    t_up = time.monotonic()
    sqs = make_client(srv.endpoint)
    ev = make_events_client(srv.endpoint)
    expected = {q: {eid for eid, dt in acked.items() if q in seed_routes(dt)} for q in setup["queues"]}
    seen = {}

    def collect(q, url):
        seen[q] = collect_markers(srv.endpoint, url, _event_id, expected[q], timeout=30)

    collectors = [threading.Thread(target=collect, args=(q, url)) for q, (url, _) in setup["queues"].items()]
    for t in collectors:
        t.start()
    for t in collectors:
        t.join()
    print(
        "durability=%s restart=%.1fs collect=%.1fs acked=%d %s"
        % (
            durability,
            t_up - t_restart,
            time.monotonic() - t_up,
            len(acked),
            " ".join("%s=%d/%d" % (q, len(seen[q]), len(expected[q])) for q in seen),
        )
    )
    for q in setup["queues"]:
        lost = expected[q] - set(seen[q])
        assert not lost, "%s: %d of %d acknowledged events lost, e.g. %s" % (
            q,
            len(lost),
            len(expected[q]),
            sorted(lost)[:3],
        )
        dup = {k: v for k, v in seen[q].items() if v > 1}
        assert not dup, "%s: events delivered more than once: %s" % (q, list(dup.items())[:3])
    # All or nothing: an event that reached one of its queues (acknowledged or not) reached
    # them all, and no queue holds an event its rule does not match.
    possible = {frozenset(seed_routes(dt)) for dt in ("order.x", "payment.x", "payment.failed", "order.failed")}
    for eid in set().union(*(set(s) for s in seen.values())):
        in_queues = frozenset(q for q in seen if eid in seen[q])
        if eid in acked:
            assert in_queues == seed_routes(acked[eid]), (eid, acked[eid], in_queues)
        else:
            assert in_queues in possible, (eid, in_queues)
    # The archive recorded every acknowledged event too (in the same transaction).
    assert ev.describe_archive(ArchiveName=archive)["EventCount"] >= len(acked)


@pytest.mark.sluice_timeout(90)
def test_http_delivery_being_retried_survives_kill(fresh_server_factory, http_endpoint):
    srv = fresh_server_factory()
    ev = make_events_client(srv.endpoint)
    http_endpoint.always(503)
    _, dest = create_destination(ev, http_endpoint.url("/orders"))
    bus = unique("bus")
    ev.create_event_bus(Name=bus)
    rule = unique("rule")
    ev.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["order-service"]}))
    ev.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "http", "Arn": dest}])
    (eid,) = put_ok(ev, [dict(order_created(), EventBusName=bus)])
    assert len(http_endpoint.wait(1)) >= 1
    # Kill during the backoff after that failure (the first retry waits 0.5-1 s): the
    # pending delivery and its retry schedule are in the store, nothing is in flight.
    time.sleep(0.3)
    srv.kill()
    http_endpoint.always(200)
    srv.start(port=srv.port)
    deadline = time.monotonic() + 30 * SLOW
    ok = []
    while time.monotonic() < deadline and not ok:
        time.sleep(0.2)
        reqs = http_endpoint.received()
        ok = [r for r in reqs[1:] if r.json()["id"] == eid]
    assert ok, "the delivery did not resume after the restart (%d requests)" % len(http_endpoint.received())


@pytest.mark.sluice_timeout(120)
def test_replay_interrupted_by_kill_finishes_after_restart(fresh_server_factory):
    srv = fresh_server_factory()
    ev = make_events_client(srv.endpoint)
    sqs = make_client(srv.endpoint)
    bus = unique("bus")
    ev.create_event_bus(Name=bus)
    archive = unique("archive")
    ev.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    start = wait_for_second_boundary(margin=0.1)
    ids = set()
    for k in range(0, 500, 10):
        ids |= set(put_ok(ev, [dict(order_created("o%d" % i), EventBusName=bus) for i in range(k, k + 10)]))
    end = wait_for_second_boundary(margin=0.1)
    # The rule exists only for the replay, so the queue holds replayed events alone.
    url, arn = new_queue(sqs, "replayed")
    rule = unique("rule")
    ev.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"replay-name": [{"exists": True}]}))
    ev.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    name = unique("replay")
    ev.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn(archive),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn(bus)},
    )
    srv.kill()
    srv.start(port=srv.port)
    ev = make_events_client(srv.endpoint)
    sqs = make_client(srv.endpoint)
    deadline = time.monotonic() + 30 * SLOW
    state = None
    while time.monotonic() < deadline:
        state = ev.describe_replay(ReplayName=name)["State"]
        if state == "COMPLETED":
            break
        time.sleep(0.2)
    assert state == "COMPLETED"
    seen = collect_markers(srv.endpoint, url, _event_id, ids, settle=0.5, timeout=30)
    missing = ids - set(seen)
    assert not missing, "%d of %d archived events never replayed" % (len(missing), len(ids))
    assert set(seen) <= ids
