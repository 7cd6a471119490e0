"""SigV4 verification: with --access-key/--secret-key configured, signed requests from the
real clients pass and every bad signature gets AWS's error in the caller's protocol."""
import json
import os
import subprocess

import boto3
import pytest
from botocore.exceptions import ClientError

import helpers

KEY, SECRET = "AKIDSLUICETEST", "sluice-secret-key/123"


@pytest.fixture
def secured(fresh_server_factory):
    return fresh_server_factory(extra_args=("--access-key", KEY, "--secret-key", SECRET))


def client(server, key=KEY, secret=SECRET):
    return boto3.session.Session().client(
        "sqs", endpoint_url=server.endpoint, region_name=helpers.REGION,
        aws_access_key_id=key, aws_secret_access_key=secret, config=helpers.client_config())


def test_correctly_signed_requests_pass(secured):
    sqs = client(secured)
    url = sqs.create_queue(QueueName=helpers.unique("signed"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="signed body")
    msgs = sqs.receive_message(QueueUrl=url, AttributeNames=["SenderId"]).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["signed body"]
    assert msgs[0]["Attributes"]["SenderId"] == KEY


def test_wrong_secret_is_signature_does_not_match(secured):
    with pytest.raises(ClientError) as e:
        client(secured, secret="not-the-secret").list_queues()
    assert helpers.error_code(e) == "SignatureDoesNotMatch"
    assert helpers.http_status(e) == 403
    assert "signature we calculated does not match" in e.value.response["Error"]["Message"]


def test_unknown_access_key_is_invalid_client_token_id(secured):
    with pytest.raises(ClientError) as e:
        client(secured, key="AKIDUNKNOWN").list_queues()
    assert helpers.error_code(e) == "InvalidClientTokenId"
    assert helpers.http_status(e) == 403


def test_unsigned_requests_are_refused_in_both_protocols(secured):
    status, headers, body = helpers.raw_query(secured.endpoint, {"Action": "ListQueues"}, sign=False)
    assert status == 403
    assert helpers.xml_error(body)[1] == "MissingAuthenticationToken"
    status, headers, body = helpers.raw_json(secured.endpoint, "ListQueues", {}, sign=False)
    assert status == 403
    assert json.loads(body)["__type"].endswith("MissingAuthenticationToken")
    # The server keeps serving signed clients afterwards.
    client(secured).list_queues()


def test_aws_cli_with_the_configured_key(secured):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION=helpers.REGION, AWS_PAGER="")
    name = helpers.unique("cli-signed")
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", secured.endpoint, "sqs", "create-queue",
                          "--queue-name", name, "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["QueueUrl"].endswith("/" + name)
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", secured.endpoint, "sqs", "list-queues"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "SignatureDoesNotMatch" in out.stderr
