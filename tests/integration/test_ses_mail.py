"""SES v1 mail that really goes out: sluiced sends to a real SMTP server on loopback
(aiosmtpd, smtp_sink.py) and each test reads the message that arrived with Python's email
package: text + HTML multipart, a UTF-8 subject, Cc and Bcc (Bcc in the envelope only),
Reply-To, templates ({{var}}, nested paths, {{#if}}, {{#each}}) rendered into the message,
bulk sends (one message per destination), raw messages passed through unchanged, a 4xx
from the server retried until the mail is delivered, a 5xx counted as a bounce in
GetSendStatistics, and the mail log at GET /_sluice/ses/messages."""

import json
import time
import urllib.request

import pytest

from helpers import SLOW, make_client, unique
from smtp_sink import mail_server, smtp_sink  # noqa: F401 - fixtures

SENDER = "sender@mail.example.com"


@pytest.fixture(scope="module")
def ses(mail_server):
    c = make_client(mail_server.endpoint, "ses")
    c.verify_domain_identity(Domain="mail.example.com")
    return c


def rcpt(prefix="to"):
    return "%s@rcpt.example.net" % unique(prefix)


def simple(ses, to, subject="Hello", text="Plain body", html=None, **kw):
    body = {"Text": {"Data": text}} if text is not None else {}
    if html is not None:
        body["Html"] = {"Data": html}
    dest = {"ToAddresses": to if isinstance(to, list) else [to]}
    for k in ("CcAddresses", "BccAddresses"):
        if k in kw:
            dest[k] = kw.pop(k)
    return ses.send_email(
        Source=kw.pop("Source", SENDER),
        Destination=dest,
        Message={"Subject": {"Data": subject}, "Body": body},
        **kw,
    )["MessageId"]


def mail_log(server):
    with urllib.request.urlopen(server.endpoint + "/_sluice/ses/messages", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        return json.loads(r.read())["messages"]


# --------------------------------------------------------------------------- simple mail


def test_text_and_html_arrive_as_multipart_alternative(ses, smtp_sink):
    to = rcpt()
    mid = simple(ses, to, subject="Your order", text="Order 42 shipped.", html="<p>Order <b>42</b> shipped.</p>")
    (m,) = smtp_sink.wait_for(to)
    assert m.mail_from == SENDER
    assert m.rcpt_tos == [to]
    assert m.msg.get_content_type() == "multipart/alternative"
    parts = m.parts()
    assert parts["text/plain"].replace("\r\n", "\n").strip() == "Order 42 shipped."
    assert parts["text/html"].strip() == "<p>Order <b>42</b> shipped.</p>"
    assert m.header("Subject") == "Your order"
    assert m.header("From") == SENDER
    assert m.header("To") == to
    assert m.header("Message-ID") == "<%s@email.amazonses.com>" % mid
    assert m.header("Date")
    assert m.msg.defects == []


def test_message_id_has_the_ses_shape(ses, smtp_sink):
    to = rcpt()
    mid = simple(ses, to)
    head, rest = mid.split("-", 1)
    assert len(head) == 16 and int(head, 16) > 0
    assert rest.endswith("-000000")
    assert len(rest) == 36 + len("-000000")
    smtp_sink.wait_for(to)


def test_utf8_subject_and_body(ses, smtp_sink):
    to = rcpt()
    subject = "Commande confirmée — 注文 ✓"
    simple(ses, to, subject=subject, text="Merci, Zoë! Grüße.", html="<p>Zoë 😀</p>")
    (m,) = smtp_sink.wait_for(to)
    raw_subject = [l for l in m.data.split(b"\r\n") if l.lower().startswith(b"subject:")][0]
    assert b"=?UTF-8?" in raw_subject  # encoded-words on the wire: the header is ASCII
    assert m.header("Subject") == subject
    parts = m.parts()
    assert parts["text/plain"].strip() == "Merci, Zoë! Grüße."
    assert parts["text/html"].strip() == "<p>Zoë 😀</p>"


def test_display_name_sender(ses, smtp_sink):
    to = rcpt()
    simple(ses, to, Source="Boutique Zoë <%s>" % SENDER)
    (m,) = smtp_sink.wait_for(to)
    assert m.mail_from == SENDER
    assert m.msg["From"].addresses[0].display_name == "Boutique Zoë"
    assert m.msg["From"].addresses[0].addr_spec == SENDER


def test_cc_and_bcc_get_the_mail_and_bcc_is_not_in_the_headers(ses, smtp_sink):
    to, cc, bcc = rcpt("to"), rcpt("cc"), rcpt("bcc")
    simple(ses, to, CcAddresses=[cc], BccAddresses=[bcc])
    (m,) = smtp_sink.wait_for(to)
    assert sorted(m.rcpt_tos) == sorted([to, cc, bcc])
    assert m.header("To") == to
    assert m.header("Cc") == cc
    assert m.msg["Bcc"] is None
    assert bcc.encode() not in m.data


def test_reply_to(ses, smtp_sink):
    to = rcpt()
    simple(ses, to, ReplyToAddresses=["help@mail.example.com", "Sales <sales@mail.example.com>"])
    (m,) = smtp_sink.wait_for(to)
    addrs = [a.addr_spec for a in m.msg["Reply-To"].addresses]
    assert addrs == ["help@mail.example.com", "sales@mail.example.com"]


def test_return_path_is_the_envelope_sender(ses, smtp_sink):
    to = rcpt()
    simple(ses, to, ReturnPath="bounces@mail.example.com")
    (m,) = smtp_sink.wait_for(to)
    assert m.mail_from == "bounces@mail.example.com"
    assert m.header("From") == SENDER


def test_html_only(ses, smtp_sink):
    to = rcpt()
    simple(ses, to, text=None, html="<h1>Only HTML</h1>")
    (m,) = smtp_sink.wait_for(to)
    assert m.msg.get_content_type() == "text/html"
    assert m.msg.get_content().strip() == "<h1>Only HTML</h1>"


# --------------------------------------------------------------------------- templates

ORDER_TEMPLATE = {
    "SubjectPart": "Order {{order.id}} for {{customer.name}}",
    "TextPart": (
        "Hello {{customer.name}},\n"
        "{{#if order.express}}Express delivery.{{else}}Standard delivery.{{/if}}\n"
        "{{#each order.items}}* {{qty}} x {{name}}\n{{/each}}"
        "Total: {{order.total}}"
    ),
    "HtmlPart": (
        "<h1>Hello {{customer.name}}</h1><ul>{{#each order.items}}<li>{{name}}</li>{{/each}}</ul>"
        "{{#if order.express}}<p>Express</p>{{/if}}"
    ),
}


@pytest.fixture(scope="module")
def order_template(ses):
    name = unique("order")
    ses.create_template(Template=dict(TemplateName=name, **ORDER_TEMPLATE))
    return name


ORDER_DATA = {
    "customer": {"name": "Zoë"},
    "order": {
        "id": "A-17",
        "express": True,
        "total": 42.5,
        "items": [{"qty": 2, "name": "mug"}, {"qty": 1, "name": "teapot"}],
    },
}


def test_templated_mail_is_rendered_into_the_message(ses, smtp_sink, order_template):
    to = rcpt()
    ses.send_templated_email(
        Source=SENDER, Destination={"ToAddresses": [to]}, Template=order_template, TemplateData=json.dumps(ORDER_DATA)
    )
    (m,) = smtp_sink.wait_for(to)
    assert m.header("Subject") == "Order A-17 for Zoë"
    parts = m.parts()
    text = parts["text/plain"].replace("\r\n", "\n").rstrip("\n")
    assert text == "Hello Zoë,\nExpress delivery.\n* 2 x mug\n* 1 x teapot\nTotal: 42.5"
    assert parts["text/html"].strip() == "<h1>Hello Zoë</h1><ul><li>mug</li><li>teapot</li></ul><p>Express</p>"


def test_templated_else_branch_and_empty_each(ses, smtp_sink, order_template):
    to = rcpt()
    data = {"customer": {"name": "Al"}, "order": {"id": "B", "express": False, "total": 0, "items": []}}
    ses.send_templated_email(
        Source=SENDER, Destination={"ToAddresses": [to]}, Template=order_template, TemplateData=json.dumps(data)
    )
    (m,) = smtp_sink.wait_for(to)
    text = m.parts()["text/plain"].replace("\r\n", "\n").rstrip("\n")
    assert text == "Hello Al,\nStandard delivery.\nTotal: 0"


def test_bulk_templated_sends_one_message_per_destination(ses, smtp_sink, order_template):
    a, b, bad = rcpt("bulk-a"), rcpt("bulk-b"), "not-an-address"
    default = dict(ORDER_DATA)
    r = ses.send_bulk_templated_email(
        Source=SENDER,
        Template=order_template,
        DefaultTemplateData=json.dumps(default),
        Destinations=[
            {"Destination": {"ToAddresses": [a]}},
            {"Destination": {"ToAddresses": [bad]}},
            {"Destination": {"ToAddresses": [b]}, "ReplacementTemplateData": json.dumps({"customer": {"name": "Bo"}})},
        ],
    )
    st = r["Status"]
    assert [s["Status"] for s in st] == ["Success", "InvalidParameterValue", "Success"]
    assert st[1]["Error"] == "Missing final '@domain'"
    assert "MessageId" not in st[1]
    (ma,) = smtp_sink.wait_for(a)
    (mb,) = smtp_sink.wait_for(b)
    assert ma.header("Subject") == "Order A-17 for Zoë"
    assert mb.header("Subject") == "Order A-17 for Bo"  # replacement data over the defaults
    assert ma.header("Message-ID") == "<%s@email.amazonses.com>" % st[0]["MessageId"]
    assert mb.header("Message-ID") == "<%s@email.amazonses.com>" % st[2]["MessageId"]
    assert mb.rcpt_tos == [b]


def test_bulk_missing_attribute_fails_that_destination_only(ses, smtp_sink):
    name = unique("greet")
    ses.create_template(Template={"TemplateName": name, "SubjectPart": "Hi {{name}}", "TextPart": "x"})
    ok = rcpt("bulk-ok")
    r = ses.send_bulk_templated_email(
        Source=SENDER,
        Template=name,
        DefaultTemplateData="{}",
        Destinations=[
            {"Destination": {"ToAddresses": [rcpt()]}},
            {"Destination": {"ToAddresses": [ok]}, "ReplacementTemplateData": '{"name":"Ok"}'},
        ],
    )
    assert r["Status"][0]["Status"] == "Failed"
    assert "name" in r["Status"][0]["Error"]
    assert r["Status"][1]["Status"] == "Success"
    (m,) = smtp_sink.wait_for(ok)
    assert m.header("Subject") == "Hi Ok"


# --------------------------------------------------------------------------- raw mail


def test_raw_message_is_passed_through(ses, smtp_sink):
    to, cc = rcpt("raw"), rcpt("rawcc")
    raw = (
        "From: Raw Sender <%s>\r\n"
        "To: Someone <%s>\r\n"
        "Cc: %s\r\n"
        "Subject: =?UTF-8?B?w6l0w6k=?=\r\n"
        "X-Custom: kept as is\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
        "\r\n"
        "--XYZ\r\nContent-Type: text/plain\r\n\r\nraw body\r\n"
        "--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--XYZ--\r\n"
    ) % (SENDER, to, cc)
    mid = ses.send_raw_email(RawMessage={"Data": raw.encode()})["MessageId"]
    assert mid.endswith("-000000")
    (m,) = smtp_sink.wait_for(to)
    assert m.data == raw.encode()
    assert sorted(m.rcpt_tos) == sorted([to, cc])
    assert m.mail_from == SENDER
    assert m.header("Subject") == "été"
    attachment = [p for p in m.msg.iter_attachments()][0]
    assert attachment.get_content() == b"\x00\x01\x02\x03"


def test_raw_destinations_override_the_headers(ses, smtp_sink):
    shown, real = rcpt("shown"), rcpt("real")
    raw = "From: %s\r\nTo: %s\r\nSubject: x\r\n\r\nbody\r\n" % (SENDER, shown)
    ses.send_raw_email(Source=SENDER, Destinations=[real], RawMessage={"Data": raw.encode()})
    (m,) = smtp_sink.wait_for(real)
    assert m.rcpt_tos == [real]
    assert m.header("To") == shown
    assert smtp_sink.messages(shown) == []


def test_raw_bcc_header_recipients_get_it(ses, smtp_sink):
    to, bcc = rcpt("rawto"), rcpt("rawbcc")
    raw = "From: %s\r\nTo: %s\r\nBcc: %s\r\nSubject: b\r\n\r\nbody\r\n" % (SENDER, to, bcc)
    ses.send_raw_email(RawMessage={"Data": raw.encode()})
    (m,) = smtp_sink.wait_for(to)
    assert sorted(m.rcpt_tos) == sorted([to, bcc])


# --------------------------------------------------------------------------- retries, bounces


def test_temporary_failure_is_retried_then_delivered(ses, smtp_sink):
    to = "flaky-%s@rcpt.example.net" % unique("r")
    mid = simple(ses, to, subject="retried")
    (m,) = smtp_sink.wait_for(to, timeout=20)
    assert smtp_sink.attempts(to) == 3  # two 451 answers, then accepted
    assert m.header("Message-ID") == "<%s@email.amazonses.com>" % mid
    time.sleep(1.5 * SLOW)
    assert len(smtp_sink.messages(to)) == 1


def test_permanent_failure_counts_as_a_bounce(ses, smtp_sink):
    def totals():
        pts = ses.get_send_statistics()["SendDataPoints"]
        return sum(p["DeliveryAttempts"] for p in pts), sum(p["Bounces"] for p in pts)

    attempts0, bounces0 = totals()
    to = "perm-%s@rcpt.example.net" % unique("r")
    simple(ses, to, subject="bounces")
    deadline = time.monotonic() + 10 * SLOW
    while time.monotonic() < deadline and totals()[1] == bounces0:
        time.sleep(0.1)
    attempts1, bounces1 = totals()
    assert bounces1 == bounces0 + 1
    assert attempts1 == attempts0 + 1
    assert smtp_sink.attempts(to) == 1  # a 5xx is not retried
    assert smtp_sink.messages(to) == []


def test_send_statistics_and_quota_count_recipients(ses, smtp_sink):
    before = ses.get_send_quota()["SentLast24Hours"]
    pts0 = sum(p["DeliveryAttempts"] for p in ses.get_send_statistics()["SendDataPoints"])
    to, cc = rcpt(), rcpt()
    simple(ses, to, CcAddresses=[cc])
    q = ses.get_send_quota()
    assert q["SentLast24Hours"] == before + 2
    assert q["Max24HourSend"] > 0 and q["MaxSendRate"] > 0
    pts = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in pts) == pts0 + 2
    for p in pts:
        assert p["Timestamp"].minute % 15 == 0 and p["Timestamp"].second == 0
        assert p["Complaints"] == 0 and p["Rejects"] == 0
    smtp_sink.wait_for(to)


# --------------------------------------------------------------------------- the mail log


def test_mail_log_shows_what_went_out(ses, smtp_sink, mail_server, order_template):
    to, cc, bcc = rcpt("log"), rcpt("logcc"), rcpt("logbcc")
    mid = ses.send_templated_email(
        Source=SENDER,
        Destination={"ToAddresses": [to], "CcAddresses": [cc], "BccAddresses": [bcc]},
        Template=order_template,
        TemplateData=json.dumps(ORDER_DATA),
    )["MessageId"]
    smtp_sink.wait_for(to)
    (rec,) = [r for r in mail_log(mail_server) if r.get("Id") == mid]
    assert rec["Source"] == SENDER
    assert rec["Destination"] == {"ToAddresses": [to], "CcAddresses": [cc], "BccAddresses": [bcc]}
    assert rec["Subject"] == "Order A-17 for Zoë"
    assert rec["Body"]["text_part"].startswith("Hello Zoë,\nExpress delivery.")
    assert rec["Body"]["html_part"].startswith("<h1>Hello Zoë</h1>")
    assert rec["Template"] == order_template
    assert json.loads(rec["TemplateData"]) == ORDER_DATA
    assert rec["Owner"] == "ses"
    assert "Message-ID: <%s@email.amazonses.com>" % mid in rec["RawData"]
    assert rec["Timestamp"].endswith("Z")


def test_mail_log_of_a_simple_mail(ses, smtp_sink, mail_server):
    to = rcpt("log2")
    mid = simple(ses, to, subject="Logged", text="t", html="<i>h</i>")
    (rec,) = [r for r in mail_log(mail_server) if r.get("Id") == mid]
    assert rec["Subject"] == "Logged"
    assert rec["Body"] == {"text_part": "t", "html_part": "<i>h</i>"}
    assert "Template" not in rec
    smtp_sink.wait_for(to)
