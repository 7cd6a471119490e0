"""Errors: modeled exceptions, the Query error document, malformed and non-SQS requests
(the server must answer them and keep serving), and the JSON protocol's error shapes."""

import json
import socket
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from helpers import error_code, http_status, md5_hex, raw_json, raw_query, raw_request, unique, xml_error

VERSION = "2012-11-05"


def _still_serving(server, sqs):
    status, body = server.health()
    assert status == 200
    assert isinstance(json.loads(body), dict)
    name = unique("alive")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="still here")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert got[0]["Body"] == "still here"
    assert server.alive()


@pytest.mark.parametrize(
    "call",
    [
        lambda c, u: c.get_queue_url(QueueName=u.rsplit("/", 1)[1]),
        lambda c, u: c.send_message(QueueUrl=u, MessageBody="x"),
        lambda c, u: c.send_message_batch(QueueUrl=u, Entries=[{"Id": "a", "MessageBody": "x"}]),
        lambda c, u: c.receive_message(QueueUrl=u),
        lambda c, u: c.delete_message(QueueUrl=u, ReceiptHandle="h"),
        lambda c, u: c.get_queue_attributes(QueueUrl=u, AttributeNames=["All"]),
        lambda c, u: c.set_queue_attributes(QueueUrl=u, Attributes={"DelaySeconds": "1"}),
        lambda c, u: c.purge_queue(QueueUrl=u),
        lambda c, u: c.delete_queue(QueueUrl=u),
        lambda c, u: c.list_dead_letter_source_queues(QueueUrl=u),
    ],
    ids=[
        "GetQueueUrl",
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "GetQueueAttributes",
        "SetQueueAttributes",
        "PurgeQueue",
        "DeleteQueue",
        "ListDeadLetterSourceQueues",
    ],
)
def test_queue_does_not_exist_is_the_modeled_exception(server, sqs, call):
    url = server.queue_url(unique("ghost"))
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as e:
        call(sqs, url)
    assert isinstance(e.value, ClientError)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    assert http_status(e) == 400
    assert e.value.response["Error"]["Type"] == "Sender"
    assert e.value.response["ResponseMetadata"].get("RequestId")


def test_query_error_document_shape(server):
    status, headers, body = raw_query(server.endpoint, {"Action": "GetQueueUrl", "QueueName": unique("ghost"), "Version": VERSION})
    assert status == 400
    assert headers["content-type"].startswith(("text/xml", "application/xml"))
    typ, code, message = xml_error(body)
    assert (typ, code) == ("Sender", "AWS.SimpleQueueService.NonExistentQueue")
    assert message
    assert b"<RequestId>" in body


def test_unknown_action_is_a_400_xml_error(server, sqs):
    status, headers, body = raw_query(server.endpoint, {"Action": "FlyToTheMoon", "Version": VERSION})
    assert status == 400
    typ, code, _ = xml_error(body)
    assert code == "InvalidAction"
    assert typ == "Sender"
    _still_serving(server, sqs)


def test_missing_required_parameter(server, sqs):
    url = sqs.create_queue(QueueName=unique("mp"))["QueueUrl"]
    status, _, body = raw_query(server.endpoint, {"Action": "SendMessage", "QueueUrl": url, "Version": VERSION})
    assert status == 400
    assert xml_error(body)[1] == "MissingParameter"
    status, _, body = raw_query(server.endpoint, {"Action": "CreateQueue", "Version": VERSION})
    assert status == 400
    assert xml_error(body)[1] == "MissingParameter"


def test_query_success_document_shape(server):
    name = unique("shape")
    status, headers, body = raw_query(server.endpoint, {"Action": "CreateQueue", "QueueName": name, "Version": VERSION})
    assert status == 200
    assert headers["content-type"].startswith(("text/xml", "application/xml"))
    assert b"<CreateQueueResponse" in body
    assert b"<CreateQueueResult><QueueUrl>" in body.replace(b"\n", b"").replace(b" ", b"")
    assert b"<ResponseMetadata>" in body and b"<RequestId>" in body


@pytest.mark.parametrize(
    "body",
    [
        b"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=%ZZ",
        b"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=%",
        b"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=\xff\xfe\xc3\x28",
        b"Action=ReceiveMessage&Version=2012-11-05&QueueUrl=x&MaxNumberOfMessages=ten",
        b"Action=SendMessageBatch&Version=2012-11-05&QueueUrl=x&SendMessageBatchRequestEntry.99999999999999999999.Id=a",
    ],
    ids=["bad-escape", "truncated-escape", "invalid-utf8", "non-integer", "huge-index"],
)
def test_malformed_form_bodies_are_rejected_and_server_keeps_serving(server, sqs, body):
    status, _, resp = raw_query(server.endpoint, body)
    assert 400 <= status < 500, (status, resp[:300])
    _still_serving(server, sqs)


def test_non_sqs_garbage_posts(server, sqs):
    cases = [
        ({"Content-Type": "application/octet-stream"}, bytes(range(256)) * 8),
        ({"Content-Type": "application/json"}, b'{"hello": "world"}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"no action here"),
        ({"Content-Type": "text/plain"}, b""),
        ({"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "NotAService.Op"}, b"{}"),
    ]
    for headers, body in cases:
        status, _, resp = raw_request(server.endpoint, body, headers, sign=False)
        assert 400 <= status < 500, (headers, status, resp[:300])
    _still_serving(server, sqs)


def test_not_http_at_all(server, sqs):
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, b"HELLO sluice\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
    # A connection that goes away mid-request.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nAction=ListQ")
    _still_serving(server, sqs)


def test_unsigned_query_request_is_served(server):
    # Without configured keys any (or no) credentials are accepted.
    status, _, body = raw_query(server.endpoint, {"Action": "ListQueues", "Version": VERSION}, sign=False)
    assert status == 200
    assert b"<ListQueuesResponse" in body


# --------------------------------------------------------------------------- AWS JSON 1.0


def test_json_protocol_success_and_errors(server, sqs):
    name = unique("json")
    status, headers, body = raw_json(server.endpoint, "CreateQueue", {"QueueName": name})
    assert status == 200, body
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
    url = json.loads(body)["QueueUrl"]
    assert url == server.queue_url(name)

    status, headers, body = raw_json(server.endpoint, "GetQueueUrl", {"QueueName": unique("ghost")})
    assert status == 400
    err = json.loads(body)
    assert err["__type"].endswith("#QueueDoesNotExist") or err["__type"] == "QueueDoesNotExist"
    assert err.get("message") or err.get("Message")
    assert headers.get("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"

    status, _, body = raw_json(server.endpoint, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 11})
    assert status == 400
    assert json.loads(body)["__type"]


def test_json_protocol_unknown_operation_and_bad_json(server, sqs):
    status, _, body = raw_json(server.endpoint, "FlyToTheMoon", {})
    assert status == 400
    assert "UnknownOperation" in json.loads(body)["__type"]
    status, _, body = raw_json(server.endpoint, "ListQueues", b"{not json")
    assert status == 400
    assert json.loads(body)["__type"]
    status, _, body = raw_json(server.endpoint, "CreateQueue", b'["an", "array"]')
    assert status == 400
    _still_serving(server, sqs)


def test_json_protocol_wrong_types_are_rejected(server, sqs):
    url = sqs.create_queue(QueueName=unique("types"))["QueueUrl"]
    status, _, body = raw_json(server.endpoint, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": "ten"})
    assert status == 400, body
    status, _, body = raw_json(server.endpoint, "SendMessage", {"QueueUrl": url, "MessageBody": {"nested": True}})
    assert status == 400, body
    _still_serving(server, sqs)


def test_both_protocols_see_the_same_queues(server, sqs):
    name = unique("both")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    status, _, body = raw_json(server.endpoint, "SendMessage", {"QueueUrl": url, "MessageBody": "via json"})
    assert status == 200
    assert json.loads(body)["MD5OfMessageBody"] == md5_hex("via json")
    (m,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert m["Body"] == "via json"


def test_query_request_can_target_the_queue_url_path(server, sqs):
    # Query requests may be POSTed to the queue's URL with QueueUrl in the form as well.
    name = unique("path")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    path = urllib.parse.urlparse(url).path
    status, _, body = raw_query(
        server.endpoint,
        {"Action": "SendMessage", "QueueUrl": url, "MessageBody": "to the path", "Version": VERSION},
        path=path,
    )
    assert status == 200, body
    (m,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert m["Body"] == "to the path"
