"""Helpers for the Step Functions suites: creating machines, waiting for executions, reading
their whole history, the server's count of executions in memory; and a boto3 client that
knows the operations Debian's botocore (1.29) predates (versions, aliases, RedriveExecution,
TestState...): it loads the Step Functions model Sluice serves (botocore's, merged with
scripts/models/stepfunctions-overlay.json by scripts/gen-models.py), as
`aws configure add-model` would."""

import importlib.util
import json
import os
import shutil
import time

import boto3
import botocore.session

from helpers import REGION, SLOW, client_config, make_client, unique

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEBIAN_MODELS = "/usr/lib/python3/dist-packages/botocore/data"
ROLE = "arn:aws:iam::000000000000:role/sfn"


def sfn_client(server, **cfg):
    return make_client(server.endpoint, "stepfunctions", **cfg)


def create_machine(sfn, definition, kind="STANDARD", name=None):
    return sfn.create_state_machine(
        name=name or unique("sm"), definition=json.dumps(definition), roleArn=ROLE, type=kind
    )["stateMachineArn"]


def ask_state(queue_url, **fields):
    """A Task state that sends its task token to queue_url ({"token": ...}) and waits for
    SendTaskSuccess/Failure; fields: Next or End, HeartbeatSeconds..."""
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
    }
    state.update(fields)
    return state


def until(what, fn, timeout=10):
    """fn()'s first true value within timeout seconds (longer for a sanitized server)."""
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def wait_done(sfn, arn, timeout=30):
    """The execution's description once it is no longer RUNNING."""
    return until(
        "the end of " + arn,
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=arn)),
        timeout,
    )


def run(sfn, definition, input_doc=None, timeout=30):
    """Creates a STANDARD machine, starts it with input_doc and waits for its end."""
    sm = create_machine(sfn, definition)
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps(input_doc or {}))["executionArn"]
    return wait_done(sfn, arn, timeout)


def history(sfn, arn):
    """Every event of the execution's history, page after page."""
    out, kw = [], {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kw)
        out += page["events"]
        if not page.get("nextToken"):
            return out
        kw["nextToken"] = page["nextToken"]


def in_memory(server):
    """How many executions the server holds in memory (its health endpoint)."""
    status, body = server.health()
    assert status == 200
    return json.loads(body)["sfn_executions_in_memory"]


def merged_model_client(endpoint, models_dir, **cfg):
    """A stepfunctions client on endpoint whose model (written under models_dir, a fresh
    directory) is the merged one; cfg: botocore Config settings."""
    spec = importlib.util.spec_from_file_location("gen_models",
                                                  os.path.join(ROOT, "scripts", "gen-models.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    row = [r for r in gen.SERVICES if r["service"] == "stepfunctions"][0]
    target = os.path.join(str(models_dir), "stepfunctions", "2016-11-23")
    os.makedirs(target)
    with open(os.path.join(target, "service-2.json"), "w") as f:
        json.dump(gen.load_model(row), f)
    for extra in ("endpoint-rule-set-1.json", "paginators-1.json"):
        src = os.path.join(DEBIAN_MODELS, "stepfunctions", "2016-11-23", extra)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(target, extra))
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models_dir))
    return boto3.session.Session(botocore_session=core).client(
        "stepfunctions", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test", config=client_config(**cfg))
