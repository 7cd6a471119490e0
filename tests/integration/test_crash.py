"""Durability: kill -9 mid-load loses no acknowledged send and resurrects no acknowledged
delete; in-flight state (receive counts, visibility deadlines) and queue metadata survive a
crash; SIGTERM answers parked long polls and exits 0 with everything kept."""

import json
import threading
import time

import pytest

from helpers import SLOW, counts, make_client, queue_attrs

LOAD_SECONDS = 3.0
SENDERS = 6
RECEIVERS = 2  # 8 client threads in all
LOAD_VT = 5  # visibility timeout of the receives made during the load


class Ledger:
    """What the clients were told, under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}  # MessageId -> body, for every acknowledged send
        self.deleted = set()  # MessageIds whose delete was acknowledged while the handle was fresh
        self.uncertain = set()  # deletes sent but not (or too late) acknowledged
        self.errors_before_kill = []


def _sender(endpoint, url, idx, stop, killed, ledger):
    c = make_client(endpoint, connect_timeout=2, read_timeout=10)
    n = 0
    while not stop.is_set():
        n += 1
        try:
            if n % 4 == 0:
                entries = [{"Id": "e%d" % k, "MessageBody": "s%d-%d-%d" % (idx, n, k)} for k in range(5)]
                r = c.send_message_batch(QueueUrl=url, Entries=entries)
                bodies = {e["Id"]: e["MessageBody"] for e in entries}
                with ledger.lock:
                    for ok in r.get("Successful", []):
                        ledger.acked[ok["MessageId"]] = bodies[ok["Id"]]
            else:
                body = "s%d-%d" % (idx, n)
                r = c.send_message(QueueUrl=url, MessageBody=body)
                with ledger.lock:
                    ledger.acked[r["MessageId"]] = body
        except Exception as e:  # noqa: BLE001 - connection errors after the kill are expected
            if not killed.is_set():
                with ledger.lock:
                    ledger.errors_before_kill.append(repr(e))
            time.sleep(0.05)


def _receiver(endpoint, url, stop, killed, ledger):
    c = make_client(endpoint, connect_timeout=2, read_timeout=10)
    while not stop.is_set():
        try:
            r = c.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=LOAD_VT
            )
        except Exception as e:  # noqa: BLE001
            if not killed.is_set():
                with ledger.lock:
                    ledger.errors_before_kill.append(repr(e))
            time.sleep(0.05)
            continue
        msgs = r.get("Messages", [])
        if not msgs:
            continue
        t_received = time.monotonic()
        ids = {str(i): m["MessageId"] for i, m in enumerate(msgs)}
        with ledger.lock:
            ledger.uncertain.update(ids.values())
        try:
            d = c.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
            )
        except Exception as e:  # noqa: BLE001
            if not killed.is_set():
                with ledger.lock:
                    ledger.errors_before_kill.append(repr(e))
            continue
        fresh = time.monotonic() - t_received < LOAD_VT - 1
        with ledger.lock:
            for ok in d.get("Successful", []):
                if fresh:
                    ledger.deleted.add(ids[ok["Id"]])
                    ledger.uncertain.discard(ids[ok["Id"]])


@pytest.mark.sluice_timeout(150)
@pytest.mark.parametrize("durability", ["full", "normal"])
def test_kill_9_mid_load_loses_no_acknowledged_message(fresh_server_factory, durability):
    srv = fresh_server_factory(durability=durability)
    admin = make_client(srv.endpoint)
    url = admin.create_queue(QueueName="crash-load")["QueueUrl"]
    ledger = Ledger()
    stop, killed = threading.Event(), threading.Event()
    threads = [threading.Thread(target=_sender, args=(srv.endpoint, url, i, stop, killed, ledger), daemon=True) for i in range(SENDERS)]
    threads += [threading.Thread(target=_receiver, args=(srv.endpoint, url, stop, killed, ledger), daemon=True) for _ in range(RECEIVERS)]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS)
    killed.set()
    srv.kill()  # SIGKILL while every thread is mid-request
    stop.set()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads)
    assert ledger.errors_before_kill == []
    acked = dict(ledger.acked)
    deleted = set(ledger.deleted)
    uncertain = set(ledger.uncertain)
    assert len(acked) >= 50, "too little load to mean anything (%d sends)" % len(acked)
    assert deleted, "the receivers deleted nothing"
    must_survive = set(acked) - deleted - uncertain

    srv.start(port=srv.port)
    c = make_client(srv.endpoint)
    found = {}
    # Messages in flight at the kill come back when their visibility timeout (LOAD_VT)
    # expires: keep receiving until everything expected is back, or well past that.
    deadline = time.monotonic() + LOAD_VT + 15 * SLOW
    empty_after_complete = 0
    while time.monotonic() < deadline:
        msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=120).get(
            "Messages", []
        )
        for m in msgs:
            found[m["MessageId"]] = m["Body"]
        if msgs:
            c.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
            )
        elif must_survive <= set(found):
            empty_after_complete += 1
            if empty_after_complete >= 2:
                break
    print(
        "durability=%s acked=%d deleted=%d uncertain=%d must_survive=%d found=%d"
        % (durability, len(acked), len(deleted), len(uncertain), len(must_survive), len(found))
    )
    lost = must_survive - set(found)
    resurrected = deleted & set(found)
    assert not lost, "%d of %d acknowledged messages lost, e.g. %s" % (len(lost), len(must_survive), sorted(lost)[:5])
    assert not resurrected, "%d acknowledged deletes came back, e.g. %s" % (len(resurrected), sorted(resurrected)[:5])
    for mid in must_survive:
        assert found[mid] == acked[mid]  # bodies intact


@pytest.mark.sluice_timeout(90)
def test_in_flight_receive_count_and_deadline_survive_kill(fresh_server):
    srv = fresh_server
    c = make_client(srv.endpoint)
    url = c.create_queue(QueueName="inflight")["QueueUrl"]
    sent = c.send_message(QueueUrl=url, MessageBody="in flight across a crash")
    (m1,) = c.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=1, AttributeNames=["All"])["Messages"]
    first_receive = m1["Attributes"]["ApproximateFirstReceiveTimestamp"]
    vt = int(6 * SLOW)
    (m2,) = c.receive_message(QueueUrl=url, WaitTimeSeconds=5, VisibilityTimeout=vt, AttributeNames=["All"])["Messages"]
    t_deadline = time.monotonic() + vt
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"

    srv.restart_after_kill()
    c = make_client(srv.endpoint)
    remaining = t_deadline - time.monotonic()
    assert remaining > 1.0, "restart took too long to check the deadline (%.1f s left)" % remaining
    assert counts(c, url) == (0, 1, 0)
    assert c.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    (m3,) = c.receive_message(
        QueueUrl=url, WaitTimeSeconds=min(20, int(remaining) + 4), AttributeNames=["All"]
    )["Messages"]
    t_back = time.monotonic()
    assert t_back >= t_deadline - 0.6, "came back %.2f s before its deadline" % (t_deadline - t_back)
    assert t_back <= t_deadline + 1.5 * SLOW
    assert m3["MessageId"] == sent["MessageId"]
    assert m3["Body"] == "in flight across a crash"
    assert m3["Attributes"]["ApproximateReceiveCount"] == "3"
    assert m3["Attributes"]["ApproximateFirstReceiveTimestamp"] == first_receive


@pytest.mark.sluice_timeout(60)
def test_receipt_handle_issued_before_a_crash_still_deletes(fresh_server):
    srv = fresh_server
    c = make_client(srv.endpoint)
    url = c.create_queue(QueueName="handles")["QueueUrl"]
    c.send_message(QueueUrl=url, MessageBody="delete me later")
    (m,) = c.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=60)["Messages"]
    srv.restart_after_kill()
    c = make_client(srv.endpoint)
    c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert counts(c, url) == (0, 0, 0)


@pytest.mark.sluice_timeout(60)
def test_queue_state_survives_kill(fresh_server):
    srv = fresh_server
    c = make_client(srv.endpoint)
    dlq = c.create_queue(QueueName="state-dlq")["QueueUrl"]
    dlq_arn = queue_attrs(c, dlq, "QueueArn")["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4})
    std = c.create_queue(
        QueueName="state-std", Attributes={"VisibilityTimeout": "17", "RedrivePolicy": policy}, tags={"k": "v"}
    )["QueueUrl"]
    c.set_queue_attributes(QueueUrl=std, Attributes={"DelaySeconds": "3"})
    fifo = c.create_queue(QueueName="state.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    first = c.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="dedup-1")
    gone = c.create_queue(QueueName="state-gone")["QueueUrl"]
    c.delete_queue(QueueUrl=gone)
    kept = c.send_message(QueueUrl=std, MessageBody="kept", DelaySeconds=0)
    before = queue_attrs(c, std, "All")

    srv.restart_after_kill()
    c = make_client(srv.endpoint)
    assert sorted(c.list_queues()["QueueUrls"]) == sorted([dlq, std, fifo])
    after = queue_attrs(c, std, "All")
    for k in ("VisibilityTimeout", "DelaySeconds", "QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"):
        assert after[k] == before[k], k
    assert json.loads(after["RedrivePolicy"])["deadLetterTargetArn"] == dlq_arn
    assert c.list_queue_tags(QueueUrl=std)["Tags"] == {"k": "v"}
    assert c.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [std]
    (m,) = c.receive_message(QueueUrl=std, WaitTimeSeconds=1)["Messages"]
    assert m["MessageId"] == kept["MessageId"]
    # FIFO deduplication state is durable too.
    again = c.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="dedup-1")
    assert again["MessageId"] == first["MessageId"]
    assert counts(c, fifo) == (1, 0, 0)


@pytest.mark.sluice_timeout(60)
def test_sigterm_answers_long_polls_and_keeps_everything(fresh_server):
    srv = fresh_server
    c = make_client(srv.endpoint)
    url = c.create_queue(QueueName="graceful")["QueueUrl"]
    c.send_message(QueueUrl=url, MessageBody="survives a clean stop")
    (m,) = c.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=1)["Messages"]
    c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    c.send_message(QueueUrl=url, MessageBody="kept")
    empty = c.create_queue(QueueName="graceful-empty")["QueueUrl"]
    result = {}

    def poll():
        t0 = time.monotonic()
        try:
            r = make_client(srv.endpoint).receive_message(QueueUrl=empty, WaitTimeSeconds=20)
            result["messages"] = r.get("Messages", [])
        except Exception as e:  # noqa: BLE001
            result["error"] = repr(e)
        result["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(1.0)  # parked
    t0 = time.monotonic()
    rc = srv.stop(timeout=10)
    th.join(10)
    assert rc == 0
    assert time.monotonic() - t0 < 10 * SLOW
    assert result.get("messages") == [], result  # answered (empty), not cut off
    assert result["elapsed"] < 15

    srv.start(port=srv.port)
    c = make_client(srv.endpoint)
    got = c.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)["Messages"]
    assert [x["Body"] for x in got] == ["kept"]
