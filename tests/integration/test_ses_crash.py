"""SES mail is durable once acknowledged: sluiced accepts sends while its SMTP server is
down, is killed with SIGKILL before it could deliver them, and after a restart (with the
SMTP server up) every acknowledged mail arrives, exactly once."""

import json
import os
import shutil
import tempfile
import time

import pytest

from helpers import SLOW, make_client, unique
from smtp_sink import SmtpSink, start_mail_server, stop_checked


@pytest.fixture
def workdir():
    tmp = tempfile.mkdtemp(prefix="sluice-ses-crash-")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    yield data
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.sluice_timeout(90)
def test_acknowledged_mail_survives_sigkill_before_delivery(workdir):
    sink = SmtpSink()  # not started: nothing listens on its port yet
    srv = start_mail_server(workdir, sink.port)
    try:
        ses = make_client(srv.endpoint, "ses")
        ses.verify_domain_identity(Domain="crash.example.com")
        ses.create_template(Template={"TemplateName": "crash", "SubjectPart": "Hi {{n}}", "TextPart": "n={{n}}"})
        sent = {}
        for i in range(4):
            to = "%s@rcpt.example.net" % unique("c%d" % i)
            sent[to] = ses.send_email(
                Source="shop@crash.example.com",
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": "plain %d" % i}, "Body": {"Text": {"Data": "body %d" % i}}},
            )["MessageId"]
        to = "%s@rcpt.example.net" % unique("tpl")
        sent[to] = ses.send_templated_email(
            Source="shop@crash.example.com",
            Destination={"ToAddresses": [to]},
            Template="crash",
            TemplateData=json.dumps({"n": 7}),
        )["MessageId"]
        time.sleep(0.5 * SLOW)  # the first attempts fail: the SMTP server is down
        assert sink.messages() == []
        srv.kill()

        sink.start()
        srv.start(port=srv.port)
        for to, mid in sent.items():
            (m,) = sink.wait_for(to, timeout=30)
            assert m.header("Message-ID") == "<%s@email.amazonses.com>" % mid
        assert sink.wait_for(to)[0].header("Subject") == "Hi 7"
        time.sleep(2 * SLOW)  # nothing arrives twice
        got = sink.messages()
        assert len(got) == len(sent), got
        assert sorted(r for m in got for r in m.rcpt_tos) == sorted(sent)
        ses = make_client(srv.endpoint, "ses")
        assert ses.get_send_quota()["SentLast24Hours"] == len(sent)
    finally:
        stop_checked(srv)
        sink.stop()
