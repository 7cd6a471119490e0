"""S3 multipart uploads with Debian's AWS CLI v2 (which uploads files above 8 MiB in parts)
and boto3: the completed object's ETag by AWS's formula, its metadata, reads (ranges across
parts) and copies; ListParts and ListMultipartUploads pages; the errors S3 answers; aborts;
parts durable across SIGKILL; objects above Sluice's 16 MiB limit refused with the server
still serving."""

import hashlib
import os
import subprocess
import tempfile

import botocore
import pytest

from helpers import cli_env
from test_s3 import bucket, err, raw, s3c

MiB = 1024 * 1024
LIMIT = 16 * MiB


def multipart_etag(parts):
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))


def upload_parts(s3, b, key, parts, **create):
    up = s3.create_multipart_upload(Bucket=b, Key=key, **create)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=i, Body=p)
        assert r["ETag"] == '"%s"' % hashlib.md5(p).hexdigest()
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return up, done


def test_aws_cli_cp_10_mib_in_parts_and_back(server):
    home = tempfile.mkdtemp()
    env = cli_env(home)
    s3 = s3c(server)
    b = bucket(s3)
    data = os.urandom(10 * MiB + 12345)
    src, dst = os.path.join(home, "src.bin"), os.path.join(home, "dst.bin")
    with open(src, "wb") as f:
        f.write(data)

    def aws(*args):
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint] + list(args),
                           env=env, capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode()
        return p.stdout

    aws("s3", "cp", src, "s3://%s/big file.bin" % b)
    head = s3.head_object(Bucket=b, Key="big file.bin")
    # the CLI's 8 MiB chunks: two parts
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag([data[:8 * MiB], data[8 * MiB:]])
    aws("s3", "cp", "s3://%s/big file.bin" % b, dst)
    with open(dst, "rb") as f:
        assert f.read() == data
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []


def test_boto3_complete_etag_metadata_ranges_copy(server):
    s3 = s3c(server)
    b = bucket(s3)
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 3), os.urandom(1000)]
    up, done = upload_parts(s3, b, "obj", parts, ContentType="application/x-parts",
                            Metadata={"Who": "me"}, CacheControl="no-cache")
    uploads = s3.list_multipart_uploads(Bucket=b)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("obj", up)]
    out = s3.complete_multipart_upload(Bucket=b, Key="obj", UploadId=up,
                                       MultipartUpload={"Parts": done})
    whole = b"".join(parts)
    assert out["ETag"] == multipart_etag(parts) and out["Key"] == "obj" and out["Bucket"] == b
    got = s3.get_object(Bucket=b, Key="obj")
    assert got["Body"].read() == whole
    assert got["ETag"] == out["ETag"] and got["ContentLength"] == len(whole)
    assert got["ContentType"] == "application/x-parts" and got["Metadata"] == {"who": "me"}
    assert got["CacheControl"] == "no-cache"
    head = s3.head_object(Bucket=b, Key="obj")
    assert head["ETag"] == out["ETag"] and head["ContentLength"] == len(whole)
    # a range across the parts' boundaries, and one inside the last part
    first, last = 5 * MiB - 10, 10 * MiB + 20
    r = s3.get_object(Bucket=b, Key="obj", Range="bytes=%d-%d" % (first, last))
    assert r["Body"].read() == whole[first:last + 1]
    assert r["ContentRange"] == "bytes %d-%d/%d" % (first, last, len(whole))
    assert s3.get_object(Bucket=b, Key="obj", Range="bytes=-5")["Body"].read() == whole[-5:]
    assert s3.get_object(Bucket=b, Key="obj", IfMatch=out["ETag"])["Body"].read() == whole
    # the upload is gone, the listing shows the object
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.list_parts(Bucket=b, Key="obj", UploadId=up)
    assert err(ei) == ("NoSuchUpload", 404)
    listed = s3.list_objects_v2(Bucket=b)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("obj", len(whole), out["ETag"])]
    # copying a multipart object, and a part copied from it
    s3.copy_object(Bucket=b, Key="copy", CopySource="%s/obj" % b)
    assert s3.get_object(Bucket=b, Key="copy")["Body"].read() == whole
    up2 = s3.create_multipart_upload(Bucket=b, Key="pc")["UploadId"]
    c1 = s3.upload_part_copy(Bucket=b, Key="pc", UploadId=up2, PartNumber=1,
                             CopySource="%s/obj" % b, CopySourceRange="bytes=0-%d" % (5 * MiB))
    c2 = s3.upload_part_copy(Bucket=b, Key="pc", UploadId=up2, PartNumber=2,
                             CopySource={"Bucket": b, "Key": "copy"})
    assert c1["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(whole[:5 * MiB + 1]).hexdigest()
    s3.complete_multipart_upload(Bucket=b, Key="pc", UploadId=up2, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": c1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": c2["CopyPartResult"]["ETag"]}]})
    # (16 MiB limit: 5 MiB + 1 + 10 MiB + 1003 fits)
    assert s3.get_object(Bucket=b, Key="pc")["Body"].read() == whole[:5 * MiB + 1] + whole
    # overwriting and deleting a multipart object
    s3.put_object(Bucket=b, Key="obj", Body=b"small now")
    got = s3.get_object(Bucket=b, Key="obj")
    assert got["Body"].read() == b"small now" and got["Metadata"] == {}
    s3.delete_object(Bucket=b, Key="copy")
    s3.delete_object(Bucket=b, Key="pc")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=b, Key="pc")
    assert err(ei) == ("NoSuchKey", 404)
    # a multipart object over a multipart object: the newer one is read
    p2 = [os.urandom(5 * MiB), b"tail"]
    up3, d3 = upload_parts(s3, b, "obj", p2)
    s3.complete_multipart_upload(Bucket=b, Key="obj", UploadId=up3, MultipartUpload={"Parts": d3})
    up4, d4 = upload_parts(s3, b, "obj", [b"single last part"])
    o4 = s3.complete_multipart_upload(Bucket=b, Key="obj", UploadId=up4,
                                      MultipartUpload={"Parts": d4})
    assert o4["ETag"] == multipart_etag([b"single last part"])
    assert s3.get_object(Bucket=b, Key="obj")["Body"].read() == b"single last part"


def test_complete_uses_the_parts_listed(server):
    s3 = s3c(server)
    b = bucket(s3)
    parts = [os.urandom(5 * MiB), os.urandom(100), os.urandom(200)]
    up, done = upload_parts(s3, b, "k", parts)
    # part 2 replaced: the later bytes count
    again = os.urandom(5 * MiB)
    r = s3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=2, Body=again)
    # parts 1 and 3 only, part 2 left out
    out = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up, MultipartUpload={
        "Parts": [done[0], done[2]]})
    assert out["ETag"] == multipart_etag([parts[0], parts[2]])
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == parts[0] + parts[2]
    assert r["ETag"] != done[1]["ETag"]


def test_list_parts_and_uploads_pages(server):
    s3 = s3c(server)
    b = bucket(s3)
    up = s3.create_multipart_upload(Bucket=b, Key="paged")["UploadId"]
    sizes = {n: 10 * n for n in (1, 2, 3, 5, 8)}
    for n, size in sizes.items():
        s3.upload_part(Bucket=b, Key="paged", UploadId=up, PartNumber=n, Body=b"x" * size)
    seen, marker, pages = [], 0, 0
    while True:
        page = s3.list_parts(Bucket=b, Key="paged", UploadId=up, MaxParts=2,
                             PartNumberMarker=marker)
        pages += 1
        assert page["MaxParts"] == 2 and page["UploadId"] == up
        seen += [(p["PartNumber"], p["Size"], p["ETag"]) for p in page["Parts"]]
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
    assert pages == 3
    assert seen == [(n, s, '"%s"' % hashlib.md5(b"x" * s).hexdigest()) for n, s in sizes.items()]
    # the paginator pages the same way
    pg = s3.get_paginator("list_parts").paginate(Bucket=b, Key="paged", UploadId=up,
                                                 PaginationConfig={"PageSize": 3})
    assert [p["PartNumber"] for page in pg for p in page["Parts"]] == list(sizes)
    # uploads: keys in order, two uploads of one key, a prefix
    ids = {"paged": [up]}
    for k in ("a/1", "a/2", "b/1", "a/1"):
        ids.setdefault(k, []).append(s3.create_multipart_upload(Bucket=b, Key=k)["UploadId"])
    want = sorted((k, i) for k, v in ids.items() for i in v)
    got, km, im, pages = [], "", "", 0
    while True:
        page = s3.list_multipart_uploads(Bucket=b, MaxUploads=2, KeyMarker=km, UploadIdMarker=im)
        pages += 1
        got += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        km, im = page["NextKeyMarker"], page["NextUploadIdMarker"]
    assert got == want and pages == 3
    pre = s3.list_multipart_uploads(Bucket=b, Prefix="a/")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in pre] == [w for w in want if w[0].startswith("a/")]
    # a key marker alone skips every upload of that key
    after = s3.list_multipart_uploads(Bucket=b, KeyMarker="a/1")["Uploads"]
    assert [u["Key"] for u in after] == ["a/2", "b/1", "paged"]
    for k, v in ids.items():
        for i in v:
            s3.abort_multipart_upload(Bucket=b, Key=k, UploadId=i)
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []


def test_errors_as_s3_answers_them(server):
    s3 = s3c(server)
    b = bucket(s3)
    bogus = "0123456789abcdef0123456789abcdef"
    for call in (lambda: s3.upload_part(Bucket=b, Key="k", UploadId=bogus, PartNumber=1, Body=b"x"),
                 lambda: s3.list_parts(Bucket=b, Key="k", UploadId=bogus),
                 lambda: s3.abort_multipart_upload(Bucket=b, Key="k", UploadId="not-an-id"),
                 lambda: s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=bogus,
                                                      MultipartUpload={"Parts": [
                                                          {"PartNumber": 1, "ETag": '"x"'}]})):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        assert err(ei) == ("NoSuchUpload", 404)
    p1, p2, p3 = os.urandom(5 * MiB), os.urandom(MiB), os.urandom(10)
    up, done = upload_parts(s3, b, "k", [p1, p2, p3])
    # an upload belongs to its key
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.upload_part(Bucket=b, Key="other", UploadId=up, PartNumber=1, Body=b"x")
    assert err(ei) == ("NoSuchUpload", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=10001, Body=b"x")
    assert err(ei) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up,
                                     MultipartUpload={"Parts": [done[1], done[0]]})
    assert err(ei) == ("InvalidPartOrder", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up, MultipartUpload={"Parts": [
            done[0], {"PartNumber": 2, "ETag": done[2]["ETag"]}]})
    assert err(ei) == ("InvalidPart", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up, MultipartUpload={"Parts": [
            done[0], {"PartNumber": 7, "ETag": done[1]["ETag"]}]})
    assert err(ei) == ("InvalidPart", 400)
    assert ei.value.response["Error"]["PartNumber"] == "7"
    assert ei.value.response["Error"]["UploadId"] == up
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up,
                                     MultipartUpload={"Parts": done})
    assert err(ei) == ("EntityTooSmall", 400)
    assert "smaller than the minimum" in ei.value.response["Error"]["Message"]
    assert ei.value.response["Error"]["PartNumber"] == "2"
    assert ei.value.response["Error"]["ProposedSize"] == str(MiB)
    # an empty part list, and a body that is no part list
    for body in (b"<CompleteMultipartUpload/>", b"<Nope/>", b"<CompleteMultipartUpload><Part>"
                 b"<PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>"):
        status, _, text = raw(server, "POST", "/%s/k?uploadId=%s" % (b, up), body)
        assert status == 400 and b"<Code>MalformedXML</Code>" in text, text
    # GetObject by part number is not served
    status, _, text = raw(server, "GET", "/%s/k?partNumber=1" % b)
    assert status == 501 and b"NotImplemented" in text
    status, _, text = raw(server, "GET", "/%s?uploadId=%s" % (b, up))
    assert status == 501 and b"NotImplemented" in text
    # nothing was spoiled: the upload completes with a valid list
    out = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up, MultipartUpload={
        "Parts": [done[0], done[2]]})
    assert out["ETag"] == multipart_etag([p1, p3])
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == p1 + p3
    # completed twice: the upload is gone
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up,
                                     MultipartUpload={"Parts": [done[0], done[2]]})
    assert err(ei) == ("NoSuchUpload", 404)


def test_abort_and_delete_bucket(server):
    s3 = s3c(server)
    b = bucket(s3)
    up, done = upload_parts(s3, b, "gone", [os.urandom(5 * MiB), b"end"])
    # an upload in progress keeps the bucket
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.delete_bucket(Bucket=b)
    assert err(ei) == ("BucketNotEmpty", 409)
    s3.abort_multipart_upload(Bucket=b, Key="gone", UploadId=up)
    for call in (lambda: s3.list_parts(Bucket=b, Key="gone", UploadId=up),
                 lambda: s3.upload_part(Bucket=b, Key="gone", UploadId=up, PartNumber=3, Body=b"x"),
                 lambda: s3.complete_multipart_upload(Bucket=b, Key="gone", UploadId=up,
                                                      MultipartUpload={"Parts": done}),
                 lambda: s3.abort_multipart_upload(Bucket=b, Key="gone", UploadId=up)):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        assert err(ei) == ("NoSuchUpload", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.head_object(Bucket=b, Key="gone")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.delete_bucket(Bucket=b)
    assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]


def test_parts_survive_sigkill(fresh_server):
    s3 = s3c(fresh_server)
    b = bucket(s3)
    parts = [os.urandom(5 * MiB), os.urandom(4321)]
    up, done = upload_parts(s3, b, "durable", parts, Metadata={"k": "v"})
    fresh_server.restart_after_kill()
    s3 = s3c(fresh_server)
    listed = s3.list_parts(Bucket=b, Key="durable", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == \
        [(d["PartNumber"], d["ETag"], len(p)) for d, p in zip(done, parts)]
    out = s3.complete_multipart_upload(Bucket=b, Key="durable", UploadId=up,
                                       MultipartUpload={"Parts": done})
    assert out["ETag"] == multipart_etag(parts)
    # and the completed object survives a second kill
    fresh_server.restart_after_kill()
    s3 = s3c(fresh_server)
    got = s3.get_object(Bucket=b, Key="durable")
    assert got["Body"].read() == b"".join(parts) and got["Metadata"] == {"k": "v"}
    assert got["ETag"] == out["ETag"]


def test_objects_over_the_limit_refused(server):
    s3 = s3c(server)
    b = bucket(s3)
    parts = [os.urandom(5 * MiB)] * 3 + [os.urandom(MiB + 1)]  # 16 MiB + 1 byte
    up, done = upload_parts(s3, b, "huge", parts)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=b, Key="huge", UploadId=up,
                                     MultipartUpload={"Parts": done})
    assert err(ei) == ("EntityTooLarge", 400)
    assert "16777216 bytes" in ei.value.response["Error"]["Message"]
    # the upload is still there to be completed within the limit, or aborted
    assert len(s3.list_parts(Bucket=b, Key="huge", UploadId=up)["Parts"]) == 4
    out = s3.complete_multipart_upload(Bucket=b, Key="huge", UploadId=up,
                                       MultipartUpload={"Parts": done[:3]})
    assert out["ETag"] == multipart_etag(parts[:3])
    assert s3.head_object(Bucket=b, Key="huge")["ContentLength"] == 15 * MiB
    # exactly 16 MiB is accepted
    exact = [os.urandom(8 * MiB), os.urandom(8 * MiB)]
    up2, d2 = upload_parts(s3, b, "exact", exact)
    s3.complete_multipart_upload(Bucket=b, Key="exact", UploadId=up2, MultipartUpload={"Parts": d2})
    assert s3.get_object(Bucket=b, Key="exact")["Body"].read() == b"".join(exact)
    # the CLI's upload of a 20 MiB file fails with the reason, and aborts its upload
    home = tempfile.mkdtemp()
    src = os.path.join(home, "big.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(20 * MiB))
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "s3", "cp", src,
                        "s3://%s/cli-huge" % b], env=cli_env(home), capture_output=True,
                       timeout=120)
    assert p.returncode != 0 and b"EntityTooLarge" in p.stderr, p.stderr
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    # the server still serves
    s3.put_object(Bucket=b, Key="after", Body=b"still here")
    assert s3.get_object(Bucket=b, Key="after")["Body"].read() == b"still here"


def test_no_part_rows_left_behind(fresh_server):
    """Aborting, completing (parts left out included), overwriting and deleting remove the
    rows they no longer need: counted in the store's file."""
    import sqlite3

    def rows():
        db = sqlite3.connect(fresh_server.data_dir + "/sluice.db")
        try:
            got = dict(db.execute("SELECT tbl, count(*) FROM kv_items WHERE tbl IN "
                                  "(-2001, -2002, -2003, -2004, -2005) GROUP BY tbl").fetchall())
        finally:
            db.close()
        return {name: got.get(tbl, 0) for name, tbl in (("meta", -2001), ("body", -2002),
                ("upload", -2003), ("part", -2004), ("part_body", -2005))}

    s3 = s3c(fresh_server)
    b = bucket(s3)
    up, done = upload_parts(s3, b, "a", [b"1" * 100, b"2" * 100])
    assert rows() == {"meta": 0, "body": 0, "upload": 1, "part": 2, "part_body": 2}
    s3.abort_multipart_upload(Bucket=b, Key="a", UploadId=up)
    assert rows() == {"meta": 0, "body": 0, "upload": 0, "part": 0, "part_body": 0}
    parts = [os.urandom(5 * MiB), b"left out", b"last"]
    up, done = upload_parts(s3, b, "a", parts)
    s3.complete_multipart_upload(Bucket=b, Key="a", UploadId=up,
                                 MultipartUpload={"Parts": [done[0], done[2]]})
    assert rows() == {"meta": 1, "body": 0, "upload": 0, "part": 0, "part_body": 2}
    # a multipart object replaced by a single-part one, and the other way round
    s3.put_object(Bucket=b, Key="a", Body=b"plain")
    assert rows() == {"meta": 1, "body": 1, "upload": 0, "part": 0, "part_body": 0}
    up, done = upload_parts(s3, b, "a", [b"only part"])
    s3.complete_multipart_upload(Bucket=b, Key="a", UploadId=up, MultipartUpload={"Parts": done})
    assert rows() == {"meta": 1, "body": 0, "upload": 0, "part": 0, "part_body": 1}
    s3.copy_object(Bucket=b, Key="c", CopySource="%s/a" % b)
    s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "a"}, {"Key": "c"}]})
    assert rows() == {"meta": 0, "body": 0, "upload": 0, "part": 0, "part_body": 0}
    s3.delete_bucket(Bucket=b)


def test_distributed_map_reads_an_item_file_uploaded_in_parts(server):
    """Step Functions' ItemReader reads a multipart object in-process: a JSONL line split
    across the parts' boundary is read whole."""
    import json

    from sfn_helpers import run
    from test_stepfunctions_distributed_map import get_object, map_machine, sfnc

    s3 = s3c(server)
    b = bucket(s3)
    lines = [json.dumps({"n": i, "pad": "p" * (900 * 1024)}) for i in range(7)]
    text = ("\n".join(lines) + "\n").encode()
    cut = 5 * MiB
    assert text[cut - 1:cut + 1] != b"\n" and b"\n" not in text[cut - 10:cut + 10]
    up, done = upload_parts(s3, b, "items.jsonl", [text[:cut], text[cut:]])
    s3.complete_multipart_upload(Bucket=b, Key="items.jsonl", UploadId=up,
                                 MultipartUpload={"Parts": done})
    reader = dict(get_object(b, "items.jsonl"), ReaderConfig={"InputType": "JSONL"})
    d = run(sfnc(server), map_machine(reader, ItemSelector={"n.$": "$$.Map.Item.Value.n"}))
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == [{"n": i} for i in range(7)]
