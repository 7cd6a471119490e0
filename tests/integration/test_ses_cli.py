"""SES v1 through the AWS CLI (/usr/bin/aws ses ...): identities, templates, a templated
send that reaches a real SMTP server, and an error as the CLI reports it."""

import json
import os
import subprocess

import pytest

from helpers import unique
from smtp_sink import mail_server, smtp_sink  # noqa: F401 - fixtures


def aws(server, *args, check=True):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_PAGER="",
    )
    p = subprocess.run(
        ["/usr/bin/aws", "--endpoint-url", server.endpoint, "--output", "json", "ses"] + list(args),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if check:
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else {}
    return p


def test_cli_identities_templates_and_templated_send(mail_server, smtp_sink):
    aws(mail_server, "verify-domain-identity", "--domain", "cli.example.com")
    aws(mail_server, "verify-email-identity", "--email-address", "ops@other.example.com")
    ids = aws(mail_server, "list-identities")["Identities"]
    assert {"cli.example.com", "ops@other.example.com"} <= set(ids)
    attrs = aws(mail_server, "get-identity-verification-attributes", "--identities", "cli.example.com")
    assert attrs["VerificationAttributes"]["cli.example.com"]["VerificationStatus"] == "Success"

    name = unique("cli")
    tpl = {"TemplateName": name, "SubjectPart": "Welcome {{user.name}}", "TextPart": "Hi {{user.name}}!"}
    aws(mail_server, "create-template", "--template", json.dumps(tpl))
    assert aws(mail_server, "get-template", "--template-name", name)["Template"] == tpl
    rendered = aws(mail_server, "test-render-template", "--template-name", name, "--template-data", '{"user":{"name":"Ann"}}')
    assert "Subject: Welcome Ann" in rendered["RenderedTemplate"]

    to = "%s@rcpt.example.net" % unique("cli")
    out = aws(
        mail_server,
        "send-templated-email",
        "--source",
        "news@cli.example.com",
        "--destination",
        json.dumps({"ToAddresses": [to]}),
        "--template",
        name,
        "--template-data",
        '{"user":{"name":"Ann"}}',
    )
    (m,) = smtp_sink.wait_for(to)
    assert m.header("Subject") == "Welcome Ann"
    assert m.header("Message-ID") == "<%s@email.amazonses.com>" % out["MessageId"]
    assert m.parts()["text/plain"].strip() == "Hi Ann!"

    q = aws(mail_server, "get-send-quota")
    assert q["SentLast24Hours"] >= 1
    aws(mail_server, "delete-template", "--template-name", name)
    aws(mail_server, "delete-identity", "--identity", "ops@other.example.com")
    assert "ops@other.example.com" not in aws(mail_server, "list-identities")["Identities"]


def test_cli_send_email_and_error(mail_server, smtp_sink):
    aws(mail_server, "verify-email-identity", "--email-address", "me@cli2.example.com")
    to = "%s@rcpt.example.net" % unique("cli")
    aws(
        mail_server,
        "send-email",
        "--from",
        "me@cli2.example.com",
        "--to",
        to,
        "--subject",
        "CLI mail",
        "--text",
        "plain",
        "--html",
        "<p>html</p>",
    )
    (m,) = smtp_sink.wait_for(to)
    assert m.parts() == {"text/plain": m.parts()["text/plain"], "text/html": m.parts()["text/html"]}
    assert m.parts()["text/html"].strip() == "<p>html</p>"

    p = aws(
        mail_server,
        "send-email",
        "--from",
        "stranger@nowhere.example",
        "--to",
        to,
        "--subject",
        "x",
        "--text",
        "y",
        check=False,
    )
    assert p.returncode != 0
    assert "MessageRejected" in p.stderr
    assert "stranger@nowhere.example" in p.stderr
