"""DynamoDB durability: SIGKILL while writers put, update and write batches and
transactions; after the restart every acknowledged PutItem and batch item is there, every
acknowledged counter increment is counted (an unacknowledged one may be counted too, never
twice), every acknowledged transaction is whole, and no transaction is torn."""

import threading
import time

import botocore.exceptions

from ddb_helpers import create_table, make_ddb
from helpers import SLOW

LOAD_SECONDS = 2.0
WRITERS = 4


def _writer(endpoint, table, idx, stop, ledger, lock):
    c = make_ddb(endpoint, connect_timeout=2, read_timeout=10)
    n = 0
    while not stop.is_set():
        n += 1
        k = "w%d-%d" % (idx, n)
        try:
            if n % 4 == 0:
                c.batch_write_item(RequestItems={table: [
                    {"PutRequest": {"Item": {"pk": {"S": "%s-b%d" % (k, j)}, "v": {"N": str(j)}}}} for j in range(5)]})
                acked = ["%s-b%d" % (k, j) for j in range(5)]
            elif n % 4 == 1:
                c.transact_write_items(TransactItems=[
                    {"Put": {"TableName": table, "Item": {"pk": {"S": k + "-t1"}, "tx": {"S": k}}}},
                    {"Put": {"TableName": table, "Item": {"pk": {"S": k + "-t2"}, "tx": {"S": k}}}}])
                acked = [k + "-t1", k + "-t2"]
            elif n % 4 == 2:
                c.update_item(TableName=table, Key={"pk": {"S": "counter-%d" % idx}},
                              UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
                with lock:
                    ledger["counts"][idx] += 1
                continue
            else:
                c.put_item(TableName=table, Item={"pk": {"S": k}, "body": {"S": "x" * 200}},
                           ConditionExpression="attribute_not_exists(pk)")
                acked = [k]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            if n % 4 == 2:
                with lock:
                    ledger["maybe"][idx] += 1
            continue
        with lock:
            ledger["keys"] += acked


def test_sigkill_loses_nothing_acknowledged(fresh_server):
    c = make_ddb(fresh_server.endpoint)
    table = create_table(c)
    stop = threading.Event()
    lock = threading.Lock()
    ledger = {"keys": [], "counts": [0] * WRITERS, "maybe": [0] * WRITERS}
    threads = [threading.Thread(target=_writer, args=(fresh_server.endpoint, table, i, stop, ledger, lock))
               for i in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS * SLOW)
    fresh_server.kill()
    stop.set()
    for t in threads:
        t.join()
    with lock:
        acked, counts, maybe = list(ledger["keys"]), list(ledger["counts"]), list(ledger["maybe"])
    assert len(acked) > 50
    fresh_server.start(port=fresh_server.port)
    c = make_ddb(fresh_server.endpoint)
    stored = {}
    for page in c.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            stored[item["pk"]["S"]] = item
    missing = [k for k in acked if k not in stored]
    assert not missing, "acknowledged items lost: %s" % missing[:10]
    for idx in range(WRITERS):
        got = int(stored.get("counter-%d" % idx, {"n": {"N": "0"}})["n"]["N"])
        assert counts[idx] <= got <= counts[idx] + maybe[idx] + 1, (idx, counts[idx], maybe[idx], got)
    txs = {}
    for k, item in stored.items():
        if "tx" in item:
            txs.setdefault(item["tx"]["S"], set()).add(k)
    for tx, keys in txs.items():
        assert keys == {tx + "-t1", tx + "-t2"}, "torn transaction %s: %s" % (tx, keys)
    assert c.describe_table(TableName=table)["Table"]["ItemCount"] == len(stored)
