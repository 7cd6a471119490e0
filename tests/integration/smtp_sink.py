"""A real SMTP server on loopback for the mail tests (SES, SNS email subscriptions), and a
sluiced that sends its mail there.

`SmtpSink` is Debian's aiosmtpd (python3-aiosmtpd) running in this process on a port of its
own. It keeps every message it accepts (envelope, raw bytes and what Python's email package
parses of them) and answers recipients by their local part:
  temp...   450 (a temporary failure, forever)
  flaky...  451 for the first `flaky_failures` attempts at that address, then accepted
  perm...   550 (a permanent failure: a bounce)
  anything else: accepted.
It can be stopped and started again on the same port (a server that is down, then up).

Fixtures (import them into a test module: `from smtp_sink import smtp_sink, mail_server`):
  smtp_sink    a started sink for the module;
  mail_server  a sluiced for the module with --smtp-url pointing at smtp_sink (STARTTLS off).
`start_mail_server(data_dir, sink_port, *extra)` starts more of them (other flags, restarts).
"""

import email
import os
import shutil
import tempfile
import threading
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from helpers import SLOW, Server, free_port


class Received:
    """One message the sink accepted."""

    def __init__(self, mail_from, rcpt_tos, data):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data  # bytes, as received (CRLF line ends)
        self.msg = email.message_from_bytes(data, policy=policy.default)

    def header(self, name):
        v = self.msg[name]
        return None if v is None else str(v)

    def parts(self):
        """{content type: decoded text} of the message's leaf parts."""
        out = {}
        for p in self.msg.walk():
            if not p.is_multipart():
                out[p.get_content_type()] = p.get_content()
        return out

    def __repr__(self):
        return "<Received from=%s to=%s subject=%r>" % (self.mail_from, self.rcpt_tos, self.header("Subject"))


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        with self.sink.lock:
            self.sink.rcpt_attempts[address] = self.sink.rcpt_attempts.get(address, 0) + 1
            tries = self.sink.rcpt_attempts[address]
        if local.startswith("temp"):
            return "450 4.2.1 Mailbox busy, try again later"
        if local.startswith("perm"):
            return "550 5.1.1 No such user here"
        if local.startswith("flaky") and tries <= self.sink.flaky_failures:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.received.append(Received(envelope.mail_from, envelope.rcpt_tos, envelope.content))
            self.sink.cond.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port=None, flaky_failures=2):
        self.port = port or free_port()
        self.flaky_failures = flaky_failures
        self.received = []
        self.rcpt_attempts = {}
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.controller = None

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def start(self):
        self.controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            decode_data=False,
            enable_SMTPUTF8=True,
            server_hostname="sink.test",
            ready_timeout=10,
        )
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self, to=None):
        """What arrived so far (only the messages with envelope recipient `to`, if given)."""
        with self.lock:
            got = list(self.received)
        if to is None:
            return got
        return [m for m in got if to.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, to=None, n=1, timeout=10.0):
        """Waits until n messages for `to` arrived; returns them (asserts they did)."""
        deadline = time.monotonic() + timeout * SLOW
        with self.lock:
            while True:
                got = [m for m in self.received if to is None or to.lower() in (r.lower() for r in m.rcpt_tos)]
                left = deadline - time.monotonic()
                if len(got) >= n or left <= 0:
                    break
                self.cond.wait(min(left, 0.2))
        assert len(got) >= n, "expected %d message(s) for %s, the sink has %d: %s" % (n, to, len(got), self.received)
        return got

    def attempts(self, address):
        with self.lock:
            return self.rcpt_attempts.get(address, 0)


def start_mail_server(data_dir, sink_port, *extra, durability="full"):
    """A sluiced over data_dir that sends mail to the sink's port."""
    args = ["--smtp-url", "smtp://127.0.0.1:%d" % sink_port, "--smtp-starttls", "off"] + list(extra)
    return Server(data_dir, durability=durability, extra_args=args).start()


def stop_checked(server):
    """SIGTERM; the server must have been running and exit 0."""
    if server.proc is None:
        return
    died = server.proc.poll()
    rc = server.stop()
    if died is not None and died != 0:
        pytest.fail("sluiced had already exited with %s:\n%s" % (died, server.log_tail()))
    if rc != 0:
        pytest.fail("sluiced did not exit 0 within 10 s of SIGTERM (rc=%s):\n%s" % (rc, server.log_tail()))


@pytest.fixture(scope="module")
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def mail_server(smtp_sink):
    tmp = tempfile.mkdtemp(prefix="sluice-mail-")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    s = start_mail_server(data, smtp_sink.port)
    yield s
    stop_checked(s)
    shutil.rmtree(tmp, ignore_errors=True)
