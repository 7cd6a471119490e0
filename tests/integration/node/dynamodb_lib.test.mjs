// DynamoDB through @aws-sdk/lib-dynamodb's DynamoDBDocumentClient (native JavaScript values
// marshalled over @aws-sdk/client-dynamodb, AWS JSON 1.0): Put/Get/Update with numbers
// (38 digits kept through NumberValue), nested maps, lists and sets; conditions and
// ReturnValues; Query and Scan through the paginators; BatchWrite/BatchGet; transactions,
// one cancelled with its reasons; and seed 004's tables (orders by order_id, inventory by
// item_id, pay-per-request) driven the way its order processor would drive them.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  NumberValue,
  PutCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
  paginateQuery,
  paginateScan,
} from "@aws-sdk/lib-dynamodb";
import { useSluiced, unique, SLOW } from "./sluiced.mjs";

const T = { timeout: 60000 * SLOW };

describe("dynamodb (JSON 1.0, @aws-sdk/lib-dynamodb)", { timeout: 300000 * SLOW }, () => {
  const ctx = useSluiced({ before, after });
  let ddb;
  let doc;
  let table; // customer (S) + seq (N)
  before(async () => {
    ddb = new DynamoDBClient(ctx.server.clientConfig());
    doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
    table = await createTable(unique("customers"), ["customer", "S"], ["seq", "N"]);
  });
  after(() => {
    doc?.destroy();
    ddb?.destroy();
  });

  async function createTable(name, [hash, hashType], range) {
    const attrs = [{ AttributeName: hash, AttributeType: hashType }];
    const keys = [{ AttributeName: hash, KeyType: "HASH" }];
    if (range) {
      attrs.push({ AttributeName: range[0], AttributeType: range[1] });
      keys.push({ AttributeName: range[0], KeyType: "RANGE" });
    }
    const r = await ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: attrs,
        KeySchema: keys,
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    assert.equal(r.TableDescription.TableStatus, "ACTIVE");
    return name;
  }

  const isConditionFailure = (e) => {
    assert.ok(e instanceof ConditionalCheckFailedException, `${e.name}: ${e.message}`);
    assert.equal(e.message, "The conditional request failed");
    assert.equal(e.$metadata.httpStatusCode, 400);
    return true;
  };

  it("puts and gets native values: numbers, nested maps, lists, sets, binary", T, async () => {
    const item = {
      customer: "c-native",
      seq: 1,
      name: "Ada",
      active: true,
      nothing: null,
      price: 29.99,
      negative: -17,
      address: { city: "Paris", geo: { lat: 48.8566, lon: 2.3522 }, lines: ["1 rue", "Bât. B"] },
      orders: [{ id: "o-1", qty: 2 }, "loose", 3, [true, null]],
      tags: new Set(["vip", "early"]),
      scores: new Set([1, 2.5, 300]),
      blob: new Uint8Array([0, 1, 254, 255]),
      dropped: undefined, // removeUndefinedValues
    };
    await doc.send(new PutCommand({ TableName: table, Item: item }));
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { customer: "c-native", seq: 1 } }));
    const { dropped, ...stored } = item;
    assert.equal(dropped, undefined);
    assert.deepEqual(Item, stored);
    assert.ok(Item.tags instanceof Set && Item.scores instanceof Set);
    assert.ok(Item.blob instanceof Uint8Array);

    const proj = await doc.send(
      new GetCommand({
        TableName: table,
        Key: { customer: "c-native", seq: 1 },
        ProjectionExpression: "address.geo.lat, orders[0].qty, #n",
        ExpressionAttributeNames: { "#n": "name" },
      }),
    );
    assert.deepEqual(proj.Item, { address: { geo: { lat: 48.8566 } }, orders: [{ qty: 2 }], name: "Ada" });
  });

  it("keeps 38-digit numbers exact through NumberValue", T, async () => {
    const big = "12345678901234567890123456789012345678";
    const tiny = "0.000000000000000000000000000000000001";
    // A document client's options live in its DynamoDBClient's config: a client of its own.
    const exactBase = new DynamoDBClient(ctx.server.clientConfig());
    const exact = DynamoDBDocumentClient.from(exactBase, { unmarshallOptions: { wrapNumbers: true } });
    await exact.send(
      new PutCommand({
        TableName: table,
        Item: { customer: "c-big", seq: 1, big: NumberValue.from(big), tiny: NumberValue.from(tiny), small: 5 },
      }),
    );
    const { Item } = await exact.send(new GetCommand({ TableName: table, Key: { customer: "c-big", seq: 1 } }));
    assert.equal(Item.big.toString(), big);
    assert.equal(Number(Item.tiny.toString()), 1e-36);
    assert.equal(Item.small.toString(), "5");
    const added = await exact.send(
      new UpdateCommand({
        TableName: table,
        Key: { customer: "c-big", seq: 1 },
        UpdateExpression: "ADD big :one",
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    assert.equal(added.Attributes.big.toString(), "12345678901234567890123456789012345679");
    // Without wrapNumbers, an integer too large for a double comes back as a BigInt.
    const plain = await doc.send(new GetCommand({ TableName: table, Key: { customer: "c-big", seq: 1 } }));
    assert.equal(plain.Item.big, 12345678901234567890123456789012345679n);
    assert.equal(plain.Item.small, 5);
    exact.destroy();
    exactBase.destroy();
  });

  it("updates with conditions and ReturnValues", T, async () => {
    const key = { customer: "c-upd", seq: 1 };
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { ...key, status: "NEW", total: 10, tags: new Set(["a"]), history: ["created"], meta: { source: "web" } },
        ConditionExpression: "attribute_not_exists(customer)",
      }),
    );
    const r = await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression:
          "SET #s = :paid, meta.paid_at = :when, meta.card = :card, history = list_append(history, :h) " +
          "ADD #t :add, tags :more REMOVE meta.#src",
        ConditionExpression: "#s = :new AND #t < :limit AND contains(tags, :a)",
        ExpressionAttributeNames: { "#s": "status", "#t": "total", "#src": "source" },
        ExpressionAttributeValues: {
          ":paid": "PAID",
          ":new": "NEW",
          ":when": "2024-01-15T10:00:00Z",
          ":card": { last4: "4242", brand: "visa" },
          ":h": ["paid"],
          ":add": 0.5,
          ":more": new Set(["b", "c"]),
          ":limit": 100,
          ":a": "a",
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    assert.deepEqual(r.Attributes, {
      ...key,
      status: "PAID",
      total: 10.5,
      tags: new Set(["a", "b", "c"]),
      history: ["created", "paid"],
      meta: { paid_at: "2024-01-15T10:00:00Z", card: { last4: "4242", brand: "visa" } },
    });

    const old = await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression: "SET #t = #t - :d DELETE tags :gone",
        ExpressionAttributeNames: { "#t": "total" },
        ExpressionAttributeValues: { ":d": 0.25, ":gone": new Set(["b"]) },
        ReturnValues: "UPDATED_OLD",
      }),
    );
    assert.deepEqual(old.Attributes, { total: 10.5, tags: new Set(["a", "b", "c"]) });

    await assert.rejects(
      doc.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: "SET #s = :paid",
          ConditionExpression: "#s = :new",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":paid": "PAID", ":new": "NEW" },
        }),
      ),
      isConditionFailure,
    );
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    assert.equal(Item.total, 10.25);
    assert.deepEqual(Item.tags, new Set(["a", "c"]));

    const deleted = await doc.send(new DeleteCommand({ TableName: table, Key: key, ReturnValues: "ALL_OLD" }));
    assert.equal(deleted.Attributes.status, "PAID");
    assert.equal((await doc.send(new GetCommand({ TableName: table, Key: key }))).Item, undefined);
  });

  it("queries and scans page by page with the paginators", T, async () => {
    const pageTable = await createTable(unique("pages"), ["customer", "S"], ["seq", "N"]);
    for (const customer of ["c-a", "c-b"]) {
      for (let seq = 1; seq <= 23; seq++) {
        await doc.send(new PutCommand({ TableName: pageTable, Item: { customer, seq, even: seq % 2 === 0 } }));
      }
    }
    const pages = [];
    for await (const page of paginateQuery(
      { client: doc, pageSize: 10 },
      {
        TableName: pageTable,
        KeyConditionExpression: "customer = :c AND seq BETWEEN :lo AND :hi",
        ExpressionAttributeValues: { ":c": "c-a", ":lo": 2, ":hi": 22 },
        ScanIndexForward: false,
      },
    )) {
      pages.push(page.Items.map((i) => i.seq));
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [10, 10, 1],
    );
    assert.deepEqual(
      pages.flat(),
      Array.from({ length: 21 }, (_, i) => 22 - i),
    );

    // A filter applies after the limit: pages may be short, and the keys still go on.
    const filtered = [];
    let count = 0;
    let scanned = 0;
    for await (const page of paginateScan(
      { client: doc, pageSize: 7 },
      { TableName: pageTable, FilterExpression: "even = :t", ExpressionAttributeValues: { ":t": true } },
    )) {
      assert.ok(page.ScannedCount <= 7);
      filtered.push(...page.Items);
      count += page.Count;
      scanned += page.ScannedCount;
    }
    assert.equal(scanned, 46);
    assert.equal(count, 22);
    assert.equal(filtered.length, 22);
    assert.ok(filtered.every((i) => i.seq % 2 === 0));
    const segment = await doc.send(new ScanCommand({ TableName: pageTable, Select: "COUNT" }));
    assert.deepEqual([segment.Count, segment.Items], [46, undefined]);
  });

  it("writes and reads in batches", T, async () => {
    const batchTable = await createTable(unique("batch"), ["customer", "S"], ["seq", "N"]);
    const items = Array.from({ length: 25 }, (_, i) => ({
      customer: "c-batch",
      seq: i,
      payload: { n: i, list: [i, `${i}`] },
    }));
    const w = await doc.send(
      new BatchWriteCommand({ RequestItems: { [batchTable]: items.map((Item) => ({ PutRequest: { Item } })) } }),
    );
    assert.deepEqual(w.UnprocessedItems, {});
    const keys = [0, 7, 24, 99].map((seq) => ({ customer: "c-batch", seq }));
    const g = await doc.send(new BatchGetCommand({ RequestItems: { [batchTable]: { Keys: keys } } }));
    assert.deepEqual(g.UnprocessedKeys, {});
    const got = g.Responses[batchTable].sort((a, b) => a.seq - b.seq);
    assert.deepEqual(got, [items[0], items[7], items[24]]);

    await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [batchTable]: [
            { DeleteRequest: { Key: { customer: "c-batch", seq: 0 } } },
            { PutRequest: { Item: { customer: "c-batch", seq: 7, replaced: true } } },
          ],
        },
      }),
    );
    const again = await doc.send(
      new BatchGetCommand({
        RequestItems: { [batchTable]: { Keys: keys.slice(0, 2), ProjectionExpression: "seq, replaced" } },
      }),
    );
    assert.deepEqual(again.Responses[batchTable], [{ seq: 7, replaced: true }]);
  });

  it("commits a transaction, and cancels one with its reasons", T, async () => {
    const a = { customer: "c-tx", seq: 1 };
    const b = { customer: "c-tx", seq: 2 };
    await doc.send(new PutCommand({ TableName: table, Item: { ...a, balance: 100 } }));
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: table,
              Key: a,
              UpdateExpression: "SET balance = balance - :amt",
              ConditionExpression: "balance >= :amt",
              ExpressionAttributeValues: { ":amt": 30 },
            },
          },
          { Put: { TableName: table, Item: { ...b, balance: 30, from: a } } },
        ],
      }),
    );
    const readBoth = () =>
      doc.send(new TransactGetCommand({ TransactItems: [a, b].map((Key) => ({ Get: { TableName: table, Key } })) }));
    const read = await readBoth();
    assert.deepEqual(
      read.Responses.map((r) => r.Item.balance),
      [70, 30],
    );
    assert.deepEqual(read.Responses[1].Item.from, a);

    await assert.rejects(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: b,
                UpdateExpression: "SET balance = balance + :amt",
                ExpressionAttributeValues: { ":amt": 500 },
              },
            },
            {
              Update: {
                TableName: table,
                Key: a,
                UpdateExpression: "SET balance = balance - :amt",
                ConditionExpression: "balance >= :amt",
                ExpressionAttributeValues: { ":amt": 500 },
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            },
          ],
        }),
      ),
      (e) => {
        assert.ok(e instanceof TransactionCanceledException, `${e.name}: ${e.message}`);
        assert.equal(e.$metadata.httpStatusCode, 400);
        assert.equal(
          e.message,
          "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
        );
        assert.deepEqual(
          e.CancellationReasons.map((r) => r.Code),
          ["None", "ConditionalCheckFailed"],
        );
        assert.equal(e.CancellationReasons[1].Message, "The conditional request failed");
        // Errors are not translated by the document client: the old item is in wire form.
        assert.deepEqual(e.CancellationReasons[1].Item.balance, { N: "70" });
        return true;
      },
    );
    const after = await readBoth();
    assert.deepEqual(
      after.Responses.map((r) => r.Item.balance),
      [70, 30],
    );
  });

  describe("seed 004: the order and inventory processors' tables", () => {
    let orders;
    let inventory;
    before(async () => {
      orders = await createTable(unique("event-driven-orders"), ["order_id", "S"]);
      inventory = await createTable(unique("event-driven-inventory"), ["item_id", "S"]);
    });

    // The inventory processor's handling of an "Inventory Updated" event.
    async function onInventoryUpdated(detail) {
      const r = await doc.send(
        new UpdateCommand({
          TableName: inventory,
          Key: { item_id: detail.item_id },
          UpdateExpression: "ADD quantity :q SET last_action = :a, updated_at = :t",
          ExpressionAttributeValues: { ":q": detail.quantity, ":a": detail.action, ":t": detail.timestamp },
          ReturnValues: "ALL_NEW",
        }),
      );
      return r.Attributes;
    }

    // The order processor's handling of an "Order Created" event: the order is stored and
    // every item's stock taken in one transaction; a redelivered event changes nothing and
    // an order the stock cannot serve is stored as REJECTED.
    async function onOrderCreated(detail) {
      const order = {
        order_id: detail.order_id,
        customer_id: detail.customer_id,
        items: detail.items,
        total: detail.total,
        created_at: detail.timestamp,
      };
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: orders,
                  Item: { ...order, status: "CREATED" },
                  ConditionExpression: "attribute_not_exists(order_id)",
                },
              },
              ...detail.items.map((it) => ({
                Update: {
                  TableName: inventory,
                  Key: { item_id: it.item_id },
                  UpdateExpression: "SET quantity = quantity - :q",
                  ConditionExpression: "quantity >= :q",
                  ExpressionAttributeValues: { ":q": it.quantity },
                },
              })),
            ],
          }),
        );
        return "CREATED";
      } catch (e) {
        if (!(e instanceof TransactionCanceledException)) throw e;
        const [orderReason, ...itemReasons] = e.CancellationReasons.map((r) => r.Code);
        if (orderReason === "ConditionalCheckFailed") return "DUPLICATE";
        assert.ok(itemReasons.includes("ConditionalCheckFailed"), itemReasons.join());
        await doc.send(
          new PutCommand({
            TableName: orders,
            Item: { ...order, status: "REJECTED", reason: "insufficient stock" },
            ConditionExpression: "attribute_not_exists(order_id)",
          }),
        );
        return "REJECTED";
      }
    }

    it("creates both tables pay-per-request, keyed as the stack keys them", T, async () => {
      for (const [name, key] of [
        [orders, "order_id"],
        [inventory, "item_id"],
      ]) {
        const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
        assert.equal(Table.BillingModeSummary?.BillingMode, "PAY_PER_REQUEST");
        assert.deepEqual(Table.KeySchema, [{ AttributeName: key, KeyType: "HASH" }]);
        assert.deepEqual(Table.AttributeDefinitions, [{ AttributeName: key, AttributeType: "S" }]);
      }
    });

    it("processes the seed's events like its Lambda handlers would", T, async () => {
      const restocked = await onInventoryUpdated({
        item_id: "ITEM-001",
        quantity: 100,
        action: "restock",
        timestamp: "2024-01-15T10:00:00Z",
      });
      assert.deepEqual(restocked, {
        item_id: "ITEM-001",
        quantity: 100,
        last_action: "restock",
        updated_at: "2024-01-15T10:00:00Z",
      });
      await onInventoryUpdated({ item_id: "ITEM-002", quantity: 1, action: "restock", timestamp: "2024-01-15T10:00:00Z" });

      const created = {
        order_id: "ORD-001",
        customer_id: "CUST-001",
        items: [{ item_id: "ITEM-001", quantity: 2, price: 29.99 }],
        total: 59.98,
        timestamp: "2024-01-15T10:00:00Z",
      };
      assert.equal(await onOrderCreated(created), "CREATED");
      assert.equal(await onOrderCreated(created), "DUPLICATE"); // redelivered: nothing taken twice
      const tooMany = {
        order_id: "ORD-002",
        customer_id: "CUST-002",
        items: [
          { item_id: "ITEM-001", quantity: 1, price: 29.99 },
          { item_id: "ITEM-002", quantity: 5, price: 5.5 },
        ],
        total: 57.49,
        timestamp: "2024-01-15T10:05:00Z",
      };
      assert.equal(await onOrderCreated(tooMany), "REJECTED");

      const stock = await doc.send(
        new BatchGetCommand({ RequestItems: { [inventory]: { Keys: [{ item_id: "ITEM-001" }, { item_id: "ITEM-002" }] } } }),
      );
      const quantities = Object.fromEntries(stock.Responses[inventory].map((i) => [i.item_id, i.quantity]));
      assert.deepEqual(quantities, { "ITEM-001": 98, "ITEM-002": 1 });

      const order = (await doc.send(new GetCommand({ TableName: orders, Key: { order_id: "ORD-001" } }))).Item;
      assert.deepEqual(order, {
        order_id: "ORD-001",
        customer_id: "CUST-001",
        items: [{ item_id: "ITEM-001", quantity: 2, price: 29.99 }],
        total: 59.98,
        created_at: "2024-01-15T10:00:00Z",
        status: "CREATED",
      });
      // The seed's check: `aws dynamodb scan --table-name $ORDERS_TABLE --limit 10`.
      const scan = await doc.send(new ScanCommand({ TableName: orders, Limit: 10 }));
      assert.equal(scan.LastEvaluatedKey, undefined);
      assert.deepEqual(scan.Items.map((i) => [i.order_id, i.status]).sort(), [
        ["ORD-001", "CREATED"],
        ["ORD-002", "REJECTED"],
      ]);
    });
  });
});
