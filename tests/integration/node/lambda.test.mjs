// Lambda over REST-JSON with @aws-sdk/client-lambda v3: functions created from zips built
// in memory (zip.mjs), Python 3.11 and Node.js 20 handlers (an ES module and a CommonJS
// callback), GetFunction, ListFunctions paging, Invoke (RequestResponse with bytes, a
// handler error as FunctionError, the base64 log tail, Event answered 202), code and
// configuration updates with the SDK's waiters, versions and aliases, reserved concurrency,
// resource policies, an SQS event source mapping with ReportBatchItemFailures, deletion, and
// errors as the SDK's typed exceptions.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  DeleteEventSourceMappingCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  GetEventSourceMappingCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetPolicyCommand,
  InvalidParameterValueException,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  paginateListFunctions,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import { makeZip } from "./zip.mjs";
import { useSluiced, unique, ACCOUNT, REGION, SLOW } from "./sluiced.mjs";

const T = { timeout: 60000 * SLOW };
const ROLE = `arn:aws:iam::${ACCOUNT}:role/lambda-role`;
const fnArn = (name, qualifier) =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ""}`;

const PY_ECHO = `
import os

def handler(event, context):
    print("handling", event.get("n"))
    if event.get("fail"):
        raise ValueError("order %s rejected" % event["n"])
    return {"echo": event, "request_id": context.aws_request_id,
            "version": context.function_version, "tag": os.environ.get("TAG", "v1")}
`;

const NODE_ESM = `
export const handler = async (event, context) => {
  console.log("esm got", event.n);
  return { esm: true, doubled: event.n * 2, fn: context.functionName, id: context.awsRequestId };
};
`;

const NODE_CJS_CALLBACK = `
exports.handler = function (event, context, callback) {
  if (event.fail) return callback(new Error("callback failed " + event.n));
  setTimeout(() => callback(null, { cjs: true, tripled: event.n * 3 }), 5);
};
`;

// Sends what it is given to the queue of event.queue_url through this server's SQS (boto3
// with no endpoint in the code): the proof that an Event invocation ran.
const PY_NOTIFY = `
import json, boto3

sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=event["queue_url"], MessageBody=json.dumps(event["note"]))
    return "sent"
`;

// An SQS-triggered handler: reports each batch to OUT_URL, and the records whose body asks
// for it as batch item failures.
const PY_BATCH = `
import json, os, boto3

sqs = boto3.client("sqs")

def handler(event, context):
    records = event["Records"]
    sqs.send_message(QueueUrl=os.environ["OUT_URL"], MessageBody=json.dumps(
        [{"body": json.loads(r["body"]), "source": r["eventSource"], "arn": r["eventSourceARN"]}
         for r in records]))
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                                  if json.loads(r["body"]).get("fail")]}
`;

const text = (payload) => new TextDecoder().decode(payload);
const json = (payload) => JSON.parse(text(payload));
const bytes = (value) => new TextEncoder().encode(JSON.stringify(value));
const sha256b64 = (data) => createHash("sha256").update(data).digest("base64");

describe("lambda (REST-JSON, @aws-sdk/client-lambda)", { timeout: 600000 * SLOW }, () => {
  const ctx = useSluiced({ before, after });
  let lam;
  before(() => {
    lam = new LambdaClient(ctx.server.clientConfig());
  });
  after(() => lam?.destroy());

  async function createFunction(files, { runtime = "python3.11", handler = "app.handler", name, ...more } = {}) {
    const fn = name ?? unique("fn");
    const zip = makeZip(files);
    const cfg = await lam.send(
      new CreateFunctionCommand({
        FunctionName: fn,
        Runtime: runtime,
        Role: ROLE,
        Handler: handler,
        Code: { ZipFile: zip },
        ...more,
      }),
    );
    return { name: fn, zip, cfg };
  }

  async function invoke(name, event, more = {}) {
    const r = await lam.send(new InvokeCommand({ FunctionName: name, Payload: bytes(event), ...more }));
    return { r, out: r.Payload?.length ? json(r.Payload) : undefined };
  }

  async function newQueue(prefix, attributes) {
    const name = unique(prefix);
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return { name, url: QueueUrl, arn: ctx.server.arn(name) };
  }

  // Receives until `count` messages came or the deadline passed; returns their bodies.
  async function receiveBodies(url, count, seconds = 20) {
    const bodies = [];
    const deadline = Date.now() + seconds * 1000 * SLOW;
    while (bodies.length < count && Date.now() < deadline) {
      const r = await ctx.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      bodies.push(...(r.Messages ?? []).map((m) => JSON.parse(m.Body)));
    }
    return bodies;
  }

  it("creates a Python function and gets it back with its code", T, async () => {
    const { name, zip, cfg } = await createFunction(
      { "app.py": PY_ECHO },
      {
        Description: "echo",
        Timeout: 10,
        MemorySize: 256,
        Environment: { Variables: { TAG: "v1" } },
        Tags: { team: "orders" },
      },
    );
    assert.equal(cfg.FunctionName, name);
    assert.equal(cfg.FunctionArn, fnArn(name));
    assert.equal(cfg.Runtime, "python3.11");
    assert.equal(cfg.State, "Active");
    assert.equal(cfg.LastUpdateStatus, "Successful");
    assert.equal(cfg.Version, "$LATEST");
    assert.equal(cfg.CodeSize, zip.length);
    assert.equal(cfg.CodeSha256, sha256b64(zip));
    assert.deepEqual([cfg.Timeout, cfg.MemorySize, cfg.Description], [10, 256, "echo"]);
    assert.deepEqual(cfg.Environment, { Variables: { TAG: "v1" } });

    const got = await lam.send(new GetFunctionCommand({ FunctionName: name }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.equal(got.Configuration.CodeSha256, cfg.CodeSha256);
    assert.equal(got.Configuration.Handler, "app.handler");
    assert.deepEqual(got.Tags, { team: "orders" });
    const download = await fetch(got.Code.Location);
    assert.equal(download.status, 200);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), zip);
    // An ARN names the function as well as its name.
    const byArn = await lam.send(new GetFunctionCommand({ FunctionName: fnArn(name) }));
    assert.equal(byArn.Configuration.FunctionName, name);
  });

  it("lists functions page by page", T, async () => {
    const prefix = unique("list");
    const names = [];
    for (let i = 0; i < 5; i++) {
      names.push((await createFunction({ "app.py": PY_ECHO }, { name: `${prefix}-${i}` })).name);
    }

    const seen = [];
    let marker;
    let pages = 0;
    do {
      const page = await lam.send(new ListFunctionsCommand({ MaxItems: 2, Marker: marker }));
      assert.ok(page.Functions.length <= 2, `page of ${page.Functions.length}`);
      seen.push(...page.Functions.map((f) => f.FunctionName));
      marker = page.NextMarker;
      pages++;
    } while (marker);
    assert.ok(pages >= 3, `${pages} pages`);
    assert.equal(new Set(seen).size, seen.length, "no function listed twice");
    for (const n of names) assert.ok(seen.includes(n), `${n} listed`);

    const paged = [];
    for await (const page of paginateListFunctions({ client: lam, pageSize: 3 }, {})) {
      assert.ok(page.Functions.length <= 3);
      paged.push(...page.Functions.map((f) => f.FunctionName));
    }
    assert.deepEqual(paged, seen);
  });

  it("invokes with a byte payload, a function error and the log tail", T, async () => {
    const { name } = await createFunction({ "app.py": PY_ECHO }, { Timeout: 10 });
    const { r, out } = await invoke(name, { n: 7, list: [1, "two"] });
    assert.equal(r.StatusCode, 200);
    assert.equal(r.FunctionError, undefined);
    assert.equal(r.ExecutedVersion, "$LATEST");
    assert.ok(r.Payload instanceof Uint8Array);
    assert.deepEqual(out.echo, { n: 7, list: [1, "two"] });
    assert.equal(out.request_id, r.$metadata.requestId);

    const failed = await invoke(name, { n: 42, fail: true }, { LogType: "Tail" });
    assert.equal(failed.r.StatusCode, 200);
    assert.equal(failed.r.FunctionError, "Unhandled");
    assert.equal(failed.out.errorType, "ValueError");
    assert.equal(failed.out.errorMessage, "order 42 rejected");
    assert.ok(failed.out.stackTrace.some((line) => line.includes("raise ValueError")), failed.out.stackTrace);

    const tailed = await invoke(name, { n: "tail-me" }, { LogType: "Tail" });
    const log = Buffer.from(tailed.r.LogResult, "base64").toString("utf8");
    const rid = tailed.out.request_id;
    assert.ok(log.includes(`START RequestId: ${rid} Version: $LATEST`), log);
    assert.ok(log.includes("handling tail-me"), log);
    assert.ok(log.includes(`END RequestId: ${rid}`), log);
    assert.match(log, new RegExp(`REPORT RequestId: ${rid}\\tDuration: [0-9.]+ ms`));
    assert.ok(log.indexOf("START") < log.indexOf("handling tail-me"));
    assert.ok(log.indexOf("handling tail-me") < log.indexOf("REPORT"));
    const failedLog = Buffer.from(failed.r.LogResult, "base64").toString("utf8");
    assert.ok(failedLog.includes("[ERROR] ValueError: order 42 rejected"), failedLog);
  });

  it("answers an Event invocation 202 and runs it", T, async () => {
    const { name } = await createFunction({ "app.py": PY_NOTIFY }, { Timeout: 30, MemorySize: 256 });
    const out = await newQueue("from-lambda");
    const r = await lam.send(
      new InvokeCommand({
        FunctionName: name,
        InvocationType: "Event",
        Payload: bytes({ queue_url: out.url, note: { order: "o-1" } }),
      }),
    );
    assert.equal(r.StatusCode, 202);
    assert.equal(r.$metadata.httpStatusCode, 202);
    assert.equal(r.FunctionError, undefined);
    assert.deepEqual(await receiveBodies(out.url, 1), [{ order: "o-1" }]);
  });

  it("runs a Node.js ES module handler and a CommonJS callback handler", T, async () => {
    const esm = await createFunction({ "index.mjs": NODE_ESM }, { runtime: "nodejs20.x", handler: "index.handler" });
    const a = await invoke(esm.name, { n: 21 }, { LogType: "Tail" });
    assert.equal(a.r.FunctionError, undefined, JSON.stringify(a.out));
    assert.deepEqual(a.out, { esm: true, doubled: 42, fn: esm.name, id: a.r.$metadata.requestId });
    assert.ok(Buffer.from(a.r.LogResult, "base64").toString().includes("\tINFO\tesm got 21"));

    const cjs = await createFunction({ "app.js": NODE_CJS_CALLBACK }, { runtime: "nodejs20.x", handler: "app.handler" });
    const b = await invoke(cjs.name, { n: 5 });
    assert.deepEqual(b.out, { cjs: true, tripled: 15 });
    const c = await invoke(cjs.name, { n: 6, fail: true });
    assert.equal(c.r.FunctionError, "Unhandled");
    assert.equal(c.out.errorType, "Error");
    assert.equal(c.out.errorMessage, "callback failed 6");
  });

  it("updates code and configuration, waiting with the SDK's waiter", T, async () => {
    const { name, cfg } = await createFunction({ "app.py": PY_ECHO });
    const zip2 = makeZip({ "app.py": PY_ECHO.replace('"v1"', '"v2"'), "extra.txt": "more" });
    const code = await lam.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip2 }));
    assert.equal(code.CodeSha256, sha256b64(zip2));
    assert.notEqual(code.CodeSha256, cfg.CodeSha256);
    assert.notEqual(code.RevisionId, cfg.RevisionId);
    const conf = await lam.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: name,
        Timeout: 9,
        MemorySize: 192,
        Description: "updated",
      }),
    );
    assert.deepEqual([conf.Timeout, conf.MemorySize, conf.Description], [9, 192, "updated"]);
    const waited = await waitUntilFunctionUpdatedV2({ client: lam, maxWaitTime: 30 }, { FunctionName: name });
    assert.equal(waited.state, "SUCCESS");
    assert.equal((await invoke(name, { n: 1 })).out.tag, "v2");
    // A configuration change reaches the next invocation (workers are replaced).
    await lam.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: name, Environment: { Variables: { TAG: "env" } } }),
    );
    assert.equal((await invoke(name, { n: 2 })).out.tag, "env");
  });

  it("publishes versions, routes an alias and invokes qualified", T, async () => {
    const { name } = await createFunction({ "app.py": PY_ECHO });
    const v1 = await lam.send(new PublishVersionCommand({ FunctionName: name, Description: "first" }));
    assert.equal(v1.Version, "1");
    assert.equal(v1.FunctionArn, fnArn(name, "1"));
    await lam.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: name, Environment: { Variables: { TAG: "v2" } } }),
    );
    const v2 = await lam.send(new PublishVersionCommand({ FunctionName: name }));
    assert.equal(v2.Version, "2");

    const alias = await lam.send(
      new CreateAliasCommand({ FunctionName: name, Name: "live", FunctionVersion: "1", Description: "prod" }),
    );
    assert.equal(alias.AliasArn, fnArn(name, "live"));
    assert.equal(alias.FunctionVersion, "1");
    await assert.rejects(
      lam.send(new CreateAliasCommand({ FunctionName: name, Name: "live", FunctionVersion: "2" })),
      (e) => e instanceof ResourceConflictException && e.$metadata.httpStatusCode === 409,
    );

    const live = await invoke(name, { n: 1 }, { Qualifier: "live" });
    assert.equal(live.r.ExecutedVersion, "1");
    assert.deepEqual([live.out.tag, live.out.version], ["v1", "1"]);
    const two = await invoke(name, { n: 2 }, { Qualifier: "2" });
    assert.deepEqual([two.r.ExecutedVersion, two.out.tag], ["2", "v2"]);
    const latest = await invoke(name, { n: 3 });
    assert.deepEqual([latest.r.ExecutedVersion, latest.out.version], ["$LATEST", "$LATEST"]);
    await assert.rejects(
      invoke(name, { n: 4 }, { Qualifier: "7" }),
      (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404,
    );
  });

  it("reserves concurrency", T, async () => {
    const { name } = await createFunction({ "app.py": PY_ECHO });
    const reserved = async () =>
      (await lam.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;
    assert.equal(await reserved(), undefined);
    const put = await lam.send(new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 3 }));
    assert.equal(put.ReservedConcurrentExecutions, 3);
    assert.equal(await reserved(), 3);
    const fn = await lam.send(new GetFunctionCommand({ FunctionName: name }));
    assert.deepEqual(fn.Concurrency, { ReservedConcurrentExecutions: 3 });
    const del = await lam.send(new DeleteFunctionConcurrencyCommand({ FunctionName: name }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(await reserved(), undefined);
  });

  it("adds permissions and returns the resource policy", T, async () => {
    const { name } = await createFunction({ "app.py": PY_ECHO });
    await assert.rejects(
      lam.send(new GetPolicyCommand({ FunctionName: name })),
      (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404,
    );
    const ruleArn = `arn:aws:events:${REGION}:${ACCOUNT}:rule/orders`;
    const added = await lam.send(
      new AddPermissionCommand({
        FunctionName: name,
        StatementId: "events-invoke",
        Action: "lambda:InvokeFunction",
        Principal: "events.amazonaws.com",
        SourceArn: ruleArn,
      }),
    );
    assert.equal(added.$metadata.httpStatusCode, 201);
    assert.deepEqual(JSON.parse(added.Statement), {
      Sid: "events-invoke",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "lambda:InvokeFunction",
      Resource: fnArn(name),
      Condition: { ArnLike: { "AWS:SourceArn": ruleArn } },
    });
    await lam.send(
      new AddPermissionCommand({
        FunctionName: name,
        StatementId: "account",
        Action: "lambda:GetFunction",
        Principal: ACCOUNT,
      }),
    );
    await assert.rejects(
      lam.send(
        new AddPermissionCommand({ FunctionName: name, StatementId: "account", Action: "lambda:*", Principal: "*" }),
      ),
      (e) => e instanceof ResourceConflictException,
    );
    const got = await lam.send(new GetPolicyCommand({ FunctionName: name }));
    const policy = JSON.parse(got.Policy);
    assert.equal(policy.Version, "2012-10-17");
    assert.deepEqual(
      policy.Statement.map((s) => s.Sid),
      ["events-invoke", "account"],
    );
    assert.deepEqual(policy.Statement[1].Principal, { AWS: `arn:aws:iam::${ACCOUNT}:root` });
    assert.ok(got.RevisionId);
  });

  it("feeds an SQS queue to a function, reporting batch item failures", { timeout: 120000 * SLOW }, async () => {
    const out = await newQueue("batches");
    const dlq = await newQueue("work-dlq");
    const work = await newQueue("work", {
      VisibilityTimeout: "1",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: "2" }),
    });
    const { name } = await createFunction(
      { "app.py": PY_BATCH },
      { Timeout: 30, MemorySize: 256, Environment: { Variables: { OUT_URL: out.url } } },
    );
    await ctx.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: work.url,
        Entries: [0, 1, 2, 3, 4].map((n) => ({ Id: `m${n}`, MessageBody: JSON.stringify({ n, fail: n === 3 }) })),
      }),
    );
    const esm = await lam.send(
      new CreateEventSourceMappingCommand({
        EventSourceArn: work.arn,
        FunctionName: name,
        BatchSize: 10,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      }),
    );
    assert.equal(esm.$metadata.httpStatusCode, 202);
    assert.equal(esm.FunctionArn, fnArn(name));
    assert.equal(esm.EventSourceArn, work.arn);
    assert.equal(esm.BatchSize, 10);
    assert.deepEqual(esm.FunctionResponseTypes, ["ReportBatchItemFailures"]);
    const got = await lam.send(new GetEventSourceMappingCommand({ UUID: esm.UUID }));
    assert.equal(got.UUID, esm.UUID);
    assert.ok(["Creating", "Enabled"].includes(got.State), got.State);

    // The failed record comes back once more (maxReceiveCount 2), then goes to the DLQ.
    const dead = await receiveBodies(dlq.url, 1, 30);
    assert.deepEqual(dead, [{ n: 3, fail: true }]);
    const seen = [];
    const deadline = Date.now() + 20000 * SLOW;
    while (seen.length < 6 && Date.now() < deadline) {
      for (const batch of await receiveBodies(out.url, 1, 2)) seen.push(...batch);
    }
    for (const record of seen) {
      assert.equal(record.source, "aws:sqs");
      assert.equal(record.arn, work.arn);
    }
    const counts = {};
    for (const record of seen) counts[record.body.n] = (counts[record.body.n] ?? 0) + 1;
    assert.deepEqual(counts, { 0: 1, 1: 1, 2: 1, 3: 2, 4: 1 });
    const attrs = await ctx.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: work.url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    assert.deepEqual(attrs.Attributes, { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
    const deleted = await lam.send(new DeleteEventSourceMappingCommand({ UUID: esm.UUID }));
    assert.equal(deleted.State, "Deleting");
  });

  it("deletes a function; missing functions are ResourceNotFoundException 404", T, async () => {
    const { name } = await createFunction({ "app.py": PY_ECHO });
    const del = await lam.send(new DeleteFunctionCommand({ FunctionName: name }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    for (const call of [
      () => lam.send(new GetFunctionCommand({ FunctionName: name })),
      () => invoke(name, {}),
      () => lam.send(new DeleteFunctionCommand({ FunctionName: name })),
    ]) {
      await assert.rejects(call(), (e) => {
        assert.ok(e instanceof ResourceNotFoundException, e.name);
        assert.equal(e.name, "ResourceNotFoundException");
        assert.equal(e.$metadata.httpStatusCode, 404);
        assert.equal(e.message, `Function not found: ${fnArn(name)}`);
        return true;
      });
    }
  });

  it("rejects bad parameters with InvalidParameterValueException", T, async () => {
    const cases = [
      [{ runtime: "python2.7" }, "The runtime parameter of python2.7 is no longer supported"],
      [{ runtime: "cobol85" }, "Value 'cobol85' at 'runtime' failed to satisfy constraint"],
      [
        { Timeout: 901 },
        "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
      ],
      [{ Environment: { Variables: { AWS_REGION: "x" } } }, "Reserved keys used in this request: AWS_REGION"],
    ];
    for (const [options, fragment] of cases) {
      await assert.rejects(createFunction({ "app.py": PY_ECHO }, options), (e) => {
        assert.ok(e instanceof InvalidParameterValueException, `${e.name}: ${e.message}`);
        assert.equal(e.$metadata.httpStatusCode, 400);
        assert.ok(e.message.includes(fragment), e.message);
        return true;
      });
    }
    await assert.rejects(
      lam.send(
        new CreateFunctionCommand({
          FunctionName: unique("fn"),
          Runtime: "python3.11",
          Role: ROLE,
          Handler: "app.handler",
          Code: { ZipFile: new TextEncoder().encode("not a zip") },
        }),
      ),
      (e) => e instanceof InvalidParameterValueException && e.message.startsWith("Could not unzip uploaded file."),
    );
    const { name } = await createFunction({ "app.py": PY_ECHO });
    await assert.rejects(
      createFunction({ "app.py": PY_ECHO }, { name }),
      (e) => e instanceof ResourceConflictException && e.message === `Function already exist: ${name}`,
    );
  });
});
