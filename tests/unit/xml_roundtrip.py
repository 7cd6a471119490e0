#!/usr/bin/python3
"""Checks Sluice's AWS Query codecs against real AWS clients, through the built unit tests'
--driver modes (nothing is compiled here):

  xml     xml_encode_response output (test_xml --driver), parsed back with botocore's
          QueryParser against the same model: must give exactly the output that was encoded.
  query   forms serialized by botocore's QuerySerializer, decoded by query_to_json
          (test_query --driver): must give exactly the parameters that were serialized.
  errors  every row of aws_errors.h rendered by aws_reply_error (test_aws_errors --driver):
          the Query body must parse (botocore) into the row's Code, and when the code is one the
          model declares, into that error's class; the JSON body + x-amzn-query-error header
          must give the class named by the row's shape to botocore's JSON parser (when this
          interpreter's botocore has the JSON SQS model, botocore >= 1.31) and to
          @aws-sdk/client-sqs v3 (when node and tests/integration/node/node_modules exist).

    /usr/bin/python3 tests/unit/xml_roundtrip.py --bin-dir build
Debian's python3-botocore 1.29 speaks Query for SQS; run it also with a newer botocore for the
JSON error check. test_xml runs this script from `make test` when /usr/bin/python3 has botocore.
"""

import argparse
import base64
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

import botocore  # noqa: E402
import botocore.model  # noqa: E402
import botocore.parsers  # noqa: E402
import botocore.serialize  # noqa: E402
import botocore.session  # noqa: E402
import botocore.utils  # noqa: E402
from botocore.errorfactory import ClientExceptionsFactory  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what if len(what) < 1500 else what[:1500] + "...")


def flattened(shape):
    return shape.type_name in ("list", "map") and shape.serialization.get("flattened")


def load_merged_model():
    spec = importlib.util.spec_from_file_location(
        "gen_models", os.path.join(ROOT, "scripts", "gen-models.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    row = next(r for r in mod.SERVICES if r["service"] == "sqs")
    return mod.load_model(row)


def run_driver(binary, requests):
    text = "".join(json.dumps(r) + "\n" for r in requests)
    p = subprocess.run([binary, "--driver"], input=text.encode("utf-8"),
                       stdout=subprocess.PIPE, check=True, timeout=60)
    lines = p.stdout.decode("utf-8").split("\n")[:-1]  # not splitlines(): U+2028 is data
    assert len(lines) == len(requests), "driver %s answered %d of %d" % (
        binary, len(lines), len(requests))
    return [json.loads(line) for line in lines]


def json_to_botocore(shape, v):
    """The value botocore's parsers produce for JSON-shaped value v (blobs decoded). An empty
    flattened list or map has no XML at all, so it reads back as absent, as from AWS."""
    t = shape.type_name
    if t == "structure":
        return {k: json_to_botocore(shape.members[k], x) for k, x in v.items()
                if not (flattened(shape.members[k]) and not x)}
    if t == "list":
        return [json_to_botocore(shape.member, x) for x in v]
    if t == "map":
        return {k: json_to_botocore(shape.value, x) for k, x in v.items()}
    if t == "blob":
        return base64.b64decode(v)
    return v


def botocore_to_json(shape, v):
    """The JSON-shaped value of botocore input parameters v (blobs base64). botocore sends
    nothing for an empty map."""
    t = shape.type_name
    if t == "structure":
        return {k: botocore_to_json(shape.members[k], x) for k, x in v.items()
                if not (shape.members[k].type_name == "map" and not x)}
    if t == "list":
        return [botocore_to_json(shape.member, x) for x in v]
    if t == "map":
        return {k: botocore_to_json(shape.value, x) for k, x in v.items()}
    if t == "blob":
        return base64.b64encode(v).decode("ascii")
    return v


TRICKY = "<a href=\"x\">&amp; ' ]]> \r\n\r\t  € 😀 \u2028 \ud7ff \ue000 \U0010ffff end "
BIN = bytes(range(256))

XML_CASES = [
    ("SendMessage", {"MD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592",
                     "MD5OfMessageAttributes": "d41d8cd98f00b204e9800998ecf8427e",
                     "MD5OfMessageSystemAttributes": "x", "MessageId": "m-1",
                     "SequenceNumber": "18849496460467696128"}),
    ("ReceiveMessage", {"Messages": [
        {"MessageId": "m1", "ReceiptHandle": "r1+/=", "MD5OfBody": "d1", "Body": TRICKY,
         "Attributes": {"SenderId": "000000000000", "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1700000000000"},
         "MD5OfMessageAttributes": "d2",
         "MessageAttributes": {
             "s": {"DataType": "String", "StringValue": "v & <w>"},
             "n": {"DataType": "Number.int", "StringValue": "-12"},
             "b": {"DataType": "Binary", "BinaryValue": base64.b64encode(BIN).decode()},
             "l": {"DataType": "String", "StringListValues": ["a", ""],
                   "BinaryListValues": [base64.b64encode(b"\x00\x01").decode()]},
             "é ü": {"DataType": "String.custom", "StringValue": ""}}},
        {"MessageId": "m2", "ReceiptHandle": "r2", "MD5OfBody": "d3", "Body": "",
         "Attributes": {"SenderId": "1"}},
        {"MessageId": "m3", "ReceiptHandle": "r3", "MD5OfBody": "d4", "Body": "   "}]}),
    ("ReceiveMessage", {"Messages": [{"MessageId": "only", "Body": "one"}]}),
    ("ReceiveMessage", {}),
    ("GetQueueAttributes", {"Attributes": {
        "VisibilityTimeout": "30", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:q",
        "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"a<b\"}]}",
        "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn\",\"maxReceiveCount\":\"5\"}"}}),
    ("GetQueueAttributes", {"Attributes": {"FifoQueue": "true"}}),
    ("ListQueues", {"QueueUrls": ["http://localhost:4566/000000000000/a",
                                  "http://localhost:4566/000000000000/b&c"], "NextToken": "t"}),
    ("ListQueues", {"QueueUrls": ["http://localhost:4566/000000000000/only"]}),
    ("ListQueues", {}),
    ("SendMessageBatch", {
        "Successful": [{"Id": "a", "MessageId": "m", "MD5OfMessageBody": "d",
                        "MD5OfMessageAttributes": "e", "SequenceNumber": "1"},
                       {"Id": "b", "MessageId": "m2", "MD5OfMessageBody": "d2"}],
        "Failed": [{"Id": "c", "SenderFault": True, "Code": "InvalidParameterValue",
                    "Message": "bad <value>"},
                   {"Id": "d", "SenderFault": False, "Code": "InternalError"}]}),
    ("SendMessageBatch", {"Successful": [], "Failed": [
        {"Id": "x", "SenderFault": True, "Code": "c"}]}),
    ("DeleteMessageBatch", {"Successful": [{"Id": "a"}], "Failed": []}),
    ("ChangeMessageVisibilityBatch", {"Successful": [{"Id": "a"}, {"Id": "b"}],
                                      "Failed": [{"Id": "c", "SenderFault": True,
                                                  "Code": "ReceiptHandleIsInvalid",
                                                  "Message": "m"}]}),
    ("ListQueueTags", {"Tags": {"team": "a&b", "env": "", "ünï": "cödé"}}),
    ("ListQueueTags", {"Tags": {"k": "v"}}),
    ("CreateQueue", {"QueueUrl": "http://localhost:4566/000000000000/q.fifo"}),
    ("GetQueueUrl", {"QueueUrl": "http://localhost:4566/000000000000/q"}),
    ("ListDeadLetterSourceQueues", {"queueUrls": ["u1", "u2"], "NextToken": "n"}),
    ("StartMessageMoveTask", {"TaskHandle": "eyJ0YXNrSWQiOiJ4In0="}),
    ("CancelMessageMoveTask", {"ApproximateNumberOfMessagesMoved": 1234567890123}),
    ("ListMessageMoveTasks", {"Results": [
        {"TaskHandle": "h", "Status": "RUNNING", "SourceArn": "s", "DestinationArn": "d",
         "MaxNumberOfMessagesPerSecond": 10, "ApproximateNumberOfMessagesMoved": 5,
         "ApproximateNumberOfMessagesToMove": 50, "StartedTimestamp": 1700000000000},
        {"Status": "FAILED", "SourceArn": "s", "FailureReason": "why",
         "ApproximateNumberOfMessagesMoved": 0, "StartedTimestamp": 1}]}),
    ("DeleteQueue", None),
    ("PurgeQueue", None),
]

QUERY_CASES = [
    ("SendMessage", {"QueueUrl": "http://localhost:4566/000000000000/q", "MessageBody": TRICKY,
                     "DelaySeconds": 5, "MessageDeduplicationId": "d", "MessageGroupId": "g",
                     "MessageAttributes": {
                         "s": {"DataType": "String", "StringValue": "x=y&z"},
                         "b": {"DataType": "Binary", "BinaryValue": BIN},
                         "l": {"DataType": "String", "StringListValues": ["p", "q"],
                               "BinaryListValues": [b"\xff"]},
                         "é.ü": {"DataType": "Number", "StringValue": "1.5"}},
                     "MessageSystemAttributes": {
                         "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-a"}}}),
    ("SendMessage", {"QueueUrl": "u", "MessageBody": "+ %20 %zz ;&="}),
    ("SendMessageBatch", {"QueueUrl": "u", "Entries": [
        {"Id": "e%d" % i, "MessageBody": "body %d" % i, "DelaySeconds": i,
         "MessageAttributes": {"a%d" % j: {"DataType": "String", "StringValue": str(j)}
                               for j in range(i % 4)}}
        for i in range(1, 13)]}),
    ("ReceiveMessage", {"QueueUrl": "u", "AttributeNames": ["All", "SenderId"],
                        "MessageAttributeNames": ["All", "a.*"], "MaxNumberOfMessages": 10,
                        "VisibilityTimeout": 0, "WaitTimeSeconds": 20,
                        "ReceiveRequestAttemptId": "x"}),
    ("CreateQueue", {"QueueName": "q.fifo",
                     "Attributes": {"FifoQueue": "true", "DelaySeconds": "0",
                                    "RedrivePolicy": "{\"maxReceiveCount\":\"2\"}"},
                     "tags": {"team": "core", "empty": ""}}),
    ("SetQueueAttributes", {"QueueUrl": "u", "Attributes": {"VisibilityTimeout": "45"}}),
    ("GetQueueAttributes", {"QueueUrl": "u", "AttributeNames": ["All"]}),
    ("GetQueueAttributes", {"QueueUrl": "u", "AttributeNames": []}),
    ("TagQueue", {"QueueUrl": "u", "Tags": {"a": "1", "b": "2"}}),
    ("UntagQueue", {"QueueUrl": "u", "TagKeys": ["a", "b"]}),
    ("AddPermission", {"QueueUrl": "u", "Label": "l", "AWSAccountIds": ["1", "2"],
                       "Actions": ["SendMessage", "*"]}),
    ("RemovePermission", {"QueueUrl": "u", "Label": "l"}),
    ("DeleteMessage", {"QueueUrl": "u", "ReceiptHandle": "r+/="}),
    ("DeleteMessageBatch", {"QueueUrl": "u", "Entries": [
        {"Id": "a", "ReceiptHandle": "r1"}, {"Id": "b", "ReceiptHandle": "r2"}]}),
    ("ChangeMessageVisibility", {"QueueUrl": "u", "ReceiptHandle": "r", "VisibilityTimeout": 0}),
    ("ChangeMessageVisibilityBatch", {"QueueUrl": "u", "Entries": [
        {"Id": "a", "ReceiptHandle": "r1", "VisibilityTimeout": 10},
        {"Id": "b", "ReceiptHandle": "r2"}]}),
    ("GetQueueUrl", {"QueueName": "q", "QueueOwnerAWSAccountId": "000000000000"}),
    ("ListQueues", {"QueueNamePrefix": "p", "MaxResults": 1000, "NextToken": "t"}),
    ("ListQueues", {}),
    ("ListQueueTags", {"QueueUrl": "u"}),
    ("ListDeadLetterSourceQueues", {"QueueUrl": "u", "MaxResults": 5}),
    ("PurgeQueue", {"QueueUrl": "u"}),
    ("DeleteQueue", {"QueueUrl": "u"}),
    ("StartMessageMoveTask", {"SourceArn": "a", "DestinationArn": "b",
                              "MaxNumberOfMessagesPerSecond": 50}),
    ("CancelMessageMoveTask", {"TaskHandle": "h"}),
    ("ListMessageMoveTasks", {"SourceArn": "a", "MaxResults": 10}),
]


def check_xml(svc, bin_dir):
    parser = botocore.parsers.QueryParser()
    answers = run_driver(os.path.join(bin_dir, "test_xml"),
                         [{"op": op, "output": out} for op, out in XML_CASES])
    for (op, out), ans in zip(XML_CASES, answers):
        om = svc.operation_model(op)
        xml = ans["xml"].encode("utf-8")
        parsed = parser.parse({"body": xml, "headers": {}, "status_code": 200}, om.output_shape)
        meta = parsed.pop("ResponseMetadata", {})
        check(meta.get("RequestId") == "req-1", "xml %s: RequestId %r" % (op, meta))
        want = json_to_botocore(om.output_shape, out) if out and om.output_shape else {}
        check(parsed == want, "xml %s: botocore read %r, encoded %r\n%s" % (op, parsed, want, xml))


def check_query(svc, bin_dir):
    binary = os.path.join(bin_dir, "test_query")
    if not os.path.exists(binary):
        print("skip query: %s not built" % binary)
        return
    ser = botocore.serialize.QuerySerializer()
    requests, wants = [], []
    for op, params in QUERY_CASES:
        om = svc.operation_model(op)
        body = ser.serialize_to_request(params, om)["body"]
        want = botocore_to_json(om.input_shape, params)
        # Both the quote_plus encoding (Python, curl) and botocore's own %20 encoding.
        for text in (urllib.parse.urlencode(body),
                     botocore.utils.percent_encode_sequence(body)):
            requests.append({"op": op, "body": text})
            wants.append((op, want, text))
    for (op, want, text), ans in zip(wants, run_driver(binary, requests)):
        check(ans.get("input") == want,
              "query %s: decoded %r, serialized %r\n%s" % (op, ans, want, text))


def node_client_dir():
    d = os.path.join(ROOT, "tests", "integration", "node")
    if shutil.which("node") and os.path.isdir(
            os.path.join(d, "node_modules", "@aws-sdk", "client-sqs")):
        return d
    return None


NODE_SCRIPT = r"""
import { SQSClient, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  const headers = {};
  for (const [k, v] of Object.entries(c.headers)) headers[k.toLowerCase()] = v;
  const client = new SQSClient({
    region: "us-east-1", endpoint: "http://127.0.0.1:9", maxAttempts: 1,
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
    requestHandler: { handle: async () => ({ response: {
      statusCode: c.status, headers, body: Buffer.from(c.body, "utf8") } }) },
  });
  try {
    await client.send(new GetQueueUrlCommand({ QueueName: "q" }));
    out.push({ name: "no error" });
  } catch (e) {
    out.push({ name: e.name, code: e.Code ?? null, type: e.Type ?? null, message: e.message,
               status: e.$metadata?.httpStatusCode ?? null });
  }
}
console.log(JSON.stringify(out));
"""


OTHER_SERVICES = ("EVENTS_", "SNS_", "SES_", "SESV2_", "LIMIT_EXCEEDED_EXCEPTION")


def check_errors(merged, bin_dir):
    binary = os.path.join(bin_dir, "test_aws_errors")
    if not os.path.exists(binary):
        print("skip errors: %s not built" % binary)
        return
    rows = run_driver(binary, [{"list": True}])[0]
    # The SQS wire checks below apply to the generic rows and SQS's own; the rows of other
    # services (EVENTS_*, SNS_*) are checked by those services' integration tests with their
    # own clients.
    rows = [r for r in rows if not r["name"].startswith(OTHER_SERVICES)]
    msg = "Queue <q> & \"friends\" \u00e9\r\n"
    rendered = run_driver(binary, [{"err": r["name"], "msg": msg} for r in rows])

    # Query: botocore 1.29-style parsing against the Query model (with its error codes).
    svc = botocore.model.ServiceModel(merged, service_name="sqs")
    exceptions = ClientExceptionsFactory().create_client_exceptions(svc)
    declared = {}
    for name, s in merged["shapes"].items():
        if s.get("exception"):
            declared[s.get("error", {}).get("code", name)] = (name, s.get("error", {}))
    parser = botocore.parsers.QueryParser()
    out_shape = svc.operation_model("GetQueueUrl").output_shape
    for r, ans in zip(rows, rendered):
        what = "error %s" % r["name"]
        check(ans["status"] == r["status"], "%s: status %s" % (what, ans["status"]))
        parsed = parser.parse({"body": ans["query_body"].encode("utf-8"),
                               "headers": ans["query_headers"], "status_code": ans["status"]},
                              out_shape)
        err = parsed.get("Error", {})
        check(err.get("Code") == r["query_code"], "%s: Query Code %r" % (what, err))
        check(err.get("Message") == msg, "%s: Query Message %r" % (what, err.get("Message")))
        check(err.get("Type") == ("Sender" if r["sender"] else "Receiver"),
              "%s: Query Type %r" % (what, err))
        if r["query_code"] in declared:
            shape_name, info = declared[r["query_code"]]
            cls = exceptions.from_code(r["query_code"]).__name__
            check(cls == r["shape"], "%s: boto3 (Query) raises %s, table says %s"
                  % (what, cls, r["shape"]))
            if "httpStatusCode" in info and info["httpStatusCode"] != r["status"]:
                print("WARN %s: model says HTTP %s, table %s"
                      % (what, info["httpStatusCode"], r["status"]))
        elif r["shape"] in declared:
            check(False, "%s: model names %s's Query code %r, table says %r"
                  % (what, r["shape"], [c for c, (n, _) in declared.items() if n == r["shape"]],
                     r["query_code"]))
        body = json.loads(ans["json_body"])
        check(body == {"__type": "com.amazonaws.sqs#" + r["shape"], "message": msg},
              "%s: JSON body %r" % (what, body))
        check(ans["json_headers"].get("x-amzn-query-error") ==
              "%s;%s" % (r["query_code"], "Sender" if r["sender"] else "Receiver"),
              "%s: x-amzn-query-error %r" % (what, ans["json_headers"]))

    # JSON: botocore >= 1.31 (SQS on AWS JSON 1.0, awsQueryCompatible) picks the class.
    try:
        own = botocore.session.get_session().get_service_model("sqs")
    except Exception as e:  # noqa: BLE001
        own = None
        print("skip botocore JSON errors: %s" % e)
    if own is not None and own.protocol == "json":
        jparser = botocore.parsers.JSONParser()
        jexc = ClientExceptionsFactory().create_client_exceptions(own)
        modeled = {s.name for s in own.error_shapes}
        for r, ans in zip(rows, rendered):
            what = "error %s (botocore %s JSON)" % (r["name"], botocore.__version__)
            headers = {k.lower(): v for k, v in ans["json_headers"].items()}
            parsed = jparser.parse({"body": ans["json_body"].encode("utf-8"), "headers": headers,
                                    "status_code": ans["status"]},
                                   own.operation_model("GetQueueUrl").output_shape)
            err = parsed.get("Error", {})
            check(err.get("Code") == r["query_code"], "%s: Code %r" % (what, err))
            check(err.get("Message") == msg, "%s: Message %r" % (what, err))
            # botocore's SQS handler picks the class by QueryErrorCode (the __type's name).
            key = err.get("QueryErrorCode") or err.get("Code")
            if r["shape"] in modeled:
                check(jexc.from_code(key).__name__ == r["shape"],
                      "%s: raises %s" % (what, jexc.from_code(key).__name__))
    else:
        print("skip botocore JSON errors: botocore %s has the Query SQS model"
              % botocore.__version__)

    # JSON: @aws-sdk/client-sqs v3.
    d = node_client_dir()
    if not d:
        print("skip @aws-sdk/client-sqs: not installed under tests/integration/node")
        return
    cases = [{"status": a["status"], "headers": a["json_headers"], "body": a["json_body"]}
             for a in rendered]
    env = dict(os.environ, NODE_NO_WARNINGS="1")
    p = subprocess.run(["node", "--input-type=module", "-e", NODE_SCRIPT], cwd=d, env=env,
                       input=json.dumps(cases).encode("utf-8"), stdout=subprocess.PIPE,
                       timeout=120, check=True)
    results = json.loads(p.stdout)
    version = json.load(open(os.path.join(d, "node_modules", "@aws-sdk", "client-sqs",
                                          "package.json")))["version"]
    for r, res in zip(rows, results):
        what = "error %s (@aws-sdk/client-sqs %s)" % (r["name"], version)
        check(res["name"] == r["shape"], "%s: throws %s" % (what, res))
        check(res["code"] == r["query_code"], "%s: Code %r" % (what, res["code"]))
        check(res["message"] == msg, "%s: message %r" % (what, res["message"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build"),
                    help="directory holding the built test_xml, test_query, test_aws_errors")
    args = ap.parse_args()
    merged = load_merged_model()
    svc = botocore.model.ServiceModel(merged, service_name="sqs")
    check_xml(svc, args.bin_dir)
    check_query(svc, args.bin_dir)
    check_errors(merged, args.bin_dir)
    n = len(XML_CASES) + len(QUERY_CASES)
    if failures:
        print("xml_roundtrip: %d failure(s)" % len(failures))
        return 1
    print("xml_roundtrip: OK (%d XML/Query cases, errors, botocore %s)"
          % (n, botocore.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
