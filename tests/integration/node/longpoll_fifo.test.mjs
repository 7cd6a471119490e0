// Long polling and FIFO ordering over AWS JSON 1.0.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { useSluiced, unique, sleep, SLOW } from "./sluiced.mjs";

const T = { timeout: 30000 };

describe("long polling and FIFO (JSON protocol)", { timeout: 120000 }, () => {
  const ctx = useSluiced({ before, after });

  it("a parked receive wakes within 0.5 s of a send", T, async () => {
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jslp") }));
    const other = ctx.server.client();
    const t0 = performance.now();
    let sentAt = 0;
    const sender = (async () => {
      await sleep(1000);
      await other.send(new SendMessageCommand({ QueueUrl, MessageBody: "wake" }));
      sentAt = performance.now();
    })();
    const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    const back = performance.now();
    await sender;
    other.destroy();
    assert.deepEqual((r.Messages ?? []).map((m) => m.Body), ["wake"]);
    assert.ok(back - t0 >= 900, `returned after ${back - t0} ms, before the send`);
    assert.ok(back - sentAt <= 500 * SLOW, `returned ${back - sentAt} ms after the send`);
  });

  it("an empty long poll lasts its wait time", T, async () => {
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jslpe") }));
    const t0 = performance.now();
    const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
    const elapsed = performance.now() - t0;
    assert.deepEqual(r.Messages ?? [], []);
    assert.ok(elapsed >= 1900 && elapsed <= 2000 + 1000 * SLOW, `waited ${elapsed} ms`);
  });

  it("FIFO keeps order within a group and interleaves groups", T, async () => {
    const { QueueUrl } = await ctx.sqs.send(
      new CreateQueueCommand({
        QueueName: `${unique("jsfifo")}.fifo`,
        Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" },
      }),
    );
    const seqs = [];
    for (let i = 0; i < 6; i++) {
      const r = await ctx.sqs.send(
        new SendMessageCommand({ QueueUrl, MessageBody: `a${i}`, MessageGroupId: "A" }),
      );
      seqs.push(BigInt(r.SequenceNumber));
    }
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], "sequence numbers must increase");
    await ctx.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [0, 1, 2].map((i) => ({ Id: `b${i}`, MessageBody: `b${i}`, MessageGroupId: "B" })),
      }),
    );
    // Duplicate (same body, content-based dedup) is dropped.
    const dup = await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "a0", MessageGroupId: "A" }));
    assert.ok(dup.MessageId);

    // While A's head is in flight, A is blocked but B delivers.
    const first = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
    assert.deepEqual(first.Messages.map((m) => m.Body), ["a0"]);
    const second = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    assert.deepEqual(second.Messages.map((m) => m.Body), ["b0", "b1", "b2"]);
    const none = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    assert.deepEqual(none.Messages ?? [], []);
    await ctx.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [...first.Messages, ...second.Messages].map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    const rest = [];
    for (let round = 0; round < 5 && rest.length < 5; round++) {
      const r = await ctx.sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["All"] }),
      );
      for (const m of r.Messages ?? []) {
        assert.equal(m.Attributes.MessageGroupId, "A");
        rest.push(m.Body);
      }
      if (r.Messages?.length) {
        await ctx.sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl, Entries: r.Messages.map((m, i) => ({ Id: `x${i}`, ReceiptHandle: m.ReceiptHandle })) }),
        );
      }
    }
    assert.deepEqual(rest, ["a1", "a2", "a3", "a4", "a5"]);
  });

  it("FIFO requires a message group id", T, async () => {
    const { QueueUrl } = await ctx.sqs.send(
      new CreateQueueCommand({ QueueName: `${unique("jsfifo")}.fifo`, Attributes: { FifoQueue: "true" } }),
    );
    await assert.rejects(
      ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x", MessageDeduplicationId: "d" })),
      (err) => {
        assert.equal(err.Code, "MissingParameter", `got ${err.name}/${err.Code}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 400);
        return true;
      },
    );
  });
});
