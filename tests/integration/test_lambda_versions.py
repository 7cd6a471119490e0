"""Lambda versions, aliases, qualified invocation, reserved concurrency and resource-based
policies through boto3, as Lambda answers them."""

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

import helpers
from helpers import ACCOUNT, REGION, error_code
from lambda_helpers import create, lambda_client, make_zip


def code(tag):
    """A handler that says which code it is and which version runs it."""
    return {"app.py": (
        "import os\n"
        "def handler(event, context):\n"
        "    return {'tag': %r, 'version': os.environ['AWS_LAMBDA_FUNCTION_VERSION'],\n"
        "            'arn': context.invoked_function_arn}\n" % tag)}


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


def arn(name, qualifier=None):
    base = "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)
    return base + (":" + qualifier if qualifier else "")


def invoke(lam, name, **kw):
    resp = lam.invoke(FunctionName=name, **kw)
    return resp, json.loads(resp["Payload"].read())


def test_publish_freezes_code_and_configuration(lam):
    name = create(lam, code("one"), Environment={"Variables": {"K": "a"}})
    v1 = lam.publish_version(FunctionName=name, Description="first")
    assert (v1["Version"], v1["FunctionArn"], v1["Description"]) == ("1", arn(name, "1"), "first")
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("two")))
    v2 = lam.publish_version(FunctionName=name)
    assert v2["Version"] == "2" and v2["CodeSha256"] != v1["CodeSha256"]
    # Version 1 still runs the code it was published with; $LATEST runs the new one.
    resp, out = invoke(lam, name, Qualifier="1")
    assert out["tag"] == "one" and out["version"] == "1"
    assert resp["ExecutedVersion"] == "1"
    assert out["arn"] == arn(name, "1")
    resp, out = invoke(lam, arn(name, "2"))
    assert (out["tag"], resp["ExecutedVersion"]) == ("two", "2")
    resp, out = invoke(lam, name)
    assert (out["tag"], out["version"], resp["ExecutedVersion"]) == ("two", "$LATEST", "$LATEST")
    # The configuration is frozen too.
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"K": "b"}})
    got = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert got["Environment"] == {"Variables": {"K": "a"}} and got["Version"] == "1"
    assert lam.get_function(FunctionName=arn(name, "2"))["Configuration"]["Version"] == "2"


def test_publish_without_change_returns_the_last_version(lam):
    name = create(lam, code("same"))
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    lam.update_function_configuration(FunctionName=name, Timeout=9)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"


def test_publish_checks_code_sha_and_revision(lam):
    name = create(lam, code("x"))
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName=name, CodeSha256="bm90IHRoZSBzaGE=")
    assert error_code(e) == "InvalidParameterValueException"
    assert "is different from current CodeSHA256 in $LATEST" in str(e.value)
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName=name, RevisionId="not-the-revision")
    assert error_code(e) == "PreconditionFailedException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName=helpers.unique("nofn"))
    assert error_code(e) == "ResourceNotFoundException"


def test_list_versions_paginates(lam):
    name = create(lam, code("p"))
    for t in range(4):
        lam.update_function_configuration(FunctionName=name, Timeout=10 + t)
        lam.publish_version(FunctionName=name)
    seen, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = lam.list_versions_by_function(FunctionName=name, MaxItems=2, **kw)
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["$LATEST", "1", "2", "3", "4"]
    all_fns = lam.list_functions(FunctionVersion="ALL", MaxItems=10000)["Functions"]
    mine = sorted(f["Version"] for f in all_fns if f["FunctionName"] == name)
    assert mine == ["$LATEST", "1", "2", "3", "4"]
    plain = lam.list_functions(MaxItems=10000)["Functions"]
    assert [f["Version"] for f in plain if f["FunctionName"] == name] == ["$LATEST"]


def test_delete_version(lam):
    name = create(lam, code("d"))
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=name, Qualifier="1")
    assert error_code(e) == "ResourceConflictException" and "[live]" in str(e.value)
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert error_code(e) == "InvalidParameterValueException"
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Qualifier="1")
    assert error_code(e) == "ResourceNotFoundException"
    assert arn(name, "1") in str(e.value)
    # Numbers are never reused.
    lam.update_function_configuration(FunctionName=name, Timeout=4)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    # $LATEST still runs.
    assert invoke(lam, name)[1]["tag"] == "d"


def test_alias_lifecycle(lam):
    name = create(lam, code("a1"))
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("a2")))
    lam.publish_version(FunctionName=name)
    alias = lam.create_alias(FunctionName=name, Name="prod", FunctionVersion="1",
                             Description="production")
    assert alias["AliasArn"] == arn(name, "prod")
    assert (alias["Name"], alias["FunctionVersion"], alias["Description"]) == \
        ("prod", "1", "production")
    resp, out = invoke(lam, name, Qualifier="prod")
    assert (out["tag"], resp["ExecutedVersion"]) == ("a1", "1")
    assert invoke(lam, name + ":prod")[1]["tag"] == "a1"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="prod", FunctionVersion="2")
    assert error_code(e) == "ResourceConflictException"
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName=name, Name="prod", FunctionVersion="2",
                         RevisionId="stale")
    assert error_code(e) == "PreconditionFailedException"
    updated = lam.update_alias(FunctionName=name, Name="prod", FunctionVersion="2",
                               RevisionId=alias["RevisionId"])
    assert updated["FunctionVersion"] == "2" and updated["Description"] == "production"
    assert updated["RevisionId"] != alias["RevisionId"]
    assert invoke(lam, name, Qualifier="prod")[1]["tag"] == "a2"
    assert lam.get_alias(FunctionName=name, Name="prod")["FunctionVersion"] == "2"
    assert lam.get_function_configuration(FunctionName=name, Qualifier="prod")["Version"] == "2"
    lam.create_alias(FunctionName=name, Name="dev", FunctionVersion="$LATEST")
    names = [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]]
    assert sorted(names) == ["dev", "prod"]
    only = lam.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]
    assert [a["Name"] for a in only] == ["prod"]
    page = lam.list_aliases(FunctionName=name, MaxItems=1)
    assert len(page["Aliases"]) == 1 and page["NextMarker"]
    rest = lam.list_aliases(FunctionName=name, Marker=page["NextMarker"])["Aliases"]
    assert len(rest) == 1 and rest[0]["Name"] != page["Aliases"][0]["Name"]
    lam.delete_alias(FunctionName=name, Name="dev")
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName=name, Name="dev")
    assert error_code(e) == "ResourceNotFoundException"


def test_alias_validation(lam):
    name = create(lam, code("v"))
    lam.publish_version(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="123", FunctionVersion="1")
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="x", FunctionVersion="7")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="x", FunctionVersion="$LATEST",
                         RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="x", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"9": 0.5}})
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Qualifier="nosuchalias")
    assert error_code(e) == "ResourceNotFoundException"


def test_weighted_alias_routes_between_versions(lam):
    name = create(lam, code("w1"))
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("w2")))
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="canary", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    got = lam.get_alias(FunctionName=name, Name="canary")
    assert got["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    versions = [invoke(lam, name, Qualifier="canary")[0]["ExecutedVersion"] for _ in range(40)]
    # 40 fair coin flips all landing on one side: about 1 in 5e11.
    assert set(versions) == {"1", "2"}
    lam.update_alias(FunctionName=name, Name="canary", RoutingConfig={})
    assert "RoutingConfig" not in lam.get_alias(FunctionName=name, Name="canary") or \
        not lam.get_alias(FunctionName=name, Name="canary")["RoutingConfig"].get(
            "AdditionalVersionWeights")
    versions = {invoke(lam, name, Qualifier="canary")[0]["ExecutedVersion"] for _ in range(10)}
    assert versions == {"1"}


def test_event_invocation_of_an_alias(lam, sqs, new_queue):
    _, url = new_queue()
    name = create(lam, {"app.py": (
        "import boto3, json, os\n"
        "def handler(event, context):\n"
        "    boto3.client('sqs').send_message(QueueUrl=event['url'], MessageBody=json.dumps(\n"
        "        {'version': os.environ['AWS_LAMBDA_FUNCTION_VERSION']}))\n")})
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    resp = lam.invoke(FunctionName=name, Qualifier="live", InvocationType="Event",
                      Payload=json.dumps({"url": url}))
    assert resp["StatusCode"] == 202
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
    assert msgs and json.loads(msgs[0]["Body"]) == {"version": "1"}


def test_reserved_concurrency(lam):
    name = create(lam, {"app.py": "import time\ndef handler(e, c):\n    time.sleep(e['s'])\n"},
                  Timeout=10)
    assert lam.get_function_concurrency(FunctionName=name).get(
        "ReservedConcurrentExecutions") is None
    put = lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert put["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName=name)["Concurrency"] == {
        "ReservedConcurrentExecutions": 0}
    # Zero reserved: every invocation is throttled.
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Payload=json.dumps({"s": 0}))
    assert error_code(e) == "TooManyRequestsException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    # One reserved: a second concurrent invocation is throttled while the first runs.
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    first = {}
    t = threading.Thread(target=lambda: first.update(
        r=lam.invoke(FunctionName=name, Payload=json.dumps({"s": 2}))))
    t.start()
    try:
        throttled = False
        time.sleep(0.5)  # the first invocation is running (it sleeps 2 s)
        for _ in range(50):
            try:
                lam.invoke(FunctionName=name, Payload=json.dumps({"s": 0}))
            except ClientError as err:
                throttled = err.response["Error"]["Code"] == "TooManyRequestsException"
                break
        assert throttled
    finally:
        t.join()
    assert first["r"]["StatusCode"] == 200
    lam.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert "Concurrency" not in lam.get_function(FunctionName=name)
    assert invoke(lam, name, Payload=json.dumps({"s": 0}))[0]["StatusCode"] == 200
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=100000)
    assert error_code(e) == "InvalidParameterValueException"
    assert "UnreservedConcurrentExecution" in str(e.value)


def test_permissions(lam):
    name = create(lam, code("perm"))
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert error_code(e) == "ResourceNotFoundException"
    st = lam.add_permission(FunctionName=name, StatementId="sns-invoke",
                            Action="lambda:InvokeFunction", Principal="sns.amazonaws.com",
                            SourceArn="arn:aws:sns:%s:%s:orders" % (REGION, ACCOUNT))
    statement = json.loads(st["Statement"])
    assert statement == {
        "Sid": "sns-invoke", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn(name),
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:sns:%s:%s:orders" % (
            REGION, ACCOUNT)}}}
    lam.add_permission(FunctionName=name, StatementId="acct", Action="lambda:GetFunction",
                       Principal=ACCOUNT)
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="acct", Action="lambda:*",
                           Principal="*")
    assert error_code(e) == "ResourceConflictException"
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="bad", Action="s3:GetObject",
                           Principal="*")
    assert error_code(e) == "InvalidParameterValueException"
    got = lam.get_policy(FunctionName=name)
    policy = json.loads(got["Policy"])
    assert policy["Version"] == "2012-10-17"
    assert [s["Sid"] for s in policy["Statement"]] == ["sns-invoke", "acct"]
    assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::%s:root" % ACCOUNT}
    assert got["RevisionId"] == lam.get_function_configuration(FunctionName=name)["RevisionId"]
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="sns-invoke", RevisionId="stale")
    assert error_code(e) == "PreconditionFailedException"
    lam.remove_permission(FunctionName=name, StatementId="sns-invoke")
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="sns-invoke")
    assert error_code(e) == "ResourceNotFoundException"
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])[
        "Statement"]] == ["acct"]
    # A qualified policy is its own.
    lam.publish_version(FunctionName=name)
    lam.add_permission(FunctionName=name, Qualifier="1", StatementId="v1",
                       Action="lambda:InvokeFunction", Principal="events.amazonaws.com")
    v1 = json.loads(lam.get_policy(FunctionName=name, Qualifier="1")["Policy"])
    assert [s["Resource"] for s in v1["Statement"]] == [arn(name, "1")]
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, Qualifier="5", StatementId="v5",
                           Action="lambda:InvokeFunction", Principal="*")
    assert error_code(e) == "ResourceNotFoundException"


def test_versions_survive_a_restart(fresh_server):
    lam = lambda_client(fresh_server.endpoint)
    name = create(lam, code("r1"))
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("r2")))
    lam.create_alias(FunctionName=name, Name="stable", FunctionVersion="1")
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    lam.add_permission(FunctionName=name, StatementId="s", Action="lambda:InvokeFunction",
                       Principal="*")
    fresh_server.restart_after_kill()
    lam = lambda_client(fresh_server.endpoint)
    assert invoke(lam, name, Qualifier="stable")[1]["tag"] == "r1"
    assert invoke(lam, name)[1]["tag"] == "r2"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)[
        "Versions"]] == ["$LATEST", "1"]
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    assert json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"][0]["Sid"] == "s"
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Qualifier="stable")
    assert error_code(e) == "ResourceNotFoundException"
