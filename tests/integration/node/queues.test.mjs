// Queue lifecycle and error classes over AWS JSON 1.0 (@aws-sdk/client-sqs v3).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  QueueDoesNotExist,
  QueueNameExists,
  SendMessageCommand,
  SQSServiceException,
  TagQueueCommand,
  UntagQueueCommand,
  paginateListQueues,
} from "@aws-sdk/client-sqs";
import { useSluiced, unique, ACCOUNT, REGION } from "./sluiced.mjs";

const T = { timeout: 30000 };

describe("queues (JSON protocol)", { timeout: 120000 }, () => {
  const ctx = useSluiced({ before, after });

  it("creates a queue whose URL follows the Host header", T, async () => {
    const name = unique("js");
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name }));
    assert.equal(QueueUrl, `http://127.0.0.1:${ctx.server.port}/${ACCOUNT}/${name}`);
    const again = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name }));
    assert.equal(again.QueueUrl, QueueUrl);
    const viaLocalhost = ctx.server.client({ endpoint: `http://localhost:${ctx.server.port}` });
    const got = await viaLocalhost.send(new GetQueueUrlCommand({ QueueName: name }));
    assert.equal(got.QueueUrl, `http://localhost:${ctx.server.port}/${ACCOUNT}/${name}`);
    viaLocalhost.destroy();
  });

  it("creates with attributes and tags; rejects different attributes", T, async () => {
    const name = unique("js");
    const { QueueUrl } = await ctx.sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "12" }, tags: { team: "core" } }),
    );
    const attrs = await ctx.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    assert.equal(attrs.Attributes.VisibilityTimeout, "12");
    assert.equal(attrs.Attributes.DelaySeconds, "0");
    assert.equal(attrs.Attributes.MaximumMessageSize, "262144");
    assert.equal(attrs.Attributes.MessageRetentionPeriod, "345600");
    assert.equal(attrs.Attributes.QueueArn, `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`);
    assert.deepEqual((await ctx.sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags, { team: "core" });
    await assert.rejects(
      ctx.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "13" } })),
      (err) => {
        assert.ok(err instanceof QueueNameExists, `got ${err.name}: ${err.message}`);
        assert.equal(err.name, "QueueNameExists");
        assert.equal(err.Code, "QueueAlreadyExists");
        assert.equal(err.$metadata.httpStatusCode, 400);
        return true;
      },
    );
  });

  it("lists with a prefix and paginates", T, async () => {
    const prefix = unique("jslist");
    const urls = [];
    for (let i = 0; i < 5; i++) {
      urls.push((await ctx.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${i}` }))).QueueUrl);
    }
    const all = await ctx.sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
    assert.deepEqual([...all.QueueUrls].sort(), [...urls].sort());
    const seen = [];
    let pages = 0;
    for await (const page of paginateListQueues({ client: ctx.sqs, pageSize: 2 }, { QueueNamePrefix: prefix })) {
      pages++;
      assert.ok((page.QueueUrls ?? []).length <= 2);
      seen.push(...(page.QueueUrls ?? []));
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), [...urls].sort());
    const none = await ctx.sqs.send(new ListQueuesCommand({ QueueNamePrefix: unique("nothing") }));
    assert.deepEqual(none.QueueUrls ?? [], []);
  });

  it("tags and untags", T, async () => {
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jstags") }));
    await ctx.sqs.send(new TagQueueCommand({ QueueUrl, Tags: { a: "1", b: "2" } }));
    await ctx.sqs.send(new UntagQueueCommand({ QueueUrl, TagKeys: ["a"] }));
    assert.deepEqual((await ctx.sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags, { b: "2" });
  });

  it("deletes; later calls raise QueueDoesNotExist", T, async () => {
    const name = unique("jsdel");
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name }));
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl }));
    const check = (err) => {
      assert.ok(err instanceof QueueDoesNotExist, `got ${err.name}: ${err.message}`);
      assert.ok(err instanceof SQSServiceException);
      assert.equal(err.name, "QueueDoesNotExist");
      assert.equal(err.Code, "AWS.SimpleQueueService.NonExistentQueue");
      assert.equal(err.$fault, "client");
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.ok(err.message.length > 0);
      return true;
    };
    await assert.rejects(ctx.sqs.send(new GetQueueUrlCommand({ QueueName: name })), check);
    await assert.rejects(ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), check);
    await assert.rejects(ctx.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] })), check);
    await assert.rejects(ctx.sqs.send(new DeleteQueueCommand({ QueueUrl })), check);
    const listed = await ctx.sqs.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    assert.deepEqual(listed.QueueUrls ?? [], []);
  });

  it("reports invalid attribute values with the query-compatible code", T, async () => {
    await assert.rejects(
      ctx.sqs.send(new CreateQueueCommand({ QueueName: unique("jsbad"), Attributes: { DelaySeconds: "901" } })),
      (err) => {
        assert.equal(err.name, "InvalidAttributeValue", `got ${err.name}: ${err.message}`);
        assert.equal(err.Code, "InvalidAttributeValue");
        assert.equal(err.$metadata.httpStatusCode, 400);
        return true;
      },
    );
    await assert.rejects(
      ctx.sqs.send(new CreateQueueCommand({ QueueName: "bad name!" })),
      (err) => {
        assert.equal(err.Code, "InvalidParameterValue", `got ${err.name} / ${err.Code}: ${err.message}`);
        assert.ok(err instanceof SQSServiceException);
        assert.equal(err.$metadata.httpStatusCode, 400);
        return true;
      },
    );
  });
});
