"""SES v2 (REST-JSON, /v2/email/...) through boto3's sesv2 client, on the same templates and
identities as SES v1: SendEmail with Simple, Raw and Template content delivered to a real
SMTP server, email templates (create/get/update/delete/list, TestRenderEmailTemplate) and
email identities (create/get/list), with v2's errors (NotFoundException,
AlreadyExistsException, BadRequestException, MessageRejected)."""

import json

import pytest
from botocore.exceptions import ClientError

from helpers import make_client, unique
from smtp_sink import mail_server, smtp_sink  # noqa: F401 - fixtures

DOMAIN = "v2.example.com"
SENDER = "hello@" + DOMAIN


@pytest.fixture(scope="module")
def v2(mail_server):
    c = make_client(mail_server.endpoint, "sesv2")
    c.create_email_identity(EmailIdentity=DOMAIN)
    return c


@pytest.fixture(scope="module")
def v1(mail_server):
    return make_client(mail_server.endpoint, "ses")


def err(excinfo):
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def rcpt(prefix="v2"):
    return "%s@rcpt.example.net" % unique(prefix)


# --------------------------------------------------------------------------- identities


def test_email_identities(v2, v1):
    addr = "%s@single.example.org" % unique("id")
    r = v2.create_email_identity(EmailIdentity=addr)
    assert r["IdentityType"] == "EMAIL_ADDRESS"
    assert r["VerifiedForSendingStatus"] is True
    got = v2.get_email_identity(EmailIdentity=addr)
    assert got["IdentityType"] == "EMAIL_ADDRESS"
    assert got["VerificationStatus"] == "SUCCESS"
    assert got["VerifiedForSendingStatus"] is True
    assert v2.get_email_identity(EmailIdentity=DOMAIN)["IdentityType"] == "DOMAIN"
    listed = {i["IdentityName"]: i for i in v2.list_email_identities(PageSize=1000)["EmailIdentities"]}
    assert listed[addr]["SendingEnabled"] is True and listed[DOMAIN]["IdentityType"] == "DOMAIN"
    # the same identities as v1's
    assert addr in v1.list_identities()["Identities"]
    with pytest.raises(ClientError) as e:
        v2.create_email_identity(EmailIdentity=addr)
    assert err(e) == ("AlreadyExistsException", 400)
    with pytest.raises(ClientError) as e:
        v2.get_email_identity(EmailIdentity="nobody@unknown.example")
    assert err(e) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as e:
        v2.create_email_identity(EmailIdentity="bad address@x.example")
    assert err(e) == ("BadRequestException", 400)


def test_list_email_identities_pages(v2):
    tag = unique("pg")
    for i in range(3):
        v2.create_email_identity(EmailIdentity="%s-%d@pages.example.org" % (tag, i))
    seen, token = [], None
    while True:
        r = v2.list_email_identities(PageSize=2, **({"NextToken": token} if token else {}))
        assert len(r["EmailIdentities"]) <= 2
        seen += [i["IdentityName"] for i in r["EmailIdentities"]]
        token = r.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert {"%s-%d@pages.example.org" % (tag, i) for i in range(3)} <= set(seen)


# --------------------------------------------------------------------------- templates


def test_email_templates_are_v1_templates(v2, v1):
    name = unique("v2t")
    v2.create_email_template(
        TemplateName=name, TemplateContent={"Subject": "Hi {{n}}", "Text": "t {{n}}", "Html": "<p>{{n}}</p>"}
    )
    assert v1.get_template(TemplateName=name)["Template"] == {
        "TemplateName": name,
        "SubjectPart": "Hi {{n}}",
        "TextPart": "t {{n}}",
        "HtmlPart": "<p>{{n}}</p>",
    }
    got = v2.get_email_template(TemplateName=name)
    assert got["TemplateName"] == name
    assert got["TemplateContent"] == {"Subject": "Hi {{n}}", "Text": "t {{n}}", "Html": "<p>{{n}}</p>"}
    v2.update_email_template(TemplateName=name, TemplateContent={"Subject": "Yo {{n}}", "Text": "x"})
    assert v2.get_email_template(TemplateName=name)["TemplateContent"] == {"Subject": "Yo {{n}}", "Text": "x"}
    out = v2.test_render_email_template(TemplateName=name, TemplateData='{"n":"Zoë"}')["RenderedTemplate"]
    assert "Subject: =?UTF-8?" in out and "x" in out
    names = []
    token = None
    while True:
        r = v2.list_email_templates(PageSize=2, **({"NextToken": token} if token else {}))
        names += [t["TemplateName"] for t in r["TemplatesMetadata"]]
        assert all(t["CreatedTimestamp"].year >= 2024 for t in r["TemplatesMetadata"])
        token = r.get("NextToken")
        if not token:
            break
    assert name in names
    v2.delete_email_template(TemplateName=name)
    with pytest.raises(ClientError) as e:
        v2.get_email_template(TemplateName=name)
    assert err(e) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as e:
        v2.delete_email_template(TemplateName=name)
    assert err(e) == ("NotFoundException", 404)


def test_email_template_errors(v2):
    name = unique("v2e")
    v2.create_email_template(TemplateName=name, TemplateContent={"Subject": "{{a}}", "Text": "b"})
    with pytest.raises(ClientError) as e:
        v2.create_email_template(TemplateName=name, TemplateContent={"Subject": "s"})
    assert err(e) == ("AlreadyExistsException", 400)
    with pytest.raises(ClientError) as e:
        v2.update_email_template(TemplateName=unique("none"), TemplateContent={"Subject": "s"})
    assert err(e) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as e:
        v2.create_email_template(TemplateName=unique("bad"), TemplateContent={"Subject": "{{#each x}}"})
    assert err(e) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as e:
        v2.test_render_email_template(TemplateName=name, TemplateData="{}")
    assert err(e) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as e:
        v2.list_email_templates(PageSize=101)
    assert err(e) == ("BadRequestException", 400)


# --------------------------------------------------------------------------- SendEmail


def test_send_simple(v2, smtp_sink):
    to, cc, bcc = rcpt(), rcpt("cc"), rcpt("bcc")
    mid = v2.send_email(
        FromEmailAddress="Shop <%s>" % SENDER,
        Destination={"ToAddresses": [to], "CcAddresses": [cc], "BccAddresses": [bcc]},
        ReplyToAddresses=["help@" + DOMAIN],
        Content={
            "Simple": {
                "Subject": {"Data": "Grüße from v2"},
                "Body": {"Text": {"Data": "plain"}, "Html": {"Data": "<p>html</p>"}},
            }
        },
    )["MessageId"]
    (m,) = smtp_sink.wait_for(to)
    assert m.header("Subject") == "Grüße from v2"
    assert m.header("Message-ID") == "<%s@email.amazonses.com>" % mid
    assert sorted(m.rcpt_tos) == sorted([to, cc, bcc])
    assert m.msg["Bcc"] is None
    assert m.msg["Reply-To"].addresses[0].addr_spec == "help@" + DOMAIN
    assert m.parts()["text/html"].strip() == "<p>html</p>"


def test_send_template(v2, v1, smtp_sink):
    name = unique("v2send")
    v1.create_template(Template={"TemplateName": name, "SubjectPart": "Order {{o.id}}", "TextPart": "{{#each o.items}}[{{this}}]{{/each}}"})
    to = rcpt()
    v2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": [to]},
        Content={"Template": {"TemplateName": name, "TemplateData": json.dumps({"o": {"id": 9, "items": ["a", "b"]}})}},
    )
    (m,) = smtp_sink.wait_for(to)
    assert m.header("Subject") == "Order 9"
    assert m.msg.get_content().strip() == "[a][b]"
    with pytest.raises(ClientError) as e:
        v2.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": [to]},
            Content={"Template": {"TemplateName": unique("missing"), "TemplateData": "{}"}},
        )
    assert err(e) == ("NotFoundException", 404)


def test_send_raw(v2, smtp_sink):
    to = rcpt("raw")
    raw = ("From: %s\r\nTo: %s\r\nSubject: raw v2\r\nX-Kept: yes\r\n\r\nraw body\r\n" % (SENDER, to)).encode()
    v2.send_email(Content={"Raw": {"Data": raw}})
    (m,) = smtp_sink.wait_for(to)
    assert m.data == raw
    assert m.mail_from == SENDER


def test_send_errors(v2):
    with pytest.raises(ClientError) as e:
        v2.send_email(
            FromEmailAddress="who@unverified.example",
            Destination={"ToAddresses": [rcpt()]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        )
    assert err(e) == ("MessageRejected", 400)
    assert "who@unverified.example" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        v2.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": ["r%d@example.net" % i for i in range(51)]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        )
    assert err(e) == ("BadRequestException", 400)
    assert e.value.response["Error"]["Message"] == "Recipient count exceeds 50."
    with pytest.raises(ClientError) as e:
        v2.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [rcpt()]}, Content={})
    assert err(e) == ("BadRequestException", 400)
