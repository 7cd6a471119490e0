"""Helpers shared by the Sluice SNS integration suites (test_sns_*.py).

- SNS clients (boto3, AWS Query 2010-03-31) and a fixture per module;
- topics and SQS subscriptions: create, subscribe, read the notifications that reached a
  queue (the SNS JSON envelope, or the raw message with RawMessageDelivery);
- SNS message signatures: the string to sign for Notification / SubscriptionConfirmation /
  UnsubscribeConfirmation messages, and verification of SignatureVersion 1 (SHA1withRSA)
  and 2 (SHA256withRSA) against the certificate the server serves at SigningCertURL;
- HTTP subscribers: the recording HttpEndpoint of events_helpers, plus confirmation by a
  GET of SubscribeURL.

Test modules import the fixtures they use from here (`from sns_helpers import sns`).
"""

import base64
import http.client
import json
import time
import urllib.parse
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from events_helpers import HttpEndpoint, http_endpoint, new_queue, receive  # noqa: F401
from helpers import ACCOUNT, REGION, SLOW, make_client, unique

# --------------------------------------------------------------------------- clients


def make_sns_client(endpoint, **cfg):
    return make_client(endpoint, "sns", **cfg)


@pytest.fixture(scope="module")
def sns(server):
    """An SNS client on the module's server."""
    return make_sns_client(server.endpoint)


def raw_sns(endpoint, params, timeout=10):
    """One signed AWS Query request to SNS (Version 2010-03-31 unless given); returns
    (status, body bytes). For requests botocore would refuse to send."""
    p = dict(params)
    p.setdefault("Version", "2010-03-31")
    body = urllib.parse.urlencode(p).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    req = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "sns", REGION).add_auth(req)
    host, port = endpoint.split("//", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def err(excinfo):
    """(Code, Message) of a botocore ClientError."""
    e = excinfo.value.response["Error"]
    return e.get("Code"), e.get("Message")


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------- ARNs


def topic_arn(name):
    return "arn:aws:sns:%s:%s:%s" % (REGION, ACCOUNT, name)


def queue_arn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


# --------------------------------------------------------------------------- topics, queues


def new_topic(sns_client, prefix="topic", fifo=False, tags=None, **attributes):
    """Creates a topic; returns its ARN. Attribute values are stringified."""
    name = unique(prefix) + (".fifo" if fifo else "")
    attrs = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in attributes.items()}
    if fifo:
        attrs["FifoTopic"] = "true"
    kw = {"Name": name}
    if attrs:
        kw["Attributes"] = attrs
    if tags:
        kw["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    arn = sns_client.create_topic(**kw)["TopicArn"]
    assert arn == topic_arn(name), arn
    return arn


def make_queue(sqs, prefix="snsq", fifo=False, **attributes):
    """Creates a queue; returns (url, arn)."""
    return new_queue(sqs, prefix, fifo=fifo, **attributes)


def subscribe_queue(sns_client, topic, q_arn, raw=False, filter_policy=None, scope=None, **attrs):
    """Subscribes an SQS queue (confirmed at once); returns the subscription ARN."""
    a = {k: v if isinstance(v, str) else json.dumps(v) for k, v in attrs.items()}
    if raw:
        a["RawMessageDelivery"] = "true"
    if filter_policy is not None:
        a["FilterPolicy"] = filter_policy if isinstance(filter_policy, str) else json.dumps(filter_policy)
    if scope:
        a["FilterPolicyScope"] = scope
    kw = {"TopicArn": topic, "Protocol": "sqs", "Endpoint": q_arn, "ReturnSubscriptionArn": True}
    if a:
        kw["Attributes"] = a
    arn = sns_client.subscribe(**kw)["SubscriptionArn"]
    assert arn.startswith(topic + ":"), arn
    return arn


def topic_with_queues(sns_client, sqs, n=1, fifo=False, **sub_kw):
    """A topic and n queues subscribed to it; returns (topic_arn, [(url, arn, sub_arn)])."""
    topic = new_topic(sns_client, fifo=fifo, **({"ContentBasedDeduplication": "true"} if fifo else {}))
    out = []
    for _ in range(n):
        url, arn = make_queue(sqs, fifo=fifo)
        out.append((url, arn, subscribe_queue(sns_client, topic, arn, **sub_kw)))
    return topic, out


def notifications(sqs, url, n, timeout=10.0):
    """The SNS envelopes (parsed JSON bodies) of n messages; asserts that n arrived."""
    msgs = receive(sqs, url, n, timeout)
    assert len(msgs) >= n, "expected %d notifications on %s, got %d: %s" % (
        n,
        url,
        len(msgs),
        [m["Body"] for m in msgs],
    )
    return [json.loads(m["Body"]) for m in msgs]


def nothing_on(sqs, url, wait=1.0):
    """Nothing (more) arrives on the queue within `wait` seconds (x SLOW)."""
    extra = receive(sqs, url, 1, timeout=wait)
    assert extra == [], "unexpected messages on %s: %s" % (url, [m["Body"] for m in extra])


def attr(ma, name):
    """A message attribute value from the SQS shape ({"StringValue": ...})."""
    a = (ma or {}).get(name)
    return a.get("StringValue") if a else None


# --------------------------------------------------------------------------- signatures

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def string_to_sign(envelope):
    """The canonical string SNS signs: "Name\\nValue\\n" for each field of the message type,
    in byte order of the names; Subject only when present (AWS's documented algorithm)."""
    fields = NOTIFICATION_FIELDS if envelope["Type"] == "Notification" else CONFIRMATION_FIELDS
    out = []
    for f in fields:
        if f not in envelope:
            if f == "Subject":
                continue
            raise AssertionError("envelope lacks %s: %r" % (f, envelope))
        out.append("%s\n%s\n" % (f, envelope[f]))
    return "".join(out).encode("utf-8")


_certs = {}


def fetch_cert(url):
    """The PEM the server serves at SigningCertURL (cached per URL)."""
    if url not in _certs:
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200, (url, r.status)
            _certs[url] = r.read()
    return _certs[url]


def verify_signature(envelope, cert_pem=None):
    """Verifies the envelope's Signature with the certificate at its SigningCertURL (or the
    given PEM). Raises AssertionError (with the reason) when it does not verify."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    version = envelope.get("SignatureVersion")
    assert version in ("1", "2"), "SignatureVersion %r" % version
    pem = cert_pem or fetch_cert(envelope["SigningCertURL"])
    cert = x509.load_pem_x509_certificate(pem)
    sig = base64.b64decode(envelope["Signature"])
    algo = hashes.SHA1() if version == "1" else hashes.SHA256()
    try:
        cert.public_key().verify(sig, string_to_sign(envelope), padding.PKCS1v15(), algo)
    except InvalidSignature:
        raise AssertionError("signature (version %s) does not verify: %r" % (version, envelope)) from None
    return True


def tampered(envelope, **changes):
    e = dict(envelope)
    e.update(changes)
    return e


# --------------------------------------------------------------------------- HTTP subscribers


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def http_messages(endpoint, kind=None, prefix="/"):
    """The JSON bodies of the POSTs the endpoint received (optionally of one Type)."""
    out = []
    for r in endpoint.received(prefix):
        if r.method != "POST":
            continue
        try:
            body = r.json()
        except ValueError:
            continue
        if kind is None or (isinstance(body, dict) and body.get("Type") == kind):
            out.append((r, body))
    return out


def wait_http(endpoint, kind, n=1, timeout=10.0, prefix="/"):
    """Waits for n POSTs of message Type `kind`; returns [(request, body)] (maybe fewer)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        got = http_messages(endpoint, kind, prefix)
        if len(got) >= n or time.monotonic() >= deadline:
            return got
        endpoint.wait(len(endpoint.received()) + 1, timeout=min(0.5, max(0.01, deadline - time.monotonic())))


def http_subscribe(sns_client, topic, endpoint, path="/sns", confirm="url", **attrs):
    """Subscribes an HTTP endpoint and confirms it (confirm = "url": GET SubscribeURL, "api":
    ConfirmSubscription, None: leave pending). Returns (subscription_arn or "pending
    confirmation", confirmation body)."""
    a = {k: v if isinstance(v, str) else json.dumps(v) for k, v in attrs.items()}
    kw = {"TopicArn": topic, "Protocol": "http", "Endpoint": endpoint.url(path)}
    if a:
        kw["Attributes"] = a
    r = sns_client.subscribe(**kw)
    arn = r["SubscriptionArn"]
    got = wait_http(endpoint, "SubscriptionConfirmation", prefix=path)
    assert got, "no SubscriptionConfirmation reached %s" % endpoint.url(path)
    conf = got[-1][1]
    if confirm == "url":
        with urllib.request.urlopen(conf["SubscribeURL"], timeout=10) as resp:
            assert resp.status == 200
            body = resp.read().decode()
        arn = _confirmed_arn(body) or arn
    elif confirm == "api":
        arn = sns_client.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"]
    return arn, conf


def _confirmed_arn(xml_body):
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml_body)
    except ET.ParseError:
        return None
    for e in root.iter():
        if e.tag.rsplit("}", 1)[-1] == "SubscriptionArn":
            return e.text
    return None


class ClosingEndpoint(HttpEndpoint):
    """An HttpEndpoint whose connections close after every response (HTTP/1.0), so that
    once stopped nothing listens on its port any more: a keep-alive connection kept by the
    server would otherwise still reach a handler thread after stop()."""

    def start(self):
        import http.server
        import threading

        from events_helpers import Request, _free_port

        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                status, out, _ = endpoint._next(req.path)
                endpoint._record(req)
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.port = _free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self


def fast_retry_policy(retries=3, delay=1, max_delay=None):
    """A subscription DeliveryPolicy whose retries come `delay` seconds apart."""
    return {
        "healthyRetryPolicy": {
            "minDelayTarget": delay,
            "maxDelayTarget": max_delay or delay,
            "numRetries": retries,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "numMaxDelayRetries": 0,
            "backoffFunction": "linear",
        }
    }


__all__ = [
    "ACCOUNT",
    "ClosingEndpoint",
    "REGION",
    "SLOW",
    "HttpEndpoint",
    "attr",
    "err",
    "fast_retry_policy",
    "fetch_cert",
    "http_endpoint",
    "http_messages",
    "http_subscribe",
    "make_client",
    "make_queue",
    "make_sns_client",
    "new_topic",
    "nothing_on",
    "notifications",
    "queue_arn",
    "raw_sns",
    "receive",
    "sns",
    "status",
    "string_to_sign",
    "subscribe_queue",
    "tampered",
    "topic_arn",
    "topic_with_queues",
    "unique",
    "verify_signature",
    "wait_for",
    "wait_http",
]
