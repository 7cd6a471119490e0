// DynamoDB over AWS JSON 1.0 with @aws-sdk/client-dynamodb v3: a table with a sort key,
// put/get/update/query, a conditional put failing as the SDK's typed
// ConditionalCheckFailedException (with the old item when ReturnValuesOnConditionCheckFailure
// asks for it), and a transaction cancelled with its reasons.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { useSluiced, unique, REGION, SLOW } from "./sluiced.mjs";

const T = { timeout: 60000 * SLOW };

describe("dynamodb (JSON 1.0, @aws-sdk/client-dynamodb)", { timeout: 240000 * SLOW }, () => {
  const ctx = useSluiced({ before, after });
  let ddb;
  let table;
  before(async () => {
    ddb = new DynamoDBClient({
      endpoint: ctx.server.endpoint,
      region: REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    table = unique("orders");
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: "customer", AttributeType: "S" },
          { AttributeName: "order_no", AttributeType: "N" },
        ],
        KeySchema: [
          { AttributeName: "customer", KeyType: "HASH" },
          { AttributeName: "order_no", KeyType: "RANGE" },
        ],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  });
  after(() => ddb?.destroy());

  it("puts, gets, updates and queries in key order", T, async () => {
    for (const n of [3, 1, 20, 2]) {
      await ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: { customer: { S: "c1" }, order_no: { N: String(n) }, amount: { N: "1.50" } },
        }),
      );
    }
    const got = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { customer: { S: "c1" }, order_no: { N: "20" } } }),
    );
    assert.deepEqual(got.Item.amount, { N: "1.5" });
    const upd = await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { customer: { S: "c1" }, order_no: { N: "20" } },
        UpdateExpression: "SET #s = :s ADD amount :t",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":s": { S: "PAID" }, ":t": { N: "0.25" } },
        ReturnValues: "ALL_NEW",
      }),
    );
    assert.deepEqual(upd.Attributes.amount, { N: "1.75" });
    assert.deepEqual(upd.Attributes.status, { S: "PAID" });
    const q = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "customer = :c AND order_no >= :n",
        ExpressionAttributeValues: { ":c": { S: "c1" }, ":n": { N: "2" } },
        ScanIndexForward: false,
      }),
    );
    assert.deepEqual(
      q.Items.map((i) => Number(i.order_no.N)),
      [20, 3, 2],
    );
  });

  it("fails a conditional put with a typed exception carrying the item", T, async () => {
    const key = { customer: { S: "c2" }, order_no: { N: "1" } };
    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: { ...key, v: { S: "first" } },
        ConditionExpression: "attribute_not_exists(customer)",
      }),
    );
    await assert.rejects(
      ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: { ...key, v: { S: "second" } },
          ConditionExpression: "attribute_not_exists(customer)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
      (err) => {
        assert.ok(err instanceof ConditionalCheckFailedException, err.name);
        assert.equal(err.message, "The conditional request failed");
        assert.deepEqual(err.Item?.v, { S: "first" });
        return true;
      },
    );
    await assert.rejects(
      ddb.send(new GetItemCommand({ TableName: "no-such-table", Key: key })),
      (err) => err instanceof ResourceNotFoundException,
    );
  });

  it("cancels a transaction with reasons", T, async () => {
    await assert.rejects(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { customer: { S: "c3" }, order_no: { N: "1" } } } },
            {
              ConditionCheck: {
                TableName: table,
                Key: { customer: { S: "c2" }, order_no: { N: "1" } },
                ConditionExpression: "attribute_not_exists(customer)",
              },
            },
          ],
        }),
      ),
      (err) => {
        assert.ok(err instanceof TransactionCanceledException, err.name);
        assert.deepEqual(
          err.CancellationReasons.map((r) => r.Code),
          ["None", "ConditionalCheckFailed"],
        );
        return true;
      },
    );
    const got = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { customer: { S: "c3" }, order_no: { N: "1" } } }),
    );
    assert.equal(got.Item, undefined);
  });
});
