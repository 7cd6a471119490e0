"""Step Functions Task states calling this server's services: the optimized integrations
(sqs:sendMessage, sns:publish, events:putEvents, dynamodb:*, states:startExecution with
.sync and .sync:2) and aws-sdk:*, their results and error names; the .waitForTaskToken
pattern through SQS and through a Lambda function that answers with boto3 itself,
SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat, HeartbeatSeconds, bad and stale
tokens; and a token wait surviving SIGKILL."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from ddb_helpers import create_table, make_ddb
from helpers import ACCOUNT, REGION, drain, error_code, make_client, unique
from lambda_helpers import create as create_function
from lambda_helpers import lambda_client
from sns_helpers import make_sns_client
from sfn_helpers import wait_done

ROLE = "arn:aws:iam::000000000000:role/sfn"


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


@pytest.fixture(scope="module")
def ddb(server):
    return make_ddb(server.endpoint)


def machine(sfn, definition, type_="STANDARD"):
    return sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition),
                                    roleArn=ROLE, type=type_)["stateMachineArn"]


def start(sfn, definition, input_doc):
    sm = machine(sfn, definition)
    return sfn.start_execution(stateMachineArn=sm, input=json.dumps(input_doc))["executionArn"]


def run(sfn, definition, input_doc, timeout=30):
    return wait_done(sfn, start(sfn, definition, input_doc), timeout)


def one_task(resource, parameters, **extra):
    state = {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
    state.update(extra)
    return {"StartAt": "T", "States": {"T": state}}


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


def test_sqs_send_message(sfn, sqs, new_queue):
    _, url = new_queue()
    d = run(sfn, one_task("arn:aws:states:::sqs:sendMessage",
                          {"QueueUrl": url, "MessageBody.$": "$.order"}), {"order": {"id": 7}})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["MessageId"] and out["MD5OfMessageBody"]
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    msgs = drain(sqs, url)
    assert [json.loads(m["Body"]) for m in msgs] == [{"id": 7}]
    assert msgs[0]["MessageId"] == out["MessageId"]
    hist = sfn.get_execution_history(executionArn=d["executionArn"])["events"]
    sched = [e for e in hist if e["type"] == "TaskScheduled"][0]["taskScheduledEventDetails"]
    assert (sched["resourceType"], sched["resource"]) == ("sqs", "sendMessage")
    assert [e["type"] for e in hist][2:6] == ["TaskScheduled", "TaskStarted", "TaskSucceeded",
                                              "TaskStateExited"]


def test_sqs_error_is_named_and_catchable(sfn):
    d = run(sfn, {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
              "Parameters": {"QueueUrl": "http://localhost/000000000000/nope", "MessageBody": "x"},
              "Catch": [{"ErrorEquals": ["SQS.QueueDoesNotExistException"], "Next": "Caught"}],
              "End": True},
        "Caught": {"Type": "Pass", "End": True}}}, {})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"])["Error"] == "SQS.QueueDoesNotExistException"


def test_sns_publish(sfn, server, sqs, new_queue):
    sns = make_sns_client(server.endpoint)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    _, url = new_queue()
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url),
                  Attributes={"RawMessageDelivery": "true"})
    d = run(sfn, one_task("arn:aws:states:::sns:publish",
                          {"TopicArn": topic, "Message.$": "$"}), {"shipped": True})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"])["MessageId"]
    assert [json.loads(m["Body"]) for m in drain(sqs, url, wait=2)] == [{"shipped": True}]


def test_events_put_events(sfn, server, sqs, new_queue):
    ev = make_client(server.endpoint, "events")
    _, url = new_queue()
    rule = unique("r")
    ev.put_rule(Name=rule, EventPattern=json.dumps({"source": ["orders"]}))
    ev.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn(sqs, url)}])
    d = run(sfn, one_task("arn:aws:states:::events:putEvents", {"Entries": [
        {"Source": "orders", "DetailType": "OrderPlaced", "Detail.$": "$"}]}), {"id": "o-1"})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["FailedEntryCount"] == 0 and out["Entries"][0]["EventId"]
    got = [json.loads(m["Body"]) for m in drain(sqs, url, wait=2)]
    assert len(got) == 1 and got[0]["detail"] == {"id": "o-1"}
    assert got[0]["detail-type"] == "OrderPlaced"


def test_dynamodb_items(sfn, ddb):
    t = create_table(ddb)
    d = run(sfn, {"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": t, "Item": {"pk": {"S.$": "$.id"}, "n": {"N": "1"}},
                               "ConditionExpression": "attribute_not_exists(pk)"},
                "ResultPath": None, "Next": "Add"},
        "Add": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {"TableName": t, "Key": {"pk": {"S.$": "$.id"}},
                               "UpdateExpression": "ADD n :one",
                               "ExpressionAttributeValues": {":one": {"N": "41"}}},
                "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": t, "Key": {"pk": {"S.$": "$.id"}}},
                "ResultSelector": {"n.$": "$.Item.n.N"}, "ResultPath": "$.got", "Next": "Again"},
        "Again": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                  "Parameters": {"TableName": t, "Item": {"pk": {"S.$": "$.id"}},
                                 "ConditionExpression": "attribute_not_exists(pk)"},
                  "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                             "ResultPath": "$.dup", "Next": "Delete"}],
                  "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                   "Parameters": {"TableName": t, "Key": {"pk": {"S.$": "$.id"}}},
                   "ResultPath": None, "End": True}}}, {"id": "k1"})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["got"] == {"n": "42"}
    assert out["dup"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert "Item" not in ddb.get_item(TableName=t, Key={"pk": {"S": "k1"}})


def test_aws_sdk_integration(sfn, ddb, sqs, new_queue):
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"S": "hello"}})
    name, url = new_queue()
    d = run(sfn, {"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": t, "Key": {"pk": {"S": "a"}}},
                "ResultPath": "$.item", "Next": "Url"},
        "Url": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                "Parameters": {"QueueName": name}, "ResultPath": "$.queue", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                    "Parameters": {"QueueName": "no-such-queue-here"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err",
                               "Next": "Done"}],
                    "End": True},
        "Done": {"Type": "Pass", "End": True}}}, {})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["item"] == {"Item": {"pk": {"S": "a"}, "v": {"S": "hello"}}}
    assert out["queue"]["QueueUrl"].endswith("/" + name)
    assert out["err"]["Error"] == "Sqs.QueueDoesNotExistException"
    hist = sfn.get_execution_history(executionArn=d["executionArn"])["events"]
    sched = [e["taskScheduledEventDetails"] for e in hist if e["type"] == "TaskScheduled"]
    assert (sched[0]["resourceType"], sched[0]["resource"]) == ("aws-sdk:dynamodb", "getItem")


def test_unknown_integration_fails_at_run(sfn):
    d = run(sfn, one_task("arn:aws:states:::aws-sdk:glacier:listVaults", {"AccountId": "-"}),
            {})
    assert d["status"] == "FAILED" and d["error"] == "States.Runtime"


def test_start_execution_sync(sfn):
    child = machine(sfn, {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}}})
    failing = machine(sfn, {"StartAt": "F", "States": {"F": {
        "Type": "Fail", "Error": "Child.Broke", "Cause": "nope"}}})
    d = run(sfn, {"StartAt": "Sync2", "States": {
        "Sync2": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                  "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}},
                  "ResultSelector": {"out.$": "$.Output", "status.$": "$.Status"},
                  "ResultPath": "$.two", "Next": "Sync1"},
        "Sync1": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                  "Parameters": {"StateMachineArn": child, "Input": {"n": 1}},
                  "ResultSelector": {"out.$": "$.Output"}, "ResultPath": "$.one",
                  "Next": "Fire"},
        "Fire": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                 "Parameters": {"StateMachineArn": child, "Input": {"n": 0}},
                 "ResultSelector": {"arn.$": "$.ExecutionArn"}, "ResultPath": "$.fired",
                 "Next": "Bad"},
        "Bad": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": failing},
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.bad",
                           "Next": "Done"}],
                "End": True},
        "Done": {"Type": "Pass", "End": True}}}, {"n": 21})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["two"] == {"out": {"doubled": 42}, "status": "SUCCEEDED"}
    assert json.loads(out["one"]["out"]) == {"doubled": 2}
    assert ":execution:" in out["fired"]["arn"]
    assert out["bad"]["Error"] == "States.TaskFailed"
    types = [e["type"] for e in sfn.get_execution_history(executionArn=d["executionArn"],
                                                          maxResults=1000)["events"]]
    assert "TaskSubmitted" in types


def test_wait_for_task_token_through_sqs(sfn, sqs, new_queue):
    _, url = new_queue()
    arn = start(sfn, {"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url,
                               "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                "ResultPath": "$.approval", "Next": "Ask2"},
        "Ask2": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                 "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
                 "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejected",
                            "Next": "Done"}],
                 "End": True},
        "Done": {"Type": "Pass", "End": True}}}, {"order": "o-5"})
    body = json.loads(drain(sqs, url, wait=5)[0]["Body"])
    assert body["order"] == "o-5"
    time.sleep(0.2)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=body["token"], output="not json")
    assert error_code(e) == "InvalidOutput"
    sfn.send_task_success(taskToken=body["token"], output=json.dumps({"approved": True}))
    with pytest.raises(ClientError) as e:  # used already
        sfn.send_task_success(taskToken=body["token"], output="{}")
    assert error_code(e) == "TaskTimedOut"
    second = json.loads(drain(sqs, url, wait=5)[0]["Body"])
    sfn.send_task_failure(taskToken=second["token"], error="Rejected", cause="too expensive")
    d = wait_done(sfn, arn)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["approval"] == {"approved": True}
    assert out["rejected"] == {"Error": "Rejected", "Cause": "too expensive"}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=arn,
                                                          maxResults=1000)["events"]]
    assert types.count("TaskSubmitted") == 2 and "TaskFailed" in types


def test_bad_tokens(sfn):
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken="garbage!!", output="{}")
    assert error_code(e) == "InvalidToken"
    with pytest.raises(ClientError) as e:
        sfn.send_task_heartbeat(taskToken="garbage!!")
    assert error_code(e) == "InvalidToken"


def test_heartbeat_timeout(sfn, sqs, new_queue):
    _, url = new_queue()
    arn = start(sfn, {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": 3,
        "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True}}}, {})
    msg = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
    token = json.loads(msg["Body"])["token"]
    for _ in range(4):  # heartbeats keep it alive past its 3 s
        time.sleep(1)
        sfn.send_task_heartbeat(taskToken=token)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    d = wait_done(sfn, arn, 10)
    assert d["status"] == "FAILED" and d["error"] == "States.HeartbeatTimeout"
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(e) == "TaskTimedOut"


def test_lambda_invoke_wait_for_task_token(sfn, server):
    lam = lambda_client(server.endpoint)
    fn = create_function(lam, {"app.py": (
        "import boto3, json\n"
        "def handler(event, context):\n"
        "    boto3.client('stepfunctions').send_task_success(\n"
        "        taskToken=event['token'], output=json.dumps({'by': 'lambda', 'n': event['n']}))\n"
        "    return 'sent'\n")}, Timeout=30)
    d = run(sfn, one_task("arn:aws:states:::lambda:invoke.waitForTaskToken",
                          {"FunctionName": fn, "Payload": {"token.$": "$$.Task.Token",
                                                           "n.$": "$.n"}}), {"n": 3})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"by": "lambda", "n": 3}


def test_token_wait_survives_sigkill(fresh_server):
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    sqs = make_client(fresh_server.endpoint)
    url = sqs.create_queue(QueueName=unique("tok"))["QueueUrl"]
    arn = start(sfn, {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True}}}, {})
    token = json.loads(drain(sqs, url, wait=5)[0]["Body"])["token"]
    fresh_server.restart_after_kill()
    sfn = make_client(fresh_server.endpoint, "stepfunctions")
    time.sleep(0.5)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output=json.dumps({"after": "restart"}))
    d = wait_done(sfn, arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"after": "restart"}
