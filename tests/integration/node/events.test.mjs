// EventBridge over AWS JSON 1.1 with @aws-sdk/client-eventbridge v3: the seeds' routing
// (order.* to the inventory queue, payment.* to payments, *.failed to alerts), input
// transformation, errors as the SDK's typed exceptions, archive + replay, an HTTP target
// that fails and is dead-lettered with AWS's attributes, and UpdateEventBus.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  CreateApiDestinationCommand,
  CreateArchiveCommand,
  CreateConnectionCommand,
  CreateEventBusCommand,
  DescribeEventBusCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceNotFoundException,
  StartReplayCommand,
  UpdateEventBusCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { useSluiced, unique, ACCOUNT, REGION, SLOW, sleep } from "./sluiced.mjs";

const T = { timeout: 60000 * SLOW };

const busArn = (name) => `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
const ruleArn = (name, bus) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus}/${name}`;

describe("eventbridge (JSON 1.1, @aws-sdk/client-eventbridge)", { timeout: 240000 * SLOW }, () => {
  const ctx = useSluiced({ before, after });
  let eb;
  before(() => {
    eb = new EventBridgeClient({
      endpoint: ctx.server.endpoint,
      region: REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
  });
  after(() => eb?.destroy());

  async function queue(prefix = "evq") {
    const name = unique(prefix);
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name }));
    return { url: QueueUrl, arn: ctx.server.arn(name) };
  }

  async function bus() {
    const name = unique("bus");
    await eb.send(new CreateEventBusCommand({ Name: name }));
    return name;
  }

  async function ruleToQueue(busName, pattern, target = {}) {
    const q = await queue();
    const name = unique("rule");
    await eb.send(new PutRuleCommand({ Name: name, EventBusName: busName, EventPattern: JSON.stringify(pattern) }));
    const r = await eb.send(
      new PutTargetsCommand({ Rule: name, EventBusName: busName, Targets: [{ Id: "q", Arn: q.arn, ...target }] }),
    );
    assert.equal(r.FailedEntryCount, 0);
    return { ...q, rule: name };
  }

  // Receives until n messages arrived (or ~10 s); messages stay invisible, so each is read once.
  async function receive(url, n, seconds = 10) {
    const got = [];
    const deadline = Date.now() + seconds * 1000 * SLOW;
    while (got.length < n && Date.now() < deadline) {
      const r = await ctx.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 300,
          MessageAttributeNames: ["All"],
        }),
      );
      got.push(...(r.Messages ?? []));
    }
    return got;
  }

  async function putOk(entries) {
    const r = await eb.send(new PutEventsCommand({ Entries: entries }));
    assert.equal(r.FailedEntryCount, 0, JSON.stringify(r.Entries));
    return r.Entries.map((e) => e.EventId);
  }

  const orderCreated = (EventBusName, orderId = "ord_67890") => ({
    EventBusName,
    Source: "order-service",
    DetailType: "order.created",
    Detail: JSON.stringify({
      orderId,
      customerId: "cust_111",
      items: [{ productId: "prod_222", quantity: 2, price: 29.99 }],
      total: 59.98,
      metadata: { correlationId: "corr_abc123", causationId: "evt_00000", userId: "user_456" },
    }),
  });
  const payment = (EventBusName, kind) => ({
    EventBusName,
    Source: "payment-service",
    DetailType: `payment.${kind}`,
    Detail: JSON.stringify({ paymentId: "pay_1", orderId: "ord_67890", amount: 59.98, currency: "USD" }),
  });

  it("routes the seeds' events: order.* to inventory, payment.* to payments, *.failed to alerts", T, async () => {
    const b = await bus();
    const inventory = await ruleToQueue(b, { "detail-type": [{ prefix: "order." }] });
    const payments = await ruleToQueue(b, { "detail-type": [{ prefix: "payment." }] });
    const alerts = await ruleToQueue(b, { "detail-type": [{ wildcard: "*.failed" }] });
    const ids = await putOk([
      orderCreated(b),
      payment(b, "processed"),
      payment(b, "failed"),
      { EventBusName: b, Source: "user-service", DetailType: "user.registered", Detail: '{"userId":"u1"}' },
    ]);
    const bodies = async (q, n) => (await receive(q.url, n)).map((m) => JSON.parse(m.Body));
    const inv = await bodies(inventory, 1);
    assert.deepEqual(
      inv.map((e) => e.id),
      [ids[0]],
    );
    assert.equal(inv[0]["detail-type"], "order.created");
    assert.equal(inv[0].detail.total, 59.98);
    assert.equal(inv[0].account, ACCOUNT);
    assert.equal(inv[0].region, REGION);
    assert.deepEqual((await bodies(payments, 2)).map((e) => e.id).sort(), [ids[1], ids[2]].sort());
    assert.deepEqual(
      (await bodies(alerts, 1)).map((e) => e.id),
      [ids[2]],
    );
    assert.equal((await receive(alerts.url, 1, 1)).length, 0);
  });

  it("renders an InputTransformer template", T, async () => {
    const b = await bus();
    const q = await ruleToQueue(
      b,
      { source: ["order-service"] },
      {
        InputTransformer: {
          InputPathsMap: { order: "$.detail.orderId", total: "$.detail.total" },
          InputTemplate: '{"order": <order>, "amount": <total>, "rule": "<aws.events.rule-name>"}',
        },
      },
    );
    await putOk([orderCreated(b)]);
    const [m] = await receive(q.url, 1);
    assert.deepEqual(JSON.parse(m.Body), { order: "ord_67890", amount: 59.98, rule: q.rule });
  });

  it("reports per-entry PutEvents failures and typed exceptions", T, async () => {
    const r = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: "order-service", DetailType: "order.created", Detail: "not json" },
          orderCreated(undefined),
        ],
      }),
    );
    assert.equal(r.FailedEntryCount, 1);
    assert.deepEqual(r.Entries[0], { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
    assert.ok(r.Entries[1].EventId);

    const missing = unique("missing");
    await assert.rejects(eb.send(new DescribeRuleCommand({ Name: missing })), (err) => {
      assert.ok(err instanceof ResourceNotFoundException, `got ${err.name}: ${err.message}`);
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.ok(err.message.includes(missing));
      return true;
    });
    await assert.rejects(eb.send(new PutRuleCommand({ Name: unique("bad"), EventPattern: "{nope" })), (err) => {
      assert.ok(err instanceof InvalidEventPatternException, `got ${err.name}: ${err.message}`);
      return true;
    });
  });

  it("archives events and replays a window with replay-name", T, async () => {
    const b = await bus();
    const archive = unique("archive");
    const a = await eb.send(new CreateArchiveCommand({ ArchiveName: archive, EventSourceArn: busArn(b) }));
    assert.equal(a.State, "ENABLED");
    const q = await ruleToQueue(b, { source: ["payment-service"] });
    const start = new Date(Math.floor(Date.now() / 1000) * 1000);
    const [id] = await putOk([payment(b, "processed")]);
    assert.equal((await receive(q.url, 1)).length, 1);
    // Whole seconds on the wire: wait into the next second before closing the window.
    await sleep(1100 - (Date.now() % 1000));
    const end = new Date(Math.floor(Date.now() / 1000) * 1000);
    const replay = unique("replay");
    const r = await eb.send(
      new StartReplayCommand({
        ReplayName: replay,
        EventSourceArn: a.ArchiveArn,
        EventStartTime: start,
        EventEndTime: end,
        Destination: { Arn: busArn(b) },
      }),
    );
    assert.equal(r.State, "STARTING");
    const [m] = await receive(q.url, 1);
    const e = JSON.parse(m.Body);
    assert.equal(e.id, id);
    assert.equal(e["replay-name"], replay);
    let d;
    for (let i = 0; i < 100; i++) {
      d = await eb.send(new DescribeReplayCommand({ ReplayName: replay }));
      if (d.State === "COMPLETED") break;
      await sleep(100);
    }
    assert.equal(d.State, "COMPLETED");
    assert.equal(d.EventStartTime.getTime(), start.getTime());
    assert.equal(d.EventEndTime.getTime(), end.getTime());
  });

  it("dead-letters an event whose HTTP target keeps failing", T, async () => {
    const hits = [];
    const http = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        hits.push({ at: Date.now(), body });
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    try {
      const { port } = http.address();
      const conn = await eb.send(
        new CreateConnectionCommand({
          Name: unique("conn"),
          AuthorizationType: "API_KEY",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "k" } },
        }),
      );
      const dest = await eb.send(
        new CreateApiDestinationCommand({
          Name: unique("dest"),
          ConnectionArn: conn.ConnectionArn,
          InvocationEndpoint: `http://127.0.0.1:${port}/inventory`,
          HttpMethod: "POST",
        }),
      );
      const dlq = await queue("dlq");
      const b = await bus();
      const rule = unique("rule");
      await eb.send(new PutRuleCommand({ Name: rule, EventBusName: b, EventPattern: '{"source":["order-service"]}' }));
      await eb.send(
        new PutTargetsCommand({
          Rule: rule,
          EventBusName: b,
          Targets: [
            {
              Id: "http",
              Arn: dest.ApiDestinationArn,
              RetryPolicy: { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 60 },
              DeadLetterConfig: { Arn: dlq.arn },
            },
          ],
        }),
      );
      const [id] = await putOk([orderCreated(b)]);
      const [m] = await receive(dlq.url, 1, 15);
      assert.ok(m, "nothing dead-lettered");
      assert.equal(JSON.parse(m.Body).id, id);
      const attr = (k) => m.MessageAttributes?.[k]?.StringValue;
      assert.equal(attr("RULE_ARN"), ruleArn(rule, b));
      assert.equal(attr("TARGET_ARN"), dest.ApiDestinationArn);
      assert.ok(attr("ERROR_CODE"));
      assert.ok(attr("ERROR_MESSAGE"));
      assert.equal(attr("EXHAUSTED_RETRY_CONDITION"), "MaximumRetryAttempts");
      assert.equal(attr("RETRY_ATTEMPTS"), "1");
      assert.equal(hits.length, 2);
      assert.ok(hits[1].at - hits[0].at >= 400, `retried after ${hits[1].at - hits[0].at} ms`);
    } finally {
      http.close();
    }
  });

  it("updates an event bus description", T, async () => {
    const name = unique("bus");
    await eb.send(new CreateEventBusCommand({ Name: name, Description: "before" }));
    assert.equal((await eb.send(new DescribeEventBusCommand({ Name: name }))).Description, "before");
    await eb.send(new UpdateEventBusCommand({ Name: name, Description: "after" }));
    assert.equal((await eb.send(new DescribeEventBusCommand({ Name: name }))).Description, "after");
  });
});
