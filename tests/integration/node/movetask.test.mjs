// Dead-letter queue redrive with message move tasks (StartMessageMoveTask,
// ListMessageMoveTasks, CancelMessageMoveTask). Debian's boto3 predates these operations,
// so they are only tested here, over AWS JSON 1.0.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  ResourceNotFoundException,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { useSluiced, unique, sleep, SLOW } from "./sluiced.mjs";

const T = { timeout: 60000 };

async function attr(sqs, QueueUrl, name) {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: [name] }));
  return r.Attributes[name];
}

async function visibleCount(sqs, QueueUrl) {
  return Number(await attr(sqs, QueueUrl, "ApproximateNumberOfMessages"));
}

// A source queue whose n messages have all been dead-lettered into its DLQ.
async function dlqWithMessages(sqs, n) {
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: unique("jsdlq") }))).QueueUrl;
  const dlqArn = await attr(sqs, dlqUrl, "QueueArn");
  const srcUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: unique("jssrc"),
        Attributes: {
          VisibilityTimeout: "1",
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
        },
      }),
    )
  ).QueueUrl;
  const srcArn = await attr(sqs, srcUrl, "QueueArn");
  for (let i = 0; i < n; i += 10) {
    const entries = [];
    for (let j = i; j < Math.min(n, i + 10); j++) entries.push({ Id: `m${j}`, MessageBody: `body-${j}` });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: srcUrl, Entries: entries }));
  }
  // Receive each once, let the visibility timeout lapse, and receive again: over
  // maxReceiveCount 1, every message is moved to the DLQ.
  let received = 0;
  for (let round = 0; round < 10 && received < n; round++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: srcUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    received += (r.Messages ?? []).length;
  }
  assert.equal(received, n);
  await sleep(1300);
  for (let round = 0; round < 20 && (await visibleCount(sqs, dlqUrl)) < n; round++) {
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: srcUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  }
  assert.equal(await visibleCount(sqs, dlqUrl), n);
  assert.equal(await visibleCount(sqs, srcUrl), 0);
  // Redriven messages must be deliverable again from the source: raise its threshold.
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: srcUrl,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 100 }), VisibilityTimeout: "30" },
    }),
  );
  return { dlqUrl, dlqArn, srcUrl, srcArn };
}

async function waitForStatus(sqs, SourceArn, statuses, ms = 15000 * SLOW) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn, MaxResults: 10 }));
    if (last.Results?.length && statuses.includes(last.Results[0].Status)) return last.Results[0];
    await sleep(100);
  }
  throw new Error(`task never reached ${statuses}: ${JSON.stringify(last?.Results)}`);
}

async function drainBodies(sqs, QueueUrl, expected) {
  const bodies = [];
  for (let round = 0; round < 20 && bodies.length < expected; round++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
    bodies.push(...(r.Messages ?? []).map((m) => m.Body));
  }
  return bodies.sort();
}

describe("message move tasks (JSON protocol)", { timeout: 240000 }, () => {
  const ctx = useSluiced({ before, after });

  it("redrives a DLQ back to its source queue", T, async () => {
    const { dlqUrl, dlqArn, srcUrl } = await dlqWithMessages(ctx.sqs, 3);
    const started = Date.now();
    const { TaskHandle } = await ctx.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    assert.ok(TaskHandle && typeof TaskHandle === "string");
    const task = await waitForStatus(ctx.sqs, dlqArn, ["COMPLETED"]);
    assert.equal(task.SourceArn, dlqArn);
    assert.equal(task.DestinationArn, undefined); // not given: back to the original sources
    assert.equal(task.ApproximateNumberOfMessagesMoved, 3);
    assert.equal(task.ApproximateNumberOfMessagesToMove, 3);
    assert.equal(task.TaskHandle, undefined); // only running tasks carry their handle
    assert.equal(task.FailureReason, undefined);
    assert.ok(Number(task.StartedTimestamp) > 0);
    assert.ok(Math.abs(Number(task.StartedTimestamp) - started) < 60000, `StartedTimestamp ${task.StartedTimestamp} is not epoch ms`);
    assert.equal(await visibleCount(ctx.sqs, dlqUrl), 0);
    assert.deepEqual(await drainBodies(ctx.sqs, srcUrl, 3), ["body-0", "body-1", "body-2"]);
  });

  it("redrives to an explicit destination", T, async () => {
    const { dlqUrl, dlqArn, srcUrl } = await dlqWithMessages(ctx.sqs, 2);
    const destUrl = (await ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jsdest") }))).QueueUrl;
    const destArn = await attr(ctx.sqs, destUrl, "QueueArn");
    await ctx.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: destArn }));
    const task = await waitForStatus(ctx.sqs, dlqArn, ["COMPLETED"]);
    assert.equal(task.DestinationArn, destArn);
    assert.equal(task.ApproximateNumberOfMessagesMoved, 2);
    assert.deepEqual(await drainBodies(ctx.sqs, destUrl, 2), ["body-0", "body-1"]);
    assert.equal(await visibleCount(ctx.sqs, dlqUrl), 0);
    assert.equal(await visibleCount(ctx.sqs, srcUrl), 0);
  });

  it("lists a running task, cancels it, and leaves the rest in the DLQ", T, async () => {
    const { dlqUrl, dlqArn, srcUrl } = await dlqWithMessages(ctx.sqs, 10);
    const { TaskHandle } = await ctx.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: dlqArn, MaxNumberOfMessagesPerSecond: 1 }),
    );
    const listed = await ctx.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    assert.equal(listed.Results.length, 1);
    const running = listed.Results[0];
    assert.equal(running.Status, "RUNNING");
    assert.equal(running.TaskHandle, TaskHandle);
    assert.equal(running.MaxNumberOfMessagesPerSecond, 1);
    assert.equal(running.ApproximateNumberOfMessagesToMove, 10);
    assert.equal(running.SourceArn, dlqArn);

    const cancelled = await ctx.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    assert.equal(typeof cancelled.ApproximateNumberOfMessagesMoved, "number");
    assert.ok(cancelled.ApproximateNumberOfMessagesMoved < 10);
    const done = await waitForStatus(ctx.sqs, dlqArn, ["CANCELLED"]);
    assert.ok(done.ApproximateNumberOfMessagesMoved < 10, `moved ${done.ApproximateNumberOfMessagesMoved} despite cancel`);
    assert.equal(done.TaskHandle, undefined);
    await sleep(1500); // nothing moves after the cancel
    const left = await visibleCount(ctx.sqs, dlqUrl);
    const moved = await visibleCount(ctx.sqs, srcUrl);
    assert.equal(left + moved, 10);
    assert.equal(moved, done.ApproximateNumberOfMessagesMoved);
    assert.ok(left > 0);
  });

  it("allows one active task per source queue", T, async () => {
    const { dlqArn } = await dlqWithMessages(ctx.sqs, 3);
    const { TaskHandle } = await ctx.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: dlqArn, MaxNumberOfMessagesPerSecond: 1 }),
    );
    try {
      await assert.rejects(ctx.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn })), (err) => {
        assert.equal(err.Code, "InvalidParameterValue", `got ${err.name}/${err.Code}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 400);
        return true;
      });
      const listed = await ctx.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
      assert.equal(listed.Results.length, 1);
      assert.equal(listed.Results[0].TaskHandle, TaskHandle);
    } finally {
      await ctx.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })).catch(() => {});
    }
  });

  it("rejects invalid move requests", T, async () => {
    // The source must be a dead-letter queue.
    const plainUrl = (await ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jsplain") }))).QueueUrl;
    const plainArn = await attr(ctx.sqs, plainUrl, "QueueArn");
    await assert.rejects(ctx.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: plainArn })), (err) => {
      assert.equal(err.Code, "InvalidParameterValue", `got ${err.name}/${err.Code}: ${err.message}`);
      assert.equal(err.$metadata.httpStatusCode, 400);
      return true;
    });
    // The destination must exist.
    const { dlqArn } = await dlqWithMessages(ctx.sqs, 1);
    await assert.rejects(
      ctx.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: ctx.server.arn(unique("nowhere")) })),
      (err) => {
        assert.ok(err instanceof ResourceNotFoundException, `got ${err.name}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 404);
        return true;
      },
    );
    // Nothing was started by the failed calls.
    const listed = await ctx.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    assert.deepEqual(listed.Results ?? [], []);
    // A task handle must be one (a malformed handle is a bad parameter, not a missing task).
    await assert.rejects(ctx.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: "not-a-handle" })), (err) => {
      assert.equal(err.Code, "InvalidParameterValue", `got ${err.name}/${err.Code}: ${err.message}`);
      return true;
    });
  });
});
