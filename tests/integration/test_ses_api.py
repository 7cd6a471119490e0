"""SES v1 (AWS Query, 2010-12-01) through boto3: every action and its errors.

Identities (verified at once; domains get a VerificationToken), ListIdentities filters and
pages, templates (create/update/get/delete/list, name and syntax checks), TestRenderTemplate,
the sending operations' validation (unverified senders refused as in the sandbox, the
50-recipient and 10 MB limits, bad addresses, missing templates, rendering errors, bad
TemplateData, configuration sets), --ses-verify off, and the state surviving a SIGKILL.
The module's server has no --smtp-url: mail is only logged (and counts as delivered)."""

import base64
import json
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from helpers import make_client, raw_request, unique, xml_error

SENDER_DOMAIN = "api.example.com"
SENDER = "sender@" + SENDER_DOMAIN


@pytest.fixture(scope="module")
def ses(server):
    c = make_client(server.endpoint, "ses")
    c.verify_domain_identity(Domain=SENDER_DOMAIN)
    return c


def err(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


def send(ses, source=SENDER, to=("someone@example.net",), **kw):
    return ses.send_email(
        Source=source,
        Destination=kw.pop("Destination", {"ToAddresses": list(to)}),
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        **kw,
    )["MessageId"]


def ses_query(endpoint, params):
    """A raw signed Query request to SES; returns (status, body)."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    p = dict(params)
    p.setdefault("Version", "2010-12-01")
    body = urllib.parse.urlencode(p).encode()
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "ses", "us-east-1").add_auth(req)
    status, _, out = raw_request(endpoint, body, dict(req.headers.items()), sign=False)
    return status, out


# --------------------------------------------------------------------------- identities


def test_verify_email_identity_is_verified_at_once(ses):
    addr = "%s@verified.example.org" % unique("v")
    ses.verify_email_identity(EmailAddress=addr)
    attrs = ses.get_identity_verification_attributes(Identities=[addr])["VerificationAttributes"]
    assert attrs == {addr: {"VerificationStatus": "Success"}}
    assert addr in ses.list_identities(IdentityType="EmailAddress")["Identities"]


def test_verify_email_address_old_alias(ses):
    addr = "%s@old.example.org" % unique("v")
    ses.verify_email_address(EmailAddress=addr)
    assert addr in ses.list_verified_email_addresses()["VerifiedEmailAddresses"]
    ses.delete_verified_email_address(EmailAddress=addr)
    assert addr not in ses.list_verified_email_addresses()["VerifiedEmailAddresses"]


def test_verify_domain_identity_returns_a_stable_token(ses):
    dom = "%s.example.org" % unique("d")
    tok = ses.verify_domain_identity(Domain=dom)["VerificationToken"]
    assert len(base64.b64decode(tok)) == 32
    assert ses.verify_domain_identity(Domain=dom)["VerificationToken"] == tok
    attrs = ses.get_identity_verification_attributes(Identities=[dom])["VerificationAttributes"]
    assert attrs[dom] == {"VerificationStatus": "Success", "VerificationToken": tok}


def test_get_verification_attributes_leaves_out_unknown_identities(ses):
    attrs = ses.get_identity_verification_attributes(Identities=["nobody@unknown.example", SENDER_DOMAIN])
    assert list(attrs["VerificationAttributes"]) == [SENDER_DOMAIN]


@pytest.mark.parametrize("bad", ["no-at-sign", "a b@example.com", "x@exa mple.com", "@example.com", "x@"])
def test_verify_email_identity_rejects_bad_addresses(ses, bad):
    with pytest.raises(ClientError) as e:
        ses.verify_email_identity(EmailAddress=bad)
    assert err(e) == ("InvalidParameterValue", "Invalid email address <%s>." % bad)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("bad", ["-bad.example.com", "exa_mple.com", "a..b", "has space.com"])
def test_verify_domain_identity_rejects_bad_domains(ses, bad):
    with pytest.raises(ClientError) as e:
        ses.verify_domain_identity(Domain=bad)
    assert err(e) == ("InvalidParameterValue", "Invalid domain name %s." % bad)


def test_list_identities_filters_and_pages(server):
    ses = make_client(server.endpoint, "ses")
    tag = unique("p")
    emails = sorted("%s-%d@page.example.org" % (tag, i) for i in range(5))
    domains = sorted("%s-%d.page.example.org" % (tag, i) for i in range(3))
    for a in emails:
        ses.verify_email_identity(EmailAddress=a)
    for d in domains:
        ses.verify_domain_identity(Domain=d)
    all_ids = ses.list_identities()["Identities"]
    assert set(emails + domains) <= set(all_ids)
    assert not set(emails) & set(ses.list_identities(IdentityType="Domain")["Identities"])
    assert not set(domains) & set(ses.list_identities(IdentityType="EmailAddress")["Identities"])
    # pages of 2 cover everything exactly once
    seen, token = [], None
    while True:
        kw = {"MaxItems": 2, "IdentityType": "EmailAddress"}
        if token:
            kw["NextToken"] = token
        r = ses.list_identities(**kw)
        assert len(r["Identities"]) <= 2
        seen += r["Identities"]
        token = r.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert set(emails) <= set(seen)
    assert set(seen) == set(ses.list_identities(IdentityType="EmailAddress")["Identities"])


def test_list_identities_bad_parameters(ses):
    with pytest.raises(ClientError) as e:
        ses.list_identities(IdentityType="Phone")
    assert err(e)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ses.list_identities(MaxItems=1001)
    assert err(e)[0] == "InvalidParameterValue"


def test_delete_identity(ses):
    addr = "%s@del.example.org" % unique("v")
    ses.verify_email_identity(EmailAddress=addr)
    ses.delete_identity(Identity=addr)
    assert addr not in ses.list_identities()["Identities"]
    assert ses.get_identity_verification_attributes(Identities=[addr])["VerificationAttributes"] == {}
    ses.delete_identity(Identity=addr)  # deleting what is not there succeeds


# --------------------------------------------------------------------------- templates


def tmpl(name, **parts):
    t = {"TemplateName": name, "SubjectPart": "Hi {{name}}", "TextPart": "Dear {{name}}", "HtmlPart": "<b>{{name}}</b>"}
    t.update(parts)
    return t


def test_template_lifecycle(ses):
    name = unique("tpl")
    ses.create_template(Template=tmpl(name))
    assert ses.get_template(TemplateName=name)["Template"] == tmpl(name)
    ses.update_template(Template=tmpl(name, SubjectPart="Hello {{name}}"))
    assert ses.get_template(TemplateName=name)["Template"]["SubjectPart"] == "Hello {{name}}"
    names = [t["Name"] for t in ses.list_templates(MaxItems=10).get("TemplatesMetadata", [])]
    listed = {t["Name"]: t for t in _all_templates(ses)}
    assert name in listed and listed[name]["CreatedTimestamp"].year >= 2024
    ses.delete_template(TemplateName=name)
    with pytest.raises(ClientError) as e:
        ses.get_template(TemplateName=name)
    assert err(e) == ("TemplateDoesNotExist", "Template %s does not exist." % name)
    assert name not in [t["Name"] for t in _all_templates(ses)]
    ses.delete_template(TemplateName=name)  # deleting what is not there succeeds
    assert len(names) <= 10


def _all_templates(ses):
    out, token = [], None
    while True:
        r = ses.list_templates(MaxItems=2, **({"NextToken": token} if token else {}))
        assert len(r.get("TemplatesMetadata", [])) <= 2
        out += r.get("TemplatesMetadata", [])
        token = r.get("NextToken")
        if not token:
            return out


def test_list_templates_pages(ses):
    tag = unique("pg")
    mine = ["%s-%d" % (tag, i) for i in range(5)]
    for n in mine:
        ses.create_template(Template=tmpl(n))
    listed = [t["Name"] for t in _all_templates(ses)]
    assert len(listed) == len(set(listed))
    assert set(mine) <= set(listed)


def test_create_template_twice_is_already_exists(ses):
    name = unique("dup")
    ses.create_template(Template=tmpl(name))
    with pytest.raises(ClientError) as e:
        ses.create_template(Template=tmpl(name))
    assert err(e) == ("AlreadyExists", "Template %s already exists." % name)


def test_update_missing_template(ses):
    with pytest.raises(ClientError) as e:
        ses.update_template(Template=tmpl(unique("none")))
    assert err(e)[0] == "TemplateDoesNotExist"


@pytest.mark.parametrize("bad", ["has space", "dot.ted", "x" * 65, "é"])
def test_template_name_rules(ses, bad):
    with pytest.raises(ClientError) as e:
        ses.create_template(Template=tmpl(bad))
    assert err(e)[0] == "InvalidParameterValue"


def test_template_syntax_is_checked(ses):
    with pytest.raises(ClientError) as e:
        ses.create_template(Template=tmpl(unique("syn"), TextPart="{{#if x}}never closed"))
    assert err(e)[0] == "InvalidTemplate"
    assert "TextPart" in err(e)[1]


def test_template_size_limit(ses):
    with pytest.raises(ClientError) as e:
        ses.create_template(Template=tmpl(unique("big"), HtmlPart="x" * (500 * 1024 + 1)))
    assert err(e)[0] == "InvalidParameterValue"


def test_test_render_template(ses):
    name = unique("render")
    ses.create_template(
        Template=tmpl(name, TextPart="Items:{{#each items}} {{this.n}}{{/each}}", HtmlPart="{{#if vip}}VIP {{/if}}{{name}}")
    )
    out = ses.test_render_template(
        TemplateName=name, TemplateData=json.dumps({"name": "Zoë", "vip": True, "items": [{"n": 1}, {"n": 2}]})
    )["RenderedTemplate"]
    import email
    from email import policy

    msg = email.message_from_string(out, policy=policy.default)
    assert msg["Subject"] == "Hi Zoë"
    assert msg["From"] is None
    parts = {p.get_content_type(): p.get_content().strip() for p in msg.walk() if not p.is_multipart()}
    assert parts == {"text/plain": "Items: 1 2", "text/html": "VIP Zoë"}


def test_test_render_errors(ses):
    name = unique("rerr")
    ses.create_template(Template=tmpl(name))
    with pytest.raises(ClientError) as e:
        ses.test_render_template(TemplateName=name, TemplateData="{}")
    assert err(e) == ("MissingRenderingAttribute", "Attribute 'name' is not present in the rendering data.")
    with pytest.raises(ClientError) as e:
        ses.test_render_template(TemplateName=name, TemplateData="{not json")
    assert err(e)[0] == "InvalidRenderingParameter"
    with pytest.raises(ClientError) as e:
        ses.test_render_template(TemplateName=name, TemplateData="[1]")
    assert err(e)[0] == "InvalidRenderingParameter"
    with pytest.raises(ClientError) as e:
        ses.test_render_template(TemplateName=unique("none"), TemplateData="{}")
    assert err(e)[0] == "TemplateDoesNotExist"


# --------------------------------------------------------------------------- sending: errors


def test_unverified_sender_is_refused(ses):
    with pytest.raises(ClientError) as e:
        send(ses, source="Someone <who@unverified.example>")
    assert err(e) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region US-EAST-1: "
        "who@unverified.example",
    )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_verified_address_domain_and_subdomain_may_send(ses):
    addr = "%s@single.example.org" % unique("v")
    ses.verify_email_identity(EmailAddress=addr)
    assert send(ses, source=addr)
    assert send(ses, source="anyone@" + SENDER_DOMAIN)
    assert send(ses, source="x@mail.sub." + SENDER_DOMAIN)
    with pytest.raises(ClientError) as e:
        send(ses, source="other@single.example.org")  # only that address is verified
    assert err(e)[0] == "MessageRejected"


def test_unverified_templated_and_bulk_and_raw_senders_are_refused(ses):
    name = unique("t")
    ses.create_template(Template=tmpl(name))
    with pytest.raises(ClientError) as e:
        ses.send_templated_email(
            Source="x@nope.example", Destination={"ToAddresses": ["a@b.example"]}, Template=name, TemplateData='{"name":"n"}'
        )
    assert err(e)[0] == "MessageRejected"
    with pytest.raises(ClientError) as e:
        ses.send_bulk_templated_email(
            Source="x@nope.example",
            Template=name,
            DefaultTemplateData='{"name":"n"}',
            Destinations=[{"Destination": {"ToAddresses": ["a@b.example"]}}],
        )
    assert err(e)[0] == "MessageRejected"
    raw = b"From: x@nope.example\r\nTo: a@b.example\r\nSubject: s\r\n\r\nb\r\n"
    with pytest.raises(ClientError) as e:
        ses.send_raw_email(RawMessage={"Data": raw})
    assert err(e) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region US-EAST-1: x@nope.example",
    )
    # a verified Source does not make an unverified From acceptable
    with pytest.raises(ClientError) as e:
        ses.send_raw_email(Source=SENDER, RawMessage={"Data": raw})
    assert err(e)[0] == "MessageRejected"


def test_recipient_limit(ses):
    ok = ["r%d@example.net" % i for i in range(50)]
    assert send(ses, Destination={"ToAddresses": ok[:30], "CcAddresses": ok[30:45], "BccAddresses": ok[45:]})
    with pytest.raises(ClientError) as e:
        send(ses, Destination={"ToAddresses": ok, "BccAddresses": ["one-more@example.net"]})
    assert err(e) == ("InvalidParameterValue", "Recipient count exceeds 50.")


@pytest.mark.parametrize(
    "bad,message",
    [
        ("nobody", "Missing final '@domain'"),
        ("a b@example.net", "Local address contains control or whitespace"),
        ("a@exa!mple.net", "Domain contains illegal character"),
    ],
)
def test_bad_recipient_address(ses, bad, message):
    with pytest.raises(ClientError) as e:
        send(ses, to=[bad])
    assert err(e) == ("InvalidParameterValue", message)


def test_no_recipient(ses):
    with pytest.raises(ClientError) as e:
        send(ses, Destination={})
    assert err(e)[0] == "InvalidParameterValue"


def test_bad_source_address(ses):
    with pytest.raises(ClientError) as e:
        send(ses, source="not an address")
    assert err(e)[0] == "InvalidParameterValue"


def test_configuration_sets_do_not_exist(ses):
    with pytest.raises(ClientError) as e:
        send(ses, ConfigurationSetName="tracking")
    assert err(e) == ("ConfigurationSetDoesNotExist", "Configuration set <tracking> does not exist.")


def test_templated_send_errors(ses):
    name = unique("t")
    ses.create_template(Template=tmpl(name))
    base = dict(Source=SENDER, Destination={"ToAddresses": ["a@example.net"]})
    with pytest.raises(ClientError) as e:
        ses.send_templated_email(Template=unique("missing"), TemplateData="{}", **base)
    assert err(e)[0] == "TemplateDoesNotExist"
    with pytest.raises(ClientError) as e:
        ses.send_templated_email(Template=name, TemplateData="{oops", **base)
    assert err(e)[0] == "InvalidRenderingParameter"
    with pytest.raises(ClientError) as e:
        ses.send_templated_email(Template=name, TemplateData='{"other": 1}', **base)
    assert err(e) == ("MissingRenderingAttribute", "Attribute 'name' is not present in the rendering data.")
    assert ses.send_templated_email(Template=name, TemplateData='{"name": null}', **base)["MessageId"]


def test_bulk_request_errors(ses):
    name = unique("t")
    ses.create_template(Template=tmpl(name))
    one = [{"Destination": {"ToAddresses": ["a@example.net"]}}]
    with pytest.raises(ClientError) as e:
        ses.send_bulk_templated_email(Source=SENDER, Template=unique("none"), DefaultTemplateData="{}", Destinations=one)
    assert err(e)[0] == "TemplateDoesNotExist"
    with pytest.raises(ClientError) as e:
        ses.send_bulk_templated_email(Source=SENDER, Template=name, DefaultTemplateData="[", Destinations=one)
    assert err(e)[0] == "InvalidRenderingParameter"
    with pytest.raises(ClientError) as e:
        ses.send_bulk_templated_email(Source=SENDER, Template=name, DefaultTemplateData="{}", Destinations=one * 51)
    assert err(e)[0] == "InvalidParameterValue"
    r = ses.send_bulk_templated_email(
        Source=SENDER,
        Template=name,
        DefaultTemplateData='{"name":"n"}',
        Destinations=[{"Destination": {"ToAddresses": ["a@example.net"]}, "ReplacementTemplateData": "nope"}],
    )
    assert r["Status"][0]["Status"] == "Failed"


def test_raw_message_limits(fresh_server_factory):
    srv = fresh_server_factory(extra_args=["--max-body-bytes", str(32 * 1024 * 1024)])
    ses = make_client(srv.endpoint, "ses")
    ses.verify_domain_identity(Domain=SENDER_DOMAIN)
    head = "From: %s\r\nTo: a@example.net\r\nSubject: big\r\n\r\n" % SENDER
    body = ("x" * 998 + "\r\n") * (10 * 1024 * 1024 // 1000 + 10)
    data = (head + body).encode()
    assert len(data) > 10 * 1024 * 1024
    with pytest.raises(ClientError) as e:
        ses.send_raw_email(RawMessage={"Data": data})
    assert err(e) == ("InvalidParameterValue", "Message length is more than 10485760 bytes long: '%d'." % len(data))
    with pytest.raises(ClientError) as e:
        ses.send_raw_email(RawMessage={"Data": b"Subject: no sender\r\nTo: a@example.net\r\n\r\nx"})
    assert err(e)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ses.send_raw_email(RawMessage={"Data": ("From: %s\r\nSubject: nobody\r\n\r\nx" % SENDER).encode()})
    assert err(e)[0] == "InvalidParameterValue"


def test_raw_data_must_be_base64(server):
    status, body = ses_query(server.endpoint, {"Action": "SendRawEmail", "RawMessage.Data": "%%%not base64%%%"})
    assert status == 400
    typ, code, msg = xml_error(body)
    assert (typ, code) == ("Sender", "InvalidParameterValue")


def test_query_error_shape(server):
    status, body = ses_query(server.endpoint, {"Action": "GetTemplate", "TemplateName": "no-such-template"})
    assert status == 400
    assert b'xmlns="http://ses.amazonaws.com/doc/2010-12-01/"' in body
    assert xml_error(body) == ("Sender", "TemplateDoesNotExist", "Template no-such-template does not exist.")


# --------------------------------------------------------------------------- verification off, durability


def test_verification_off_lets_anyone_send(fresh_server_factory):
    srv = fresh_server_factory(extra_args=["--ses-verify", "off"])
    ses = make_client(srv.endpoint, "ses")
    assert ses.list_identities()["Identities"] == []
    assert send(ses, source="whoever@anywhere.example")
    raw = b"From: raw@anywhere.example\r\nTo: a@example.net\r\nSubject: s\r\n\r\nb\r\n"
    assert ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]


def test_state_survives_sigkill(fresh_server):
    ses = make_client(fresh_server.endpoint, "ses")
    tok = ses.verify_domain_identity(Domain="kept.example.org")["VerificationToken"]
    ses.verify_email_identity(EmailAddress="kept@else.example.org")
    ses.create_template(Template=tmpl("kept-template"))
    send(ses, source="a@kept.example.org", to=["x@example.net", "y@example.net"])
    gone = "gone@else.example.org"
    ses.verify_email_identity(EmailAddress=gone)
    ses.delete_identity(Identity=gone)
    fresh_server.restart_after_kill()
    ses = make_client(fresh_server.endpoint, "ses")
    assert sorted(ses.list_identities()["Identities"]) == ["kept.example.org", "kept@else.example.org"]
    attrs = ses.get_identity_verification_attributes(Identities=["kept.example.org"])["VerificationAttributes"]
    assert attrs["kept.example.org"]["VerificationToken"] == tok
    assert ses.get_template(TemplateName="kept-template")["Template"] == tmpl("kept-template")
    assert ses.get_send_quota()["SentLast24Hours"] == 2.0
    assert sum(p["DeliveryAttempts"] for p in ses.get_send_statistics()["SendDataPoints"]) == 2
    assert send(ses, source="b@kept.example.org")
