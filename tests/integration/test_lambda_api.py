"""Lambda function API through boto3: create, get, list (pagination), update code and
configuration, delete, tags, and the errors Lambda answers with."""

import base64
import hashlib
import urllib.request

import pytest
from botocore.exceptions import ClientError

import helpers
from helpers import ACCOUNT, REGION, error_code
from lambda_helpers import ROLE, create, lambda_client, make_zip

CODE = {"app.py": "def handler(event, context):\n    return event\n"}


@pytest.fixture(scope="module")
def lam(server):
    return lambda_client(server.endpoint)


def arn(name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)


def test_create_returns_an_active_configuration(lam):
    zip_bytes = make_zip(CODE)
    name = helpers.unique("fn")
    cfg = lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE,
                              Handler="app.handler", Code={"ZipFile": zip_bytes},
                              Description="echo", Timeout=7, MemorySize=256,
                              Environment={"Variables": {"STAGE": "test"}},
                              Tags={"team": "orders"}, Publish=True)
    assert cfg["FunctionName"] == name
    # Publish=True answers with the version it published, as Lambda does.
    assert cfg["FunctionArn"] == arn(name) + ":1"
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful"
    assert cfg["Version"] == "1"
    assert cfg["CodeSize"] == len(zip_bytes)
    assert cfg["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert (cfg["Timeout"], cfg["MemorySize"], cfg["Description"]) == (7, 256, "echo")
    assert cfg["Environment"] == {"Variables": {"STAGE": "test"}}
    assert cfg["Runtime"] == "python3.11" and cfg["Handler"] == "app.handler"
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["CodeSha256"] == cfg["CodeSha256"]
    assert got["Tags"] == {"team": "orders"}
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as r:
        assert r.read() == zip_bytes
    assert lam.get_function_configuration(FunctionName=arn(name))["FunctionName"] == name


def test_defaults(lam):
    name = create(lam, CODE)
    cfg = lam.get_function_configuration(FunctionName=name)
    assert (cfg["Timeout"], cfg["MemorySize"]) == (3, 128)


def test_create_twice_conflicts(lam):
    name = create(lam, CODE)
    with pytest.raises(ClientError) as e:
        create(lam, CODE, name=name)
    assert error_code(e) == "ResourceConflictException"
    assert e.value.response["Error"]["Message"] == "Function already exist: %s" % name
    assert helpers.http_status(e) == 409


def test_missing_function_is_not_found(lam):
    for call in (lambda: lam.get_function(FunctionName="nope"),
                 lambda: lam.get_function_configuration(FunctionName="nope"),
                 lambda: lam.delete_function(FunctionName="nope"),
                 lambda: lam.invoke(FunctionName="nope", Payload=b"{}")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "ResourceNotFoundException"
        assert helpers.http_status(e) == 404
        assert e.value.response["Error"]["Message"] == "Function not found: %s" % arn("nope")


@pytest.mark.parametrize("kw,fragment", [
    ({"Runtime": "cobol42"}, "at 'runtime' failed to satisfy constraint"),
    ({"Runtime": "python2.7"}, "The runtime parameter of python2.7 is no longer supported"),
    ({"Handler": "nodot"}, "at 'handler' failed to satisfy constraint"),
    ({"Timeout": 901}, "Value '901' at 'timeout' failed to satisfy constraint: Member must "
                       "have value less than or equal to 900"),
    ({"MemorySize": 10241}, "at 'memorySize' failed to satisfy constraint"),
    ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "reserved keys"),
])
def test_bad_configuration_is_rejected(lam, kw, fragment):
    args = dict(FunctionName=helpers.unique("bad"), Runtime="python3.11", Role=ROLE,
                Handler="app.handler", Code={"ZipFile": make_zip(CODE)})
    args.update(kw)
    with pytest.raises(ClientError) as e:
        lam.create_function(**args)
    assert error_code(e) == "InvalidParameterValueException"
    assert fragment in e.value.response["Error"]["Message"]
    assert helpers.http_status(e) == 400


def test_corrupt_and_unsafe_zips_are_rejected(lam):
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=helpers.unique("bad"), Runtime="python3.11", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": b"not a zip at all, no"})
    assert error_code(e) == "InvalidParameterValueException"
    assert e.value.response["Error"]["Message"].startswith("Could not unzip uploaded file.")
    with pytest.raises(ClientError) as e:
        create(lam, {"../../escape.py": "x = 1\n"})
    assert error_code(e) == "InvalidParameterValueException"
    assert "unsafe path" in e.value.response["Error"]["Message"]


def test_list_functions_paginates(lam):
    names = sorted(create(lam, CODE, name=helpers.unique("page")) for _ in range(5))
    seen, marker = [], None
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = lam.list_functions(**kw)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n in names] == names
    paginated = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate()
                 for f in p["Functions"]]
    assert set(names) <= set(paginated)


def test_update_code_and_configuration(lam):
    name = create(lam, CODE)
    before = lam.get_function_configuration(FunctionName=name)
    new_zip = make_zip({"app.py": "def handler(event, context):\n    return {'v': 2}\n"})
    cfg = lam.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert cfg["CodeSha256"] == base64.b64encode(hashlib.sha256(new_zip).digest()).decode()
    assert cfg["RevisionId"] != before["RevisionId"]
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'{"v": 2}'
    cfg = lam.update_function_configuration(FunctionName=name, Timeout=30, MemorySize=512,
                                            Description="v2",
                                            Environment={"Variables": {"A": "1"}})
    assert (cfg["Timeout"], cfg["MemorySize"], cfg["Description"]) == (30, 512, "v2")
    assert cfg["Environment"]["Variables"] == {"A": "1"}
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName=name, Timeout=0 + 1000)
    assert error_code(e) == "InvalidParameterValueException"


def test_delete_function(lam):
    name = create(lam, CODE)
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert error_code(e) == "ResourceNotFoundException"
    create(lam, CODE, name=name)  # the name is free again


def test_tags(lam):
    name = create(lam, CODE, Tags={"a": "1"})
    lam.tag_resource(Resource=arn(name), Tags={"b": "2", "c": "3"})
    assert lam.list_tags(Resource=arn(name))["Tags"] == {"a": "1", "b": "2", "c": "3"}
    lam.untag_resource(Resource=arn(name), TagKeys=["a", "c"])
    assert lam.list_tags(Resource=arn(name))["Tags"] == {"b": "2"}
    with pytest.raises(ClientError) as e:
        lam.list_tags(Resource=arn("nope"))
    assert error_code(e) == "ResourceNotFoundException"


def test_functions_survive_a_restart(fresh_server):
    lam = lambda_client(fresh_server.endpoint)
    name = create(lam, CODE, Tags={"k": "v"})
    fresh_server.restart_after_kill()
    lam = lambda_client(fresh_server.endpoint)
    assert lam.get_function(FunctionName=name)["Tags"] == {"k": "v"}
    assert lam.invoke(FunctionName=name, Payload=b'{"x": 1}')["Payload"].read() == b'{"x": 1}'
