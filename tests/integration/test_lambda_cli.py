"""`aws lambda` (the AWS CLI): create-function from a zip file, then invoke with the log
tail, as the Lambda documentation shows it."""

import base64
import json
import os
import subprocess

import helpers
from lambda_helpers import ROLE, make_zip


def aws(server, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.endpoint, "lambda"] + list(args),
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_cli_create_and_invoke(server, tmp_path):
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(make_zip({"lambda_function.py":
                                   "def lambda_handler(event, context):\n"
                                   "    print('cli event', event)\n"
                                   "    return {'statusCode': 200, 'body': event['name']}\n"}))
    name = helpers.unique("cli")
    cfg = json.loads(aws(server, "create-function", "--function-name", name, "--runtime",
                         "python3.12", "--handler", "lambda_function.lambda_handler", "--role",
                         ROLE, "--zip-file", "fileb://%s" % zip_path))
    assert cfg["State"] == "Active"
    out_file = tmp_path / "response.json"
    meta = json.loads(aws(server, "invoke", "--function-name", name, "--cli-binary-format",
                          "raw-in-base64-out", "--payload", '{"name": "sluice"}', "--log-type",
                          "Tail", str(out_file)))
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert json.loads(out_file.read_text()) == {"statusCode": 200, "body": "sluice"}
    log = base64.b64decode(meta["LogResult"]).decode()
    assert "cli event {'name': 'sluice'}" in log and "REPORT RequestId:" in log
