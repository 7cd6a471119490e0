"""S3: buckets and objects over the REST-XML protocol, path-style, with Debian's boto3 and
AWS CLI v2. Binary bodies round-trip byte for byte with their metadata; ranges, conditions,
listings (prefixes, delimiters, pages), the errors S3 answers, SigV4 (headers and presigned
URLs) and durability across SIGKILL."""

import base64
import hashlib
import http.client
import os
import subprocess
import tempfile
import urllib.request

import botocore
import pytest

from helpers import cli_env, make_client, unique


def s3c(server):
    return make_client(server.endpoint, "s3", s3={"addressing_style": "path"})


def bucket(s3):
    name = unique("b")
    s3.create_bucket(Bucket=name)
    return name


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


def raw(server, method, path, body=b"", headers=None):
    """An unsigned-payload request signed for S3 (the server accepts any credentials)."""
    req = botocore.awsrequest.AWSRequest(method=method, url=server.endpoint + path, data=body,
                                         headers=dict(headers or {}))
    req.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials("test", "test"), "s3",
                              "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_binary_round_trip_with_metadata(server):
    s3 = s3c(server)
    b = bucket(s3)
    body = os.urandom(200000) + bytes(range(256)) + b"\0\0\r\n"
    put = s3.put_object(Bucket=b, Key="dir/bin ary\u00e9.dat", Body=body, ContentType="application/x-test",
                        Metadata={"Owner": "me", "n": "1"}, CacheControl="max-age=60")
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=b, Key="dir/bin ary\u00e9.dat")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"owner": "me", "n": "1"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ETag"] == put["ETag"]
    assert got["ContentLength"] == len(body)
    head = s3.head_object(Bucket=b, Key="dir/bin ary\u00e9.dat")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    assert head["Metadata"] == {"owner": "me", "n": "1"}
    # an empty object, and the default content type
    s3.put_object(Bucket=b, Key="empty", Body=b"")
    e = s3.get_object(Bucket=b, Key="empty")
    assert e["Body"].read() == b"" and e["ContentType"] == "binary/octet-stream"
    # overwrite replaces body and metadata
    s3.put_object(Bucket=b, Key="empty", Body=b"now", Metadata={"x": "y"})
    e = s3.get_object(Bucket=b, Key="empty")
    assert e["Body"].read() == b"now" and e["Metadata"] == {"x": "y"}


def test_ranges_and_conditions(server):
    s3 = s3c(server)
    b = bucket(s3)
    body = bytes(range(100))
    etag = s3.put_object(Bucket=b, Key="r", Body=body)["ETag"]
    r = s3.get_object(Bucket=b, Key="r", Range="bytes=10-19")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["Body"].read() == body[10:20] and r["ContentRange"] == "bytes 10-19/100"
    assert s3.get_object(Bucket=b, Key="r", Range="bytes=95-")["Body"].read() == body[95:]
    assert s3.get_object(Bucket=b, Key="r", Range="bytes=-3")["Body"].read() == body[-3:]
    assert s3.get_object(Bucket=b, Key="r", Range="bytes=90-500")["Body"].read() == body[90:]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=b, Key="r", Range="bytes=100-")
    assert err(ei) == ("InvalidRange", 416)
    assert s3.get_object(Bucket=b, Key="r", IfMatch=etag)["Body"].read() == body
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=b, Key="r", IfMatch='"0000"')
    assert err(ei) == ("PreconditionFailed", 412)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=b, Key="r", IfNoneMatch=etag)
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_listing_prefix_delimiter_and_pages(server):
    s3 = s3c(server)
    b = bucket(s3)
    keys = ["a/1", "a/2", "a/b/3", "b", "c/1", "c/2", "d"] + ["p/%03d" % i for i in range(25)]
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=k.encode())
    top = s3.list_objects_v2(Bucket=b, Delimiter="/")
    assert [c["Key"] for c in top["Contents"]] == ["b", "d"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "c/", "p/"]
    assert top["KeyCount"] == 5 and top["IsTruncated"] is False
    sub = s3.list_objects_v2(Bucket=b, Prefix="a/", Delimiter="/")
    assert [c["Key"] for c in sub["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["a/b/"]
    c = s3.list_objects_v2(Bucket=b, Prefix="a/")["Contents"][0]
    assert c["Size"] == 3 and c["StorageClass"] == "STANDARD" and c["ETag"].startswith('"')
    # pages of 7 over everything
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=b, MaxKeys=7, **kw)
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys)
    # pages with a delimiter: common prefixes count as entries and are not repeated
    entries, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=b, MaxKeys=2, Delimiter="/", **kw)
        entries += [o["Key"] for o in page.get("Contents", [])]
        entries += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] <= 2
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(entries) == ["a/", "b", "c/", "d", "p/"]
    after = s3.list_objects_v2(Bucket=b, StartAfter="p/020")
    assert [o["Key"] for o in after["Contents"]] == ["p/%03d" % i for i in range(21, 25)]
    assert s3.list_objects_v2(Bucket=b, MaxKeys=0)["KeyCount"] == 0
    v1 = s3.list_objects(Bucket=b, Marker="c/2", MaxKeys=2)
    assert [o["Key"] for o in v1["Contents"]] == ["d", "p/000"] and v1["IsTruncated"] is True
    paged = s3.get_paginator("list_objects").paginate(Bucket=b, PaginationConfig={"PageSize": 4})
    assert [o["Key"] for p in paged for o in p.get("Contents", [])] == sorted(keys)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.list_objects_v2(Bucket=b, ContinuationToken="!!not base64")
    assert err(ei) == ("InvalidArgument", 400)


def test_errors_as_s3_answers_them(server):
    s3 = s3c(server)
    b = bucket(s3)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=b, Key="missing")
    assert err(ei) == ("NoSuchKey", 404)
    assert ei.value.response["Error"]["Key"] == "missing"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.head_object(Bucket=b, Key="missing")
    assert err(ei) == ("404", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    assert err(ei) == ("NoSuchBucket", 404)
    assert ei.value.response["Error"]["BucketName"] == "no-such-bucket-here"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.create_bucket(Bucket=b)
    assert err(ei) == ("BucketAlreadyOwnedByYou", 409)
    for bad in ["ab", "Upper-case", "-dash", "a..b", "192.168.1.1", "x" * 64]:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.create_bucket(Bucket=bad)
        assert err(ei) == ("InvalidBucketName", 400), bad
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.delete_bucket(Bucket=b)
    assert err(ei) == ("BucketNotEmpty", 409)
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    s3.put_object(Bucket=b, Key="md5", Body=b"abc", ContentMD5=good)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=b, Key="md5", Body=b"abd", ContentMD5=good)
    assert err(ei) == ("BadDigest", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=b, Key="md5", Body=b"abc", ContentMD5="bm90IG1kNQ==")
    assert err(ei) == ("InvalidDigest", 400)
    assert s3.get_object(Bucket=b, Key="md5")["Body"].read() == b"abc"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=b, Key="big", Body=b"\1" * (16 * 1024 * 1024 + 1))
    assert err(ei) == ("EntityTooLarge", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=b, Key="k" * 1025, Body=b"x")
    assert err(ei) == ("KeyTooLongError", 400)
    # a 16 MiB object is accepted
    s3.put_object(Bucket=b, Key="max", Body=b"\2" * (16 * 1024 * 1024))
    assert s3.head_object(Bucket=b, Key="max")["ContentLength"] == 16 * 1024 * 1024
    # unsupported subresources are not mistaken for the plain operation
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object_tagging(Bucket=b, Key="mp")
    assert err(ei) == ("NotImplemented", 501)
    # the raw error document
    status, headers, body = raw(server, "GET", "/%s/nothing" % b)
    assert status == 404 and headers["content-type"] == "application/xml"
    assert b"<Code>NoSuchKey</Code>" in body and b"<RequestId>" in body
    assert headers["x-amz-request-id"]


def test_delete_objects_copy_and_delete_bucket(server):
    s3 = s3c(server)
    b = bucket(s3)
    for k in ["1", "2", "3"]:
        s3.put_object(Bucket=b, Key=k, Body=k.encode(), Metadata={"k": k})
    out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "1"}, {"Key": "2"}, {"Key": "nope"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["1", "2", "nope"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["3"]
    quiet = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "x"}], "Quiet": True})
    assert "Deleted" not in quiet
    status, _, body = raw(server, "POST", "/%s?delete" % b, b"<Delete><Object><Key>3</Object></Delete>",
                          {"Content-Type": "application/xml"})
    assert status == 400 and b"<Code>MalformedXML</Code>" in body
    status, _, body = raw(server, "POST", "/%s?delete" % b, b"<!DOCTYPE x [<!ENTITY a 'b'>]><Delete/>")
    assert status == 400 and b"MalformedXML" in body
    copied = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "3"})
    assert copied["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(b"3").hexdigest()
    c = s3.get_object(Bucket=b, Key="copy")
    assert c["Body"].read() == b"3" and c["Metadata"] == {"k": "3"}
    s3.copy_object(Bucket=b, Key="copy", CopySource="%s/3" % b, MetadataDirective="REPLACE",
                   Metadata={"new": "yes"}, ContentType="text/plain")
    c = s3.head_object(Bucket=b, Key="copy")
    assert c["Metadata"] == {"new": "yes"} and c["ContentType"] == "text/plain"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.copy_object(Bucket=b, Key="3", CopySource="%s/3" % b)
    assert err(ei) == ("InvalidRequest", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.copy_object(Bucket=b, Key="z", CopySource="%s/missing" % b)
    assert err(ei) == ("NoSuchKey", 404)
    s3.delete_object(Bucket=b, Key="3")
    s3.delete_object(Bucket=b, Key="copy")
    s3.delete_object(Bucket=b, Key="never-there")
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
    s3.delete_bucket(Bucket=b)
    assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.head_bucket(Bucket=b)
    assert err(ei) == ("404", 404)


def test_aws_cli_cp_ls_rm(server):
    home = tempfile.mkdtemp()
    env = cli_env(home)
    b = unique("cli")

    def aws(*args, data=None):
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint] + list(args), env=env,
                           capture_output=True, input=data, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        return p.stdout

    src = os.path.join(home, "src.bin")
    data = os.urandom(3 * 1024 * 1024 + 17)
    with open(src, "wb") as f:
        f.write(data)
    aws("s3", "mb", "s3://" + b)
    aws("s3", "cp", src, "s3://%s/dir/file one.bin" % b)
    aws("s3", "cp", "-", "s3://%s/dir/stdin.txt" % b, data=b"from stdin\n")
    listing = aws("s3", "ls", "s3://%s/dir/" % b).decode()
    assert "file one.bin" in listing and str(len(data)) in listing and "stdin.txt" in listing
    dst = os.path.join(home, "dst.bin")
    aws("s3", "cp", "s3://%s/dir/file one.bin" % b, dst)
    with open(dst, "rb") as f:
        assert f.read() == data
    assert aws("s3", "cp", "s3://%s/dir/stdin.txt" % b, "-") == b"from stdin\n"
    head = aws("s3api", "head-object", "--bucket", b, "--key", "dir/file one.bin").decode()
    assert hashlib.md5(data).hexdigest() in head
    aws("s3", "rm", "s3://%s/" % b, "--recursive")
    assert aws("s3api", "list-objects-v2", "--bucket", b).strip() in (b"", b"{}") or \
        b'"KeyCount": 0' in aws("s3api", "list-objects-v2", "--bucket", b)
    aws("s3", "rb", "s3://" + b)
    assert b not in aws("s3", "ls").decode()


def test_sigv4_verified_headers_and_presigned(fresh_server_factory):
    server = fresh_server_factory(extra_args=["--access-key", "test", "--secret-key", "test"])
    s3 = s3c(server)
    b = bucket(s3)
    key = "spa ce/\u00e4+%&=?.txt"
    s3.put_object(Bucket=b, Key=key, Body=b"signed")
    assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"signed"
    # boto3 1.26 presigns with SigV2 unless told otherwise; Sluice verifies SigV4 only
    v4 = make_client(server.endpoint, "s3", s3={"addressing_style": "path"}, signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=60)
    assert "X-Amz-Credential=" in url
    assert urllib.request.urlopen(url, timeout=10).read() == b"signed"
    bad = make_client(server.endpoint, "s3", s3={"addressing_style": "path"})
    bad._request_signer._credentials = botocore.credentials.Credentials("test", "wrong")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        bad.get_object(Bucket=b, Key=key)
    assert err(ei) == ("SignatureDoesNotMatch", 403)
    tampered = url.replace("Signature=", "Signature=0")
    with pytest.raises(urllib.error.HTTPError) as he:
        urllib.request.urlopen(tampered, timeout=10)
    assert he.value.code == 403 and b"SignatureDoesNotMatch" in he.value.read()


def test_aws_chunked_upload(server):
    s3 = s3c(server)
    b = bucket(s3)
    payload = b"hello, " * 1000
    chunks = b""
    for i in range(0, len(payload), 4096):
        part = payload[i:i + 4096]
        chunks += b"%x\r\n" % len(part) + part + b"\r\n"
    chunks += b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    status, _, body = raw(server, "PUT", "/%s/chunked" % b, chunks, {
        "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(payload)),
        "X-Amz-Trailer": "x-amz-checksum-crc32"})
    assert status == 200, body
    got = s3.get_object(Bucket=b, Key="chunked")
    assert got["Body"].read() == payload and "ContentEncoding" not in got


def test_objects_survive_sigkill(fresh_server):
    s3 = s3c(fresh_server)
    b = bucket(s3)
    bodies = {"k%02d" % i: os.urandom(1000 + i) for i in range(30)}
    for k, v in bodies.items():
        s3.put_object(Bucket=b, Key=k, Body=v, Metadata={"i": k})
    s3.delete_object(Bucket=b, Key="k00")
    fresh_server.restart_after_kill()
    s3 = s3c(fresh_server)
    assert b in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]]
    assert keys == sorted(k for k in bodies if k != "k00")
    for k in keys:
        got = s3.get_object(Bucket=b, Key=k)
        assert got["Body"].read() == bodies[k] and got["Metadata"] == {"i": k}


def test_step_functions_aws_sdk_s3_tasks(server):
    import json
    import time

    s3 = s3c(server)
    b = bucket(s3)
    sfn = make_client(server.endpoint, "stepfunctions")
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                    "Parameters": {"Bucket": b, "Key": "from-sfn.json", "Body.$": "$.doc",
                                   "ContentType": "application/json"},
                    "ResultPath": "$.put", "Next": "Get"},
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                    "Parameters": {"Bucket": b, "Key": "from-sfn.json"},
                    "ResultSelector": {"Body.$": "$.Body", "ETag.$": "$.ETag"},
                    "ResultPath": "$.got", "Next": "Missing"},
            "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                        "Parameters": {"Bucket": b, "Key": "missing"},
                        "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.caught",
                                   "Next": "Done"}],
                        "End": True},
            "Done": {"Type": "Succeed"},
        },
    }
    arn = sfn.create_state_machine(name=unique("s3sm"), definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::000000000000:role/sfn")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"doc": {"a": [1, 2]}}))["executionArn"]
    deadline = time.time() + 20
    while True:
        d = sfn.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.1)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert json.loads(out["got"]["Body"]) == {"a": [1, 2]}
    assert out["got"]["ETag"] == out["put"]["ETag"]
    assert out["caught"]["Error"] == "S3.NoSuchKeyException"
    got = s3.get_object(Bucket=b, Key="from-sfn.json")
    assert json.loads(got["Body"].read()) == {"a": [1, 2]} and got["ContentType"] == "application/json"
