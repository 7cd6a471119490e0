// Messages over AWS JSON 1.0: send/receive/delete with attributes, digests (the SDK checks
// MD5OfMessageBody itself; attribute digests are checked here), batches with partial failures.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  InvalidMessageContents,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  TooManyEntriesInBatchRequest,
  BatchEntryIdsNotDistinct,
} from "@aws-sdk/client-sqs";
import { useSluiced, unique, md5Hex, md5OfAttributes } from "./sluiced.mjs";

const T = { timeout: 30000 };

const ATTRS = {
  text: { DataType: "String", StringValue: "héllo ✓ <&>" },
  num: { DataType: "Number", StringValue: "3.14" },
  bin: { DataType: "Binary", BinaryValue: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
  "custom.one": { DataType: "String.label", StringValue: "c1" },
  "custom.two": { DataType: "Binary.png", BinaryValue: Uint8Array.from([137, 80, 78, 71]) },
};

// Attributes as the SDK returns them (BinaryValue as Uint8Array) compared by value.
function normalize(attrs) {
  const out = {};
  for (const [k, v] of Object.entries(attrs ?? {})) {
    out[k] = { DataType: v.DataType };
    if (v.StringValue !== undefined) out[k].StringValue = v.StringValue;
    if (v.BinaryValue !== undefined) out[k].BinaryValue = Buffer.from(v.BinaryValue).toString("hex");
  }
  return out;
}

async function counts(sqs, QueueUrl) {
  const { Attributes: a } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    }),
  );
  return [a.ApproximateNumberOfMessages, a.ApproximateNumberOfMessagesNotVisible, a.ApproximateNumberOfMessagesDelayed].map(Number);
}

describe("messages (JSON protocol)", { timeout: 180000 }, () => {
  const ctx = useSluiced({ before, after });
  const newQueue = async (attrs = {}) =>
    (await ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jsmsg"), Attributes: attrs }))).QueueUrl;

  it("the SDK is configured to verify body digests, and does", T, async () => {
    // Some SDK versions default md5 to on, others need `md5: true`; this one must check.
    assert.equal(typeof ctx.sqs.config.md5, "function", "SQSClient does not verify MD5s by default");
    const QueueUrl = await newQueue();
    // Prove the check is live: corrupt the digest the server sent and expect a rejection.
    const tampered = ctx.server.client();
    tampered.middlewareStack.add(
      (next) => async (args) => {
        const r = await next(args);
        if (r.output?.MD5OfMessageBody) r.output.MD5OfMessageBody = "0".repeat(32);
        for (const m of r.output?.Messages ?? []) m.MD5OfBody = "0".repeat(32);
        return r;
      },
      { step: "build", name: "corruptDigests" },
    );
    await assert.rejects(tampered.send(new SendMessageCommand({ QueueUrl, MessageBody: "checked" })), /Checksum|MD5/i);
    await assert.rejects(
      tampered.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 })),
      /Checksum|MD5/i,
    );
    tampered.destroy();
  });

  it("sends, receives and deletes with attributes", T, async () => {
    const QueueUrl = await newQueue();
    const body = '{"hello": "wörld", "n": 1}\n\ttabbed\r\nline';
    const sent = await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body, MessageAttributes: ATTRS }));
    assert.equal(sent.MD5OfMessageBody, md5Hex(body));
    assert.equal(sent.MD5OfMessageAttributes, md5OfAttributes(ATTRS));
    const r = await ctx.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        WaitTimeSeconds: 2,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    assert.equal(r.Messages.length, 1);
    const [m] = r.Messages;
    assert.equal(m.Body, body);
    assert.equal(m.MessageId, sent.MessageId);
    assert.equal(m.MD5OfBody, md5Hex(body));
    assert.deepEqual(normalize(m.MessageAttributes), normalize(ATTRS));
    assert.equal(m.MD5OfMessageAttributes, md5OfAttributes(m.MessageAttributes));
    assert.equal(m.Attributes.ApproximateReceiveCount, "1");
    assert.ok(Math.abs(Number(m.Attributes.SentTimestamp) - Date.now()) < 10000);
    assert.ok(m.Attributes.SenderId);
    await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    assert.deepEqual(await counts(ctx.sqs, QueueUrl), [0, 0, 0]);
  });

  it("filters message attributes by name and prefix", T, async () => {
    const QueueUrl = await newQueue();
    await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "f", MessageAttributes: ATTRS }));
    const { Messages: [m] } = await ctx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2, MessageAttributeNames: ["custom.*", "num"], VisibilityTimeout: 0 }),
    );
    assert.deepEqual(Object.keys(m.MessageAttributes).sort(), ["custom.one", "custom.two", "num"]);
    const want = { "custom.one": ATTRS["custom.one"], "custom.two": ATTRS["custom.two"], num: ATTRS.num };
    assert.equal(m.MD5OfMessageAttributes, md5OfAttributes(want));
    const { Messages: [n] } = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
    assert.equal(n.MD5OfMessageAttributes, undefined);
    assert.deepEqual(n.MessageAttributes ?? {}, {});
  });

  it("rejects invalid characters and oversize bodies with the right errors", T, async () => {
    const QueueUrl = await newQueue({ MaximumMessageSize: "1024" });
    await assert.rejects(ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "bad\u0000" })), (err) => {
      assert.ok(err instanceof InvalidMessageContents, `got ${err.name}: ${err.message}`);
      assert.equal(err.Code, "InvalidMessageContents");
      return true;
    });
    await assert.rejects(ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(1025) })), (err) => {
      assert.equal(err.Code, "InvalidParameterValue", `got ${err.name}/${err.Code}: ${err.message}`);
      assert.equal(err.$metadata.httpStatusCode, 400);
      return true;
    });
    await assert.rejects(ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })), (err) => {
      assert.equal(err.Code, "InvalidParameterValue", `got ${err.name}/${err.Code}: ${err.message}`);
      return true;
    });
    await assert.rejects(
      ctx.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: "garbage" })),
      (err) => {
        assert.ok(err instanceof ReceiptHandleIsInvalid, `got ${err.name}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 404);
        return true;
      },
    );
    assert.deepEqual(await counts(ctx.sqs, QueueUrl), [0, 0, 0]);
  });

  it("batches with partial failures", T, async () => {
    const QueueUrl = await newQueue();
    const sent = await ctx.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "a", MessageBody: "one", MessageAttributes: { k: { DataType: "String", StringValue: "v" } } },
          { Id: "bad", MessageBody: "bad\u0001" },
          { Id: "c", MessageBody: "three", DelaySeconds: 0 },
        ],
      }),
    );
    assert.deepEqual(sent.Successful.map((e) => e.Id).sort(), ["a", "c"]);
    const byId = Object.fromEntries(sent.Successful.map((e) => [e.Id, e]));
    assert.equal(byId.a.MD5OfMessageBody, md5Hex("one"));
    assert.equal(byId.a.MD5OfMessageAttributes, md5OfAttributes({ k: { DataType: "String", StringValue: "v" } }));
    assert.equal(sent.Failed.length, 1);
    assert.equal(sent.Failed[0].Id, "bad");
    assert.equal(sent.Failed[0].Code, "InvalidMessageContents");
    assert.equal(sent.Failed[0].SenderFault, true);

    let msgs = [];
    for (let i = 0; i < 5 && msgs.length < 2; i++) {
      const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
      msgs = msgs.concat(r.Messages ?? []);
    }
    assert.equal(msgs.length, 2);

    const cv = await ctx.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "ok", ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 120 },
          { Id: "nope", ReceiptHandle: "garbage", VisibilityTimeout: 0 },
        ],
      }),
    );
    assert.deepEqual(cv.Successful.map((e) => e.Id), ["ok"]);
    assert.equal(cv.Failed[0].Id, "nope");
    assert.equal(cv.Failed[0].Code, "ReceiptHandleIsInvalid");
    assert.equal(cv.Failed[0].SenderFault, true);

    const del = await ctx.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "d0", ReceiptHandle: msgs[0].ReceiptHandle },
          { Id: "d1", ReceiptHandle: msgs[1].ReceiptHandle },
          { Id: "d2", ReceiptHandle: "garbage" },
        ],
      }),
    );
    assert.deepEqual(del.Successful.map((e) => e.Id).sort(), ["d0", "d1"]);
    assert.deepEqual(del.Failed.map((e) => [e.Id, e.Code, e.SenderFault]), [["d2", "ReceiptHandleIsInvalid", true]]);
    assert.deepEqual(await counts(ctx.sqs, QueueUrl), [0, 0, 0]);
  });

  it("rejects malformed batches as a whole", T, async () => {
    const QueueUrl = await newQueue();
    await assert.rejects(ctx.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [] })), (err) => {
      assert.ok(err instanceof EmptyBatchRequest, `got ${err.name}: ${err.message}`);
      assert.equal(err.Code, "AWS.SimpleQueueService.EmptyBatchRequest");
      return true;
    });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
    await assert.rejects(ctx.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: eleven })), (err) => {
      assert.ok(err instanceof TooManyEntriesInBatchRequest, `got ${err.name}: ${err.message}`);
      return true;
    });
    await assert.rejects(
      ctx.sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: [{ Id: "x", ReceiptHandle: "a" }, { Id: "x", ReceiptHandle: "b" }] })),
      (err) => {
        assert.ok(err instanceof BatchEntryIdsNotDistinct, `got ${err.name}: ${err.message}`);
        return true;
      },
    );
    assert.deepEqual(await counts(ctx.sqs, QueueUrl), [0, 0, 0]);
  });
});
