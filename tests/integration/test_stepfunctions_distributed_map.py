"""Step Functions: a distributed Map reads its items from this server's S3 (ItemReader with
s3:getObject as JSON, JSONL or CSV, MaxItems; s3:listObjectsV2 over a prefix) and writes its
results there (ResultWriter with s3:putObject: manifest.json, SUCCEEDED_0.json,
FAILED_0.json), with Debian's boto3. A missing object is States.ItemReaderFailed (caught by
Catch), and a Map whose iterations run at a SIGKILL finishes once after the restart."""

import json
import time

from helpers import make_client, unique
from sfn_helpers import ROLE, history, run, wait_done

ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def s3c(server):
    return make_client(server.endpoint, "s3", s3={"addressing_style": "path"})


def sfnc(server):
    return make_client(server.endpoint, "stepfunctions")


def new_bucket(s3):
    name = unique("dm")
    s3.create_bucket(Bucket=name)
    return name


def map_machine(reader, processor=ECHO, **fields):
    state = {"Type": "Map", "ItemProcessor": dict(processor, ProcessorConfig=DISTRIBUTED), "End": True}
    if reader is not None:
        state["ItemReader"] = reader
    state.update(fields)
    return {"StartAt": "Map", "States": {"Map": state}}


def get_object(bucket, key):
    return {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": bucket, "Key": key}}


def test_json_array_object(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    items = [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}, "three", 4]
    s3.put_object(Bucket=b, Key="data/items.json", Body=json.dumps(items).encode())
    reader = dict(get_object(b, "data/items.json"), ReaderConfig={"InputType": "JSON"})
    d = run(sfn, map_machine(reader))
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == items
    types = [e["type"] for e in history(sfn, d["executionArn"])]
    assert types.count("MapIterationSucceeded") == 4
    started = [e for e in history(sfn, d["executionArn"]) if e["type"] == "MapStateStarted"]
    assert started[0]["mapStateStartedEventDetails"]["length"] == 4


def test_parameters_paths_and_item_selector_with_map_item_value(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="in/people.json", Body=json.dumps([{"name": "ana"}, {"name": "bo"}]).encode())
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.where.bucket", "Key.$": "$.where.key"},
    }
    definition = map_machine(
        reader,
        ItemSelector={"who.$": "$$.Map.Item.Value.name", "index.$": "$$.Map.Item.Index", "greeting.$": "$.greeting"},
    )
    d = run(sfn, definition, {"where": {"bucket": b, "key": "in/people.json"}, "greeting": "hi"})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [
        {"who": "ana", "index": 0, "greeting": "hi"},
        {"who": "bo", "index": 1, "greeting": "hi"},
    ]


def test_csv_with_header_row(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    body = 'id,name,note\r\n1,ana,"hello, world"\r\n2,bo,"say ""hi"""\r\n\r\n3,cy,\r\n'
    s3.put_object(Bucket=b, Key="r.csv", Body=body.encode())
    reader = dict(get_object(b, "r.csv"), ReaderConfig={"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})
    d = run(sfn, map_machine(reader))
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [
        {"id": "1", "name": "ana", "note": "hello, world"},
        {"id": "2", "name": "bo", "note": 'say "hi"'},
        {"id": "3", "name": "cy", "note": ""},
    ]


def test_csv_with_given_headers_and_pipe_delimiter(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="r.psv", Body=b"10|x\n20|y\n")
    reader = dict(
        get_object(b, "r.psv"),
        ReaderConfig={
            "InputType": "CSV",
            "CSVHeaderLocation": "GIVEN",
            "CSVHeaders": ["qty", "code"],
            "CSVDelimiter": "PIPE",
        },
    )
    d = run(sfn, map_machine(reader))
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [{"qty": "10", "code": "x"}, {"qty": "20", "code": "y"}]


def test_jsonl_and_max_items(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    lines = [{"n": i} for i in range(10)]
    s3.put_object(Bucket=b, Key="l.jsonl", Body=("\n".join(json.dumps(x) for x in lines) + "\n").encode())
    reader = dict(get_object(b, "l.jsonl"), ReaderConfig={"InputType": "JSONL"})
    d = run(sfn, map_machine(reader))
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == lines
    limited = dict(get_object(b, "l.jsonl"), ReaderConfig={"InputType": "JSONL", "MaxItems": 3})
    d = run(sfn, map_machine(limited))
    assert json.loads(d["output"]) == lines[:3]
    by_path = dict(get_object(b, "l.jsonl"), ReaderConfig={"InputType": "JSONL", "MaxItemsPath": "$.max"})
    d = run(sfn, map_machine(by_path), {"max": 2})
    assert json.loads(d["output"]) == lines[:2]


def test_list_objects_v2_over_a_prefix(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    for k in ("logs/a.txt", "logs/b/c.txt", "other/d.txt", "logs/e.txt"):
        s3.put_object(Bucket=b, Key=k, Body=k.encode() * 2)
    reader = {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": b, "Prefix": "logs/"}}
    d = run(sfn, map_machine(reader))
    assert d["status"] == "SUCCEEDED", d
    got = json.loads(d["output"])
    listed = s3.list_objects_v2(Bucket=b, Prefix="logs/")["Contents"]
    assert [x["Key"] for x in got] == ["logs/a.txt", "logs/b/c.txt", "logs/e.txt"]
    for item, obj in zip(got, listed):
        assert set(item) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
        assert item["Etag"] == obj["ETag"] and item["Size"] == obj["Size"] == len(obj["Key"]) * 2
        assert item["StorageClass"] == "STANDARD"
        assert item["LastModified"] == int(obj["LastModified"].timestamp())
    limited = dict(reader, ReaderConfig={"MaxItems": 2})
    d = run(sfn, map_machine(limited))
    assert [x["Key"] for x in json.loads(d["output"])] == ["logs/a.txt", "logs/b/c.txt"]


def test_missing_object_is_caught_as_item_reader_failed(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    definition = map_machine(
        dict(get_object(b, "nope.json"), ReaderConfig={"InputType": "JSON"}),
        Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "ResultPath": "$.error", "Next": "Caught"}],
    )
    del definition["States"]["Map"]["End"]
    definition["States"]["Map"]["Next"] = "Unused"
    definition["States"]["Unused"] = {"Type": "Fail", "Error": "NotHere"}
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    d = run(sfn, definition, {"keep": 1})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["keep"] == 1 and out["error"]["Error"] == "States.ItemReaderFailed"
    assert "NoSuchKey" in out["error"]["Cause"] and "nope.json" in out["error"]["Cause"]


def test_bad_content_fails_with_item_reader_failed(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="bad.json", Body=b"{not json")
    s3.put_object(Bucket=b, Key="obj.json", Body=b'{"a": 1}')
    s3.put_object(Bucket=b, Key="bad.csv", Body=b'h1,h2\n1,2,3\n')
    s3.put_object(Bucket=b, Key="open.csv", Body=b'h1\n"unterminated\n')
    cases = [
        ("bad.json", {"InputType": "JSON"}, "not JSON"),
        ("obj.json", {"InputType": "JSON"}, "not a JSON array"),
        ("bad.csv", {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}, "has 3 fields"),
        ("open.csv", {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}, "quoted field"),
    ]
    for key, config, why in cases:
        d = run(sfn, map_machine(dict(get_object(b, key), ReaderConfig=config)))
        assert d["status"] == "FAILED", (key, d)
        assert d["error"] == "States.ItemReaderFailed", (key, d)
        assert why in d["cause"], (key, d["cause"])


def test_result_writer_manifest_and_results(server):
    s3, sfn = s3c(server), sfnc(server)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="in.json", Body=json.dumps([1, 2, 3]).encode())
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}],
                "Default": "Double",
            },
            "Double": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True},
            "Boom": {"Type": "Fail", "Error": "Two", "Cause": "two is bad"},
        },
    }
    definition = map_machine(
        dict(get_object(b, "in.json"), ReaderConfig={"InputType": "JSON"}),
        processor,
        ToleratedFailurePercentage=50,
        ResultWriter={"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": b, "Prefix": "out"}},
    )
    d = run(sfn, definition)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    run_arn = out["MapRunArn"]
    assert run_arn.startswith("arn:aws:states:") and ":mapRun:" in run_arn and run_arn.endswith("/Map:" + run_arn.split(":")[-1])
    run_id = run_arn.split(":")[-1]
    assert out["ResultWriterDetails"] == {"Bucket": b, "Key": "out/%s/manifest.json" % run_id}
    manifest = json.loads(s3.get_object(Bucket=b, Key=out["ResultWriterDetails"]["Key"])["Body"].read())
    assert manifest["DestinationBucket"] == b and manifest["MapRunArn"] == run_arn
    files = manifest["ResultFiles"]
    assert files["PENDING"] == []
    assert [f["Key"] for f in files["SUCCEEDED"]] == ["out/%s/SUCCEEDED_0.json" % run_id]
    assert [f["Key"] for f in files["FAILED"]] == ["out/%s/FAILED_0.json" % run_id]
    ok = s3.get_object(Bucket=b, Key=files["SUCCEEDED"][0]["Key"])
    ok_body = ok["Body"].read()
    assert len(ok_body) == files["SUCCEEDED"][0]["Size"]
    succeeded = json.loads(ok_body)
    assert [json.loads(e["Input"]) for e in succeeded] == [1, 3]
    assert [json.loads(e["Output"]) for e in succeeded] == [{"v": 1}, {"v": 3}]
    assert all(e["Status"] == "SUCCEEDED" and e["MapRunArn"] == run_arn for e in succeeded)
    assert all(":execution:" in e["ExecutionArn"] for e in succeeded)
    failed = json.loads(s3.get_object(Bucket=b, Key=files["FAILED"][0]["Key"])["Body"].read())
    assert len(failed) == 1 and json.loads(failed[0]["Input"]) == 2
    assert failed[0]["Status"] == "FAILED" and failed[0]["Error"] == "Two" and failed[0]["Cause"] == "two is bad"


def test_result_writer_to_a_missing_bucket_fails(server):
    sfn = sfnc(server)
    definition = map_machine(
        None,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": unique("missing"), "Prefix": "p"},
        },
    )
    d = run(sfn, definition, [1, 2])
    assert d["status"] == "FAILED" and d["error"] == "States.ResultWriterFailed", d
    assert "NoSuchBucket" in d["cause"]


def test_sigkill_while_the_map_runs_completes_once(fresh_server):
    s3, sfn = s3c(fresh_server), sfnc(fresh_server)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="in.json", Body=json.dumps(list(range(6))).encode())
    processor = {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Tag"},
            "Tag": {"Type": "Pass", "Parameters": {"n.$": "$"}, "End": True},
        },
    }
    definition = map_machine(
        dict(get_object(b, "in.json"), ReaderConfig={"InputType": "JSON"}),
        processor,
        MaxConcurrency=2,
        ResultWriter={"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": b, "Prefix": "k"}},
    )
    sm = sfn.create_state_machine(name=unique("dm"), definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    deadline = time.time() + 10
    while time.time() < deadline:
        if any(e["type"] == "MapIterationStarted" for e in history(sfn, ex)):
            break
        time.sleep(0.05)
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    fresh_server.restart_after_kill()
    sfn, s3 = sfnc(fresh_server), s3c(fresh_server)
    d = wait_done(sfn, ex, 30)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    manifest = json.loads(s3.get_object(Bucket=b, Key=out["ResultWriterDetails"]["Key"])["Body"].read())
    key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    results = json.loads(s3.get_object(Bucket=b, Key=key)["Body"].read())
    assert [json.loads(e["Output"]) for e in results] == [{"n": i} for i in range(6)]
    ev = history(sfn, ex)
    assert [e["id"] for e in ev] == list(range(1, len(ev) + 1))
    ends = [e for e in ev if e["type"] in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted")]
    assert len(ends) == 1 and ev[-1] is ends[0]
    assert [e["type"] for e in ev].count("MapStateSucceeded") == 1
