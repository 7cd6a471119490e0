// Step Functions over AWS JSON 1.0 with @aws-sdk/client-sfn v3: state machines created,
// described and validated; executions started, described, listed (paginator), stopped and
// read back through their history (event types, ids, paginator); a Choice/Wait/Parallel/Map
// workflow; a failing execution's error and cause; a .waitForTaskToken task through SQS
// answered by SendTaskSuccess; an activity worker; StartSyncExecution on an EXPRESS machine;
// TestState (a state run alone, its inspection data, a mocked Task's caught error); and errors
// as the SDK's typed exceptions with AWS's messages.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DeleteActivityCommand,
  DescribeActivityCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  DescribeStateMachineForExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetActivityTaskCommand,
  GetExecutionHistoryCommand,
  InvalidDefinition,
  InvalidOutput,
  InvalidToken,
  ActivityDoesNotExist,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StateMachineAlreadyExists,
  StateMachineDoesNotExist,
  StateMachineTypeNotSupported,
  StopExecutionCommand,
  TaskTimedOut,
  TestStateCommand,
  UpdateStateMachineCommand,
  ValidateStateMachineDefinitionCommand,
  paginateGetExecutionHistory,
  paginateListExecutions,
} from "@aws-sdk/client-sfn";
import { CreateQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { useSluiced, unique, sleep, ACCOUNT, REGION, SLOW } from "./sluiced.mjs";

const T = { timeout: 60000 * SLOW };
const ROLE = `arn:aws:iam::${ACCOUNT}:role/sfn`;
const machineArn = (name) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;

const PASS_THEN_SUCCEED = {
  StartAt: "Stamp",
  States: {
    Stamp: { Type: "Pass", Result: { stamped: true }, ResultPath: "$.stamp", Next: "Done" },
    Done: { Type: "Succeed" },
  },
};

const WAIT_LONG = { StartAt: "W", States: { W: { Type: "Wait", Seconds: 120, End: true } } };

// Choice on the priority: "high" goes straight to the fan-out, anything else waits a
// second first. The fan-out runs two branches: one maps over the orders, the other counts them.
const FULFILMENT = {
  StartAt: "Route",
  States: {
    Route: {
      Type: "Choice",
      Choices: [{ Variable: "$.priority", StringEquals: "high", Next: "Fanout" }],
      Default: "Hold",
    },
    Hold: { Type: "Wait", Seconds: 1, Next: "Fanout" },
    Fanout: {
      Type: "Parallel",
      Branches: [
        {
          StartAt: "EachOrder",
          States: {
            EachOrder: {
              Type: "Map",
              ItemsPath: "$.orders",
              MaxConcurrency: 2,
              ItemSelector: {
                "id.$": "$$.Map.Item.Value.id",
                "index.$": "$$.Map.Item.Index",
                "qty.$": "$$.Map.Item.Value.qty",
              },
              ItemProcessor: {
                StartAt: "Price",
                States: {
                  Price: {
                    Type: "Pass",
                    Parameters: { "id.$": "$.id", "index.$": "$.index", "total.$": "States.MathAdd($.qty, 100)" },
                    End: true,
                  },
                },
              },
              End: true,
            },
          },
        },
        {
          StartAt: "Count",
          States: { Count: { Type: "Pass", Parameters: { "count.$": "States.ArrayLength($.orders)" }, End: true } },
        },
      ],
      ResultPath: "$.results",
      End: true,
    },
  },
};

const json = (s) => JSON.parse(s);

describe("stepfunctions (JSON 1.0, @aws-sdk/client-sfn)", { timeout: 600000 * SLOW }, () => {
  const ctx = useSluiced({ before, after });
  let sfn;
  before(() => {
    // StartSyncExecution's endpoint has the host prefix "sync-": not with a local endpoint.
    sfn = new SFNClient(ctx.server.clientConfig({ disableHostPrefix: true }));
  });
  after(() => sfn?.destroy());

  async function createMachine(definition, { name, type = "STANDARD" } = {}) {
    const r = await sfn.send(
      new CreateStateMachineCommand({
        name: name ?? unique("sm"),
        definition: JSON.stringify(definition),
        roleArn: ROLE,
        type,
      }),
    );
    return r.stateMachineArn;
  }

  async function start(machine, input, name) {
    const r = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine, input: JSON.stringify(input), name }),
    );
    return r.executionArn;
  }

  async function waitDone(executionArn, seconds = 20) {
    const deadline = Date.now() + seconds * 1000 * SLOW;
    for (;;) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (d.status !== "RUNNING") return d;
      assert.ok(Date.now() < deadline, `${executionArn} still running`);
      await sleep(50);
    }
  }

  async function history(executionArn) {
    const r = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    return r.events;
  }

  const types = (events) => events.map((e) => e.type);

  it("creates, describes, updates and lists a state machine", T, async () => {
    const name = unique("orders");
    const arn = await createMachine(PASS_THEN_SUCCEED, { name });
    assert.equal(arn, machineArn(name));
    const d = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    assert.deepEqual([d.name, d.status, d.type, d.roleArn], [name, "ACTIVE", "STANDARD", ROLE]);
    assert.deepEqual(json(d.definition), PASS_THEN_SUCCEED);
    assert.ok(d.creationDate instanceof Date);
    // The same request again is idempotent; another definition under that name is not.
    assert.equal(await createMachine(PASS_THEN_SUCCEED, { name }), arn);
    await assert.rejects(createMachine(WAIT_LONG, { name }), (e) => e instanceof StateMachineAlreadyExists);

    const changed = { ...PASS_THEN_SUCCEED, Comment: "v2" };
    const u = await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: arn, definition: JSON.stringify(changed) }));
    assert.ok(u.updateDate instanceof Date);
    const d2 = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    assert.equal(json(d2.definition).Comment, "v2");
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    const mine = listed.stateMachines.find((m) => m.stateMachineArn === arn);
    assert.deepEqual([mine?.name, mine?.type], [name, "STANDARD"]);
  });

  it("runs an execution and reads it back through its history", T, async () => {
    const machine = await createMachine(PASS_THEN_SUCCEED);
    const exName = unique("ex");
    const arn = await start(machine, { order: "o-1" }, exName);
    assert.equal(arn, `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine.split(":").pop()}:${exName}`);
    const d = await waitDone(arn);
    assert.equal(d.status, "SUCCEEDED");
    assert.equal(d.name, exName);
    assert.equal(d.stateMachineArn, machine);
    assert.deepEqual(json(d.input), { order: "o-1" });
    assert.deepEqual(json(d.output), { order: "o-1", stamp: { stamped: true } });
    assert.ok(d.startDate instanceof Date && d.stopDate instanceof Date);
    assert.ok(d.stopDate >= d.startDate);

    const events = await history(arn);
    assert.deepEqual(types(events), [
      "ExecutionStarted",
      "PassStateEntered",
      "PassStateExited",
      "SucceedStateEntered",
      "SucceedStateExited",
      "ExecutionSucceeded",
    ]);
    assert.deepEqual(
      events.map((e) => e.id),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      events.map((e) => e.previousEventId),
      [0, 1, 2, 3, 4, 5],
    );
    assert.ok(events.every((e) => e.timestamp instanceof Date));
    assert.deepEqual(json(events[0].executionStartedEventDetails.input), { order: "o-1" });
    assert.equal(events[0].executionStartedEventDetails.roleArn, ROLE);
    assert.equal(events[1].stateEnteredEventDetails.name, "Stamp");
    assert.deepEqual(json(events[2].stateExitedEventDetails.output), { order: "o-1", stamp: { stamped: true } });
    assert.deepEqual(json(events[5].executionSucceededEventDetails.output), json(d.output));

    // The paginator walks the same events two at a time; reverseOrder reads them backwards.
    const paged = [];
    for await (const page of paginateGetExecutionHistory({ client: sfn, pageSize: 2 }, { executionArn: arn })) {
      assert.ok(page.events.length <= 2);
      paged.push(...page.events.map((e) => e.id));
    }
    assert.deepEqual(paged, [1, 2, 3, 4, 5, 6]);
    const reversed = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true }));
    assert.deepEqual(
      reversed.events.map((e) => e.id),
      [6, 5, 4, 3, 2, 1],
    );
    const forExecution = await sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn: arn }));
    assert.equal(forExecution.stateMachineArn, machine);
  });

  it("runs Choice, Wait, Parallel and Map", T, async () => {
    const machine = await createMachine(FULFILMENT);
    const orders = [
      { id: "a", qty: 1 },
      { id: "b", qty: 2 },
      { id: "c", qty: 3 },
    ];
    const expected = [
      [
        { id: "a", index: 0, total: 101 },
        { id: "b", index: 1, total: 102 },
        { id: "c", index: 2, total: 103 },
      ],
      { count: 3 },
    ];
    const fast = await waitDone(await start(machine, { priority: "high", orders }));
    assert.equal(fast.status, "SUCCEEDED", fast.cause);
    assert.deepEqual(json(fast.output), { priority: "high", orders, results: expected });
    const fastTypes = types(await history(fast.executionArn));
    assert.ok(!fastTypes.includes("WaitStateEntered"));
    assert.deepEqual(fastTypes.slice(0, 5), [
      "ExecutionStarted",
      "ChoiceStateEntered",
      "ChoiceStateExited",
      "ParallelStateEntered",
      "ParallelStateStarted",
    ]);
    assert.deepEqual(fastTypes.slice(-3), ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]);

    const slow = await waitDone(await start(machine, { priority: "low", orders }));
    assert.equal(slow.status, "SUCCEEDED", slow.cause);
    assert.deepEqual(json(slow.output).results, expected);
    assert.ok(slow.stopDate - slow.startDate >= 900, `took ${slow.stopDate - slow.startDate} ms`);
    const events = await history(slow.executionArn);
    const slowTypes = types(events);
    const expectedTypes = [
      "WaitStateEntered",
      "WaitStateExited",
      "MapStateEntered",
      "MapStateStarted",
      "MapIterationStarted",
      "MapStateSucceeded",
    ];
    for (const t of expectedTypes) {
      assert.ok(slowTypes.includes(t), `${t} in ${slowTypes}`);
    }
    const mapStarted = events.find((e) => e.type === "MapStateStarted");
    assert.deepEqual(mapStarted.mapStateStartedEventDetails, { length: 3 });
    const iterations = events
      .filter((e) => e.type === "MapIterationSucceeded")
      .map((e) => e.mapIterationSucceededEventDetails.index);
    assert.deepEqual(iterations.sort(), [0, 1, 2]);
    assert.deepEqual(
      events.map((e) => e.id),
      events.map((_, i) => i + 1),
    );
  });

  it("fails an execution with the Fail state's error and cause", T, async () => {
    const machine = await createMachine({
      StartAt: "Check",
      States: {
        Check: { Type: "Pass", Next: "Reject" },
        Reject: { Type: "Fail", ErrorPath: "$.code", CausePath: "States.Format('order {} has no stock', $.id)" },
      },
    });
    const d = await waitDone(await start(machine, { code: "Inventory.Short", id: "o-9" }));
    assert.equal(d.status, "FAILED");
    assert.equal(d.error, "Inventory.Short");
    assert.equal(d.cause, "order o-9 has no stock");
    assert.equal(d.output, undefined);
    const events = await history(d.executionArn);
    assert.deepEqual(types(events).slice(-2), ["FailStateEntered", "ExecutionFailed"]);
    assert.deepEqual(events.at(-1).executionFailedEventDetails, {
      error: "Inventory.Short",
      cause: "order o-9 has no stock",
    });

    // A runtime error in the data flow fails it as States.Runtime.
    const broken = await createMachine({ StartAt: "P", States: { P: { Type: "Pass", InputPath: "$.missing", End: true } } });
    const b = await waitDone(await start(broken, { a: 1 }));
    assert.equal(b.status, "FAILED");
    assert.equal(b.error, "States.Runtime");
    assert.ok(b.cause.includes("$.missing"), b.cause);
  });

  it("stops executions and lists them by status, page by page", T, async () => {
    const machine = await createMachine(WAIT_LONG);
    const arns = [];
    for (let i = 0; i < 4; i++) arns.push(await start(machine, { i }));
    const stop = await sfn.send(new StopExecutionCommand({ executionArn: arns[0], error: "Halt", cause: "operator" }));
    assert.ok(stop.stopDate instanceof Date);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arns[0] }));
    assert.deepEqual([d.status, d.error, d.cause], ["ABORTED", "Halt", "operator"]);
    assert.equal(d.stopDate.getTime(), stop.stopDate.getTime());
    const events = await history(arns[0]);
    assert.deepEqual(types(events), ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]);
    assert.deepEqual(events[2].executionAbortedEventDetails, { error: "Halt", cause: "operator" });

    const collect = async (input) => {
      const seen = [];
      const pages = paginateListExecutions({ client: sfn, pageSize: 2 }, { stateMachineArn: machine, ...input });
      for await (const page of pages) {
        assert.ok(page.executions.length <= 2);
        seen.push(...page.executions);
      }
      return seen;
    };
    const all = await collect({});
    assert.deepEqual(
      all.map((e) => e.executionArn),
      [...arns].reverse(),
    ); // newest first
    const running = await collect({ statusFilter: "RUNNING" });
    assert.deepEqual(running.map((e) => e.executionArn).sort(), arns.slice(1).sort());
    assert.ok(running.every((e) => e.status === "RUNNING" && e.stateMachineArn === machine));
    const aborted = await collect({ statusFilter: "ABORTED" });
    assert.deepEqual(
      aborted.map((e) => [e.executionArn, e.status]),
      [[arns[0], "ABORTED"]],
    );
    for (const arn of arns.slice(1)) await sfn.send(new StopExecutionCommand({ executionArn: arn }));
  });

  it("waits for a task token sent through SQS, answered by SendTaskSuccess", T, async () => {
    const queue = unique("approvals");
    const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: queue }));
    const machine = await createMachine({
      StartAt: "Ask",
      States: {
        Ask: {
          Type: "Task",
          Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
          Parameters: { QueueUrl, MessageBody: { "token.$": "$$.Task.Token", "order.$": "$.order" } },
          ResultPath: "$.approval",
          Next: "Ask again",
        },
        "Ask again": {
          Type: "Task",
          Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
          Parameters: { QueueUrl, MessageBody: { "token.$": "$$.Task.Token" } },
          Catch: [{ ErrorEquals: ["Rejected"], ResultPath: "$.rejected", Next: "Done" }],
          End: true,
        },
        Done: { Type: "Pass", End: true },
      },
    });
    const arn = await start(machine, { order: "o-5" });
    // The task's message, once its TaskSubmitted event is in the history: sluiced answers a
    // token sent while that step is still being committed with a retryable 503.
    const receiveBody = async (submitted) => {
      const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
      assert.equal(r.Messages?.length, 1);
      const deadline = Date.now() + 10000 * SLOW;
      while (types(await history(arn)).filter((x) => x === "TaskSubmitted").length < submitted) {
        assert.ok(Date.now() < deadline, "no TaskSubmitted event");
        await sleep(20);
      }
      return json(r.Messages[0].Body);
    };
    const first = await receiveBody(1);
    assert.equal(first.order, "o-5");
    assert.equal((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status, "RUNNING");
    await assert.rejects(
      sfn.send(new SendTaskSuccessCommand({ taskToken: first.token, output: "not json" })),
      (e) => e instanceof InvalidOutput,
    );
    await sfn.send(new SendTaskSuccessCommand({ taskToken: first.token, output: JSON.stringify({ approved: true }) }));
    await assert.rejects(
      sfn.send(new SendTaskSuccessCommand({ taskToken: first.token, output: "{}" })),
      (e) => e instanceof TaskTimedOut,
    );
    await assert.rejects(
      sfn.send(new SendTaskSuccessCommand({ taskToken: "garbage", output: "{}" })),
      (e) => e instanceof InvalidToken,
    );
    const second = await receiveBody(2);
    await sfn.send(new SendTaskFailureCommand({ taskToken: second.token, error: "Rejected", cause: "too expensive" }));
    const d = await waitDone(arn);
    assert.equal(d.status, "SUCCEEDED", d.cause);
    const out = json(d.output);
    assert.deepEqual(out.approval, { approved: true });
    assert.deepEqual(out.rejected, { Error: "Rejected", Cause: "too expensive" });
    const t = types(await history(arn));
    assert.equal(t.filter((x) => x === "TaskSubmitted").length, 2);
    assert.ok(t.includes("TaskSucceeded") && t.includes("TaskFailed"), t.join());
  });

  it("hands activity tasks to a worker", T, async () => {
    const name = unique("pack");
    const { activityArn } = await sfn.send(new CreateActivityCommand({ name }));
    assert.equal(activityArn, `arn:aws:states:${REGION}:${ACCOUNT}:activity:${name}`);
    assert.equal((await sfn.send(new CreateActivityCommand({ name }))).activityArn, activityArn);
    const desc = await sfn.send(new DescribeActivityCommand({ activityArn }));
    assert.equal(desc.name, name);
    assert.ok(desc.creationDate instanceof Date);
    const machine = await createMachine({
      StartAt: "Pack",
      States: { Pack: { Type: "Task", Resource: activityArn, ResultPath: "$.packed", End: true } },
    });

    // The worker polls before the task exists; the long poll answers once it does.
    const polled = sfn.send(new GetActivityTaskCommand({ activityArn, workerName: "packer-1" }));
    await sleep(200);
    const arn = await start(machine, { order: "o-7" });
    const task = await polled;
    assert.ok(task.taskToken);
    assert.deepEqual(json(task.input), { order: "o-7" });
    await sfn.send(new SendTaskSuccessCommand({ taskToken: task.taskToken, output: JSON.stringify({ box: 3 }) }));
    const d = await waitDone(arn);
    assert.equal(d.status, "SUCCEEDED", d.cause);
    assert.deepEqual(json(d.output), { order: "o-7", packed: { box: 3 } });
    const events = await history(arn);
    const t = types(events);
    for (const x of ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]) assert.ok(t.includes(x), `${x} in ${t}`);
    assert.equal(events.find((e) => e.type === "ActivityStarted").activityStartedEventDetails.workerName, "packer-1");
    assert.equal(events.find((e) => e.type === "ActivityScheduled").activityScheduledEventDetails.resource, activityArn);

    await sfn.send(new DeleteActivityCommand({ activityArn }));
    await assert.rejects(
      sfn.send(new DescribeActivityCommand({ activityArn })),
      (e) => e instanceof ActivityDoesNotExist,
    );
  });

  it("runs an EXPRESS machine synchronously", T, async () => {
    const express = await createMachine(
      {
        StartAt: "Sum",
        States: { Sum: { Type: "Pass", Parameters: { "sum.$": "States.MathAdd($.a, $.b)" }, End: true } },
      },
      { type: "EXPRESS" },
    );
    const exName = unique("sync");
    const r = await sfn.send(
      new StartSyncExecutionCommand({ stateMachineArn: express, input: JSON.stringify({ a: 2, b: 3 }), name: exName }),
    );
    assert.equal(r.status, "SUCCEEDED");
    assert.deepEqual(json(r.output), { sum: 5 });
    assert.deepEqual([r.stateMachineArn, r.name], [express, exName]);
    assert.ok(r.executionArn.includes(`:${exName}`), r.executionArn);
    assert.ok(r.startDate instanceof Date && r.stopDate instanceof Date);
    assert.equal(typeof r.billingDetails?.billedDurationInMilliseconds, "number");

    const failing = await createMachine(
      { StartAt: "F", States: { F: { Type: "Fail", Error: "Nope", Cause: "because" } } },
      { type: "EXPRESS" },
    );
    const f = await sfn.send(new StartSyncExecutionCommand({ stateMachineArn: failing }));
    assert.deepEqual([f.status, f.error, f.cause], ["FAILED", "Nope", "because"]);

    const standard = await createMachine(PASS_THEN_SUCCEED);
    await assert.rejects(
      sfn.send(new StartSyncExecutionCommand({ stateMachineArn: standard })),
      (e) => e instanceof StateMachineTypeNotSupported,
    );
  });

  it("tests one state alone with TestState", T, async () => {
    const pass = {
      Type: "Pass",
      InputPath: "$.order",
      Parameters: { "id.$": "$.id", kind: "web" },
      ResultPath: "$.order",
      Next: "Ship",
    };
    const r = await sfn.send(
      new TestStateCommand({
        definition: JSON.stringify(pass),
        input: JSON.stringify({ order: { id: "o-1", qty: 2 } }),
        inspectionLevel: "DEBUG",
      }),
    );
    assert.equal(r.status, "SUCCEEDED");
    assert.equal(r.nextState, "Ship");
    assert.deepEqual(json(r.output), { order: { id: "o-1", kind: "web" } });
    assert.deepEqual(json(r.inspectionData.afterInputPath), { id: "o-1", qty: 2 });
    assert.deepEqual(json(r.inspectionData.afterParameters), { id: "o-1", kind: "web" });
    assert.deepEqual(json(r.inspectionData.afterResultPath), { order: { id: "o-1", kind: "web" } });

    const task = {
      Type: "Task",
      Resource: "arn:aws:states:::sqs:sendMessage",
      Parameters: { QueueUrl: "http://nowhere/000000000000/q", "MessageBody.$": "$" },
      Catch: [{ ErrorEquals: ["SQS.QueueDoesNotExistException"], ResultPath: "$.error", Next: "Park" }],
      End: true,
    };
    const caught = await sfn.send(
      new TestStateCommand({
        definition: JSON.stringify(task),
        input: JSON.stringify({ n: 1 }),
        mock: { errorOutput: { error: "SQS.QueueDoesNotExistException", cause: "no queue" } },
        inspectionLevel: "DEBUG",
      }),
    );
    assert.equal(caught.status, "CAUGHT_ERROR");
    assert.equal(caught.nextState, "Park");
    assert.equal(caught.error, "SQS.QueueDoesNotExistException");
    assert.deepEqual(json(caught.output), {
      n: 1,
      error: { Error: "SQS.QueueDoesNotExistException", Cause: "no queue" },
    });
    assert.equal(caught.inspectionData.errorDetails.catchIndex, 0);
    await assert.rejects(
      sfn.send(new TestStateCommand({ definition: JSON.stringify({ Type: "Pass", Bogus: 1, End: true }) })),
      (e) => e instanceof InvalidDefinition && e.message.includes("SCHEMA_VALIDATION_FAILED"),
    );
  });

  it("answers errors as typed exceptions with AWS's messages", T, async () => {
    const missing = machineArn(unique("nope"));
    for (const call of [
      () => sfn.send(new DescribeStateMachineCommand({ stateMachineArn: missing })),
      () => sfn.send(new StartExecutionCommand({ stateMachineArn: missing })),
    ]) {
      await assert.rejects(call(), (e) => {
        assert.ok(e instanceof StateMachineDoesNotExist, e.name);
        assert.equal(e.name, "StateMachineDoesNotExist");
        assert.equal(e.$metadata.httpStatusCode, 400);
        assert.ok(e.message.includes(missing), e.message);
        return true;
      });
    }

    const machine = await createMachine(WAIT_LONG);
    const name = unique("ex");
    const arn = await start(machine, { a: 1 }, name);
    // The same name and input while running: the same execution; another input: refused.
    assert.equal(await start(machine, { a: 1 }, name), arn);
    await assert.rejects(start(machine, { a: 2 }, name), (e) => {
      assert.ok(e instanceof ExecutionAlreadyExists, e.name);
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.ok(e.message.includes(arn), e.message);
      return true;
    });
    await sfn.send(new StopExecutionCommand({ executionArn: arn }));
    await assert.rejects(
      sfn.send(new DescribeExecutionCommand({ executionArn: `${arn}x` })),
      (e) => e instanceof ExecutionDoesNotExist,
    );

    const broken = {
      StartAt: "pass1",
      States: { pass1: { Type: "Pass", Next: "pass3" }, pass2: { Type: "Pass", End: true } },
    };
    await assert.rejects(createMachine(broken), (e) => {
      assert.ok(e instanceof InvalidDefinition, e.name);
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.equal(
        e.message,
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at " +
          "/States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'",
      );
      return true;
    });
    await assert.rejects(
      sfn.send(new CreateStateMachineCommand({ name: unique("sm"), definition: "{not json", roleArn: ROLE })),
      (e) => e instanceof InvalidDefinition && e.message.includes("INVALID_JSON_DESCRIPTION"),
    );
    const validated = await sfn.send(new ValidateStateMachineDefinitionCommand({ definition: JSON.stringify(broken) }));
    assert.equal(validated.result, "FAIL");
    assert.deepEqual(validated.diagnostics[0], {
      severity: "ERROR",
      code: "MISSING_TRANSITION_TARGET",
      message: "Missing 'Next' target: pass3",
      location: "/States/pass1/Next",
    });
    const ok = await sfn.send(new ValidateStateMachineDefinitionCommand({ definition: JSON.stringify(PASS_THEN_SUCCEED) }));
    assert.deepEqual([ok.result, ok.diagnostics], ["OK", []]);
  });
});
