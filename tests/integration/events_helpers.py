"""Helpers shared by the Sluice EventBridge integration suites (test_events_*.py).

- EventBridge clients (boto3, AWS JSON 1.1) and raw signed requests for operations the
  installed botocore does not model;
- queues as targets: create, read the events that reached them;
- HttpEndpoint: a local threaded HTTP server standing in for an API destination. It
  records every request (method, path, query, headers, body, arrival time) and answers
  with scripted statuses, optional delays, and OAuth token responses;
- the seeds' event shapes (tests/../shared/seeds: orders, payments, inventory, users) and
  their routing (order.* -> inventory, payment.* -> payments, *.failed -> alerts).

Test modules import the fixtures they use from here (`from events_helpers import events`).
"""

import base64
import datetime
import http.client
import http.server
import json
import socket
import threading
import time
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from helpers import ACCOUNT, REGION, SLOW, make_client, unique

# --------------------------------------------------------------------------- clients


def make_events_client(endpoint, **cfg):
    return make_client(endpoint, "events", **cfg)


@pytest.fixture(scope="module")
def events(server):
    """An EventBridge client on the module's server."""
    return make_events_client(server.endpoint)


@pytest.fixture
def http_endpoint():
    """A fresh recording HTTP endpoint for one test."""
    ep = HttpEndpoint().start()
    yield ep
    ep.stop()


def raw_events(endpoint, op, payload, timeout=10):
    """One signed AWS JSON 1.1 request (X-Amz-Target AWSEvents.<op>); returns (status, json)."""
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents." + op}
    req = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "events", REGION).add_auth(req)
    host, port = endpoint.split("//", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else {})
    finally:
        conn.close()


# --------------------------------------------------------------------------- ARNs


def bus_arn(name="default"):
    return "arn:aws:events:%s:%s:event-bus/%s" % (REGION, ACCOUNT, name)


def rule_arn(name, bus="default"):
    if bus == "default":
        return "arn:aws:events:%s:%s:rule/%s" % (REGION, ACCOUNT, name)
    return "arn:aws:events:%s:%s:rule/%s/%s" % (REGION, ACCOUNT, bus, name)


def archive_arn(name):
    return "arn:aws:events:%s:%s:archive/%s" % (REGION, ACCOUNT, name)


def queue_arn_of(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


def err(excinfo):
    """(Code, Message) of a botocore ClientError."""
    e = excinfo.value.response["Error"]
    return e.get("Code"), e.get("Message")


# --------------------------------------------------------------------------- queues


def new_queue(sqs, prefix="evq", fifo=False, **attributes):
    """Creates a queue; returns (url, arn)."""
    name = unique(prefix) + (".fifo" if fifo else "")
    attrs = {k: str(v) for k, v in attributes.items()}
    if fifo:
        attrs["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return url, queue_arn_of(name)


def receive(sqs, url, n, timeout=10.0, delete=True, **kw):
    """Receives (and deletes) until n messages arrived or `timeout` (x SLOW) passed."""
    got = []
    deadline = time.monotonic() + timeout * SLOW
    while len(got) < n and time.monotonic() < deadline:
        r = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            **kw,
        )
        msgs = r.get("Messages", [])
        got.extend(msgs)
        if msgs and delete:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
            )
    return got


def receive_events(sqs, url, n, timeout=10.0):
    """The JSON bodies of n messages (asserts that n arrived)."""
    msgs = receive(sqs, url, n, timeout)
    assert len(msgs) >= n, "expected %d messages on %s, got %d: %s" % (n, url, len(msgs), [m["Body"] for m in msgs])
    return [json.loads(m["Body"]) for m in msgs]


def assert_empty(sqs, url, wait=1.0):
    """Nothing (more) arrives on the queue within `wait` seconds (x SLOW)."""
    extra = receive(sqs, url, 1, timeout=wait)
    assert extra == [], "unexpected messages on %s: %s" % (url, [m["Body"] for m in extra])


def attr(msg, name):
    """A message attribute's string value, or None."""
    a = msg.get("MessageAttributes", {}).get(name)
    return a.get("StringValue") if a else None


# --------------------------------------------------------------------------- PutEvents


def put_ok(events_client, entries):
    """PutEvents that must accept every entry; returns the EventIds in entry order."""
    r = events_client.put_events(Entries=entries)
    assert r["FailedEntryCount"] == 0, r["Entries"]
    assert len(r["Entries"]) == len(entries)
    return [e["EventId"] for e in r["Entries"]]


def entry(source, detail_type, detail, bus=None, **kw):
    e = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
    if bus:
        e["EventBusName"] = bus
    e.update(kw)
    return e


def iso_seconds(s):
    """Parses AWS's event time ("2024-01-15T10:30:00Z") to an aware datetime."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def wait_for_second_boundary(margin=0.25):
    """Sleeps into the next whole second (plus margin); returns that second as a datetime.

    Replay windows are whole seconds on the wire (botocore sends integer epoch seconds), so
    tests put events on either side of a boundary to place them in or out of a window."""
    now = time.time()
    boundary = int(now) + 1
    time.sleep(boundary - now + margin)
    return datetime.datetime.fromtimestamp(boundary, tz=datetime.timezone.utc)


# --------------------------------------------------------------------------- the seeds


def order_created(order_id="ord_67890", total=59.98, bus=None, **extra):
    """The seeds' order.created (002): the order service's domain event as the detail."""
    detail = {
        "orderId": order_id,
        "customerId": "cust_111",
        "items": [{"productId": "prod_222", "quantity": 2, "price": 29.99}],
        "total": total,
        "metadata": {"correlationId": "corr_abc123", "causationId": "evt_00000", "userId": "user_456"},
    }
    detail.update(extra)
    return entry("order-service", "order.created", detail, bus)


def order_event(kind, order_id="ord_67890", bus=None):
    """order.cancelled, order.paid, order.shipped ... from the seeds' event catalog."""
    return entry(
        "order-service",
        "order." + kind,
        {"orderId": order_id, "customerId": "cust_111", "metadata": {"correlationId": "corr_" + order_id}},
        bus,
    )


def payment_event(kind, order_id="ord_67890", amount=59.98, bus=None):
    """payment.processed / payment.completed / payment.failed (seeds 001, 002)."""
    detail = {"paymentId": "pay_" + order_id, "orderId": order_id, "amount": amount, "currency": "USD"}
    if kind == "failed":
        detail["reason"] = "card_declined"
    return entry("payment-service", "payment." + kind, detail, bus)


def inventory_event(kind, bus=None):
    return entry("inventory-service", "inventory." + kind, {"productId": "prod_222", "quantity": 2}, bus)


def user_registered(bus=None):
    return entry("user-service", "user.registered", {"userId": "user_456", "email": "u@example.com"}, bus)


def seed004_order_created(order_id="ORD-001", bus=None):
    """Seed 004's `aws events put-events` Order Created entry."""
    return entry(
        "orders",
        "Order Created",
        {
            "order_id": order_id,
            "customer_id": "CUST-001",
            "items": [{"item_id": "ITEM-001", "quantity": 2, "price": 29.99}],
            "total": 59.98,
            "timestamp": "2024-01-15T10:00:00Z",
        },
        bus,
    )


# Seed 002's three rules: order.* to the inventory service, payment.* to another queue,
# *.failed to an alerts queue.
SEED_PATTERNS = {
    "inventory": {"detail-type": [{"prefix": "order."}]},
    "payments": {"detail-type": [{"prefix": "payment."}]},
    "alerts": {"detail-type": [{"wildcard": "*.failed"}]},
}


def seed_routes(detail_type):
    """The queues (names of SEED_PATTERNS) an event of this detail-type must reach."""
    out = set()
    if detail_type.startswith("order."):
        out.add("inventory")
    if detail_type.startswith("payment."):
        out.add("payments")
    if detail_type.endswith(".failed"):
        out.add("alerts")
    return out


def setup_seed_routing(events_client, sqs, bus=None):
    """A bus (created unless None = default) with the seeds' three rules, each to its own
    queue. Returns {"bus": name, "queues": {name: (url, arn)}, "rules": {name: rule ARN}}."""
    if bus:
        events_client.create_event_bus(Name=bus)
    b = bus or "default"
    queues, rules = {}, {}
    for name, pattern in SEED_PATTERNS.items():
        url, arn = new_queue(sqs, name)
        rname = unique("seed-" + name)
        kw = {"EventBusName": b} if bus else {}
        rules[name] = events_client.put_rule(Name=rname, EventPattern=json.dumps(pattern), **kw)["RuleArn"]
        r = events_client.put_targets(Rule=rname, Targets=[{"Id": name, "Arn": arn}], **kw)
        assert r["FailedEntryCount"] == 0, r
        queues[name] = (url, arn)
    return {"bus": b, "queues": queues, "rules": rules}


# --------------------------------------------------------------------------- HTTP endpoint


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Request:
    def __init__(self, method, target, headers, body):
        parsed = urllib.parse.urlsplit(target)
        self.method = method
        self.path = parsed.path
        self.query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.raw_query = parsed.query
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.t = time.monotonic()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%s %s %r>" % (self.method, self.path, self.body[:200])


class HttpEndpoint:
    """A local HTTP server that records requests and answers from a script.

    `script(path_prefix, *responses)` queues responses for requests whose path starts with
    path_prefix; each response is a status or (status, body) or (status, body, delay_s) or
    (status, body, delay_s, headers) (headers: a dict added to, or replacing, the default
    Content-Type: application/json). Unscripted requests get `default` (200, '{}').
    `oauth(path, token, client=None)` answers a client-credentials token request at path
    (with client=(id, secret): only one that authenticates as that client, else 401).
    `require(path_prefix, header, value)`: requests under path_prefix without that header
    value are answered 401 (and recorded)."""

    def __init__(self):
        self.requests = []
        self.cond = threading.Condition()
        self.scripts = []  # [(prefix, [responses])]
        self.tokens = {}  # path -> (token, expires_in)
        self.default = (200, b"{}", 0, {})
        self.required = []  # [(prefix, lower-case header, value)]
        self.port = None
        self.httpd = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def url(self, path):
        return self.base + path

    def script(self, prefix, *responses):
        norm = []
        for r in responses:
            if isinstance(r, int):
                r = (r,)
            status = r[0]
            body = r[1] if len(r) > 1 else b"{}"
            delay = r[2] if len(r) > 2 else 0
            headers = r[3] if len(r) > 3 else {}
            norm.append((status, body if isinstance(body, bytes) else body.encode(), delay, headers))
        with self.cond:
            self.scripts.append((prefix, norm))

    def always(self, status, body=b"{}", delay=0):
        self.default = (status, body, delay, {})

    def oauth(self, path, token, expires_in=3600, client=None):
        self.tokens[path] = (token, expires_in, client)

    def require(self, prefix, header, value):
        with self.cond:
            self.required.append((prefix, header.lower(), value))

    def _next(self, path):
        """(status, body, delay) of the next response at path (no header checks)."""
        return self._respond(path, None)[:3]

    def _respond(self, path, headers):
        """(status, body, delay, extra headers) for a request with these (lower-case) headers
        (None: not checked)."""
        with self.cond:
            if path in self.tokens:
                tok, exp, client = self.tokens[path]
                if client and headers is not None and headers.get("authorization") != basic_header(*client):
                    return 401, b'{"error":"invalid_client"}', 0, {}
                body = json.dumps({"access_token": tok, "token_type": "Bearer", "expires_in": exp})
                return 200, body.encode(), 0, {}
            for prefix, name, value in self.required:
                if headers is not None and path.startswith(prefix) and headers.get(name) != value:
                    return 401, b'{"message":"Unauthorized"}', 0, {}
            for prefix, responses in self.scripts:
                if path.startswith(prefix) and responses:
                    return responses.pop(0)
            return self.default

    def _record(self, req):
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()

    def wait(self, n, timeout=10.0, prefix="/"):
        """Waits for n requests under prefix; returns them (maybe fewer on timeout)."""
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while True:
                got = [r for r in self.requests if r.path.startswith(prefix)]
                left = deadline - time.monotonic()
                if len(got) >= n or left <= 0:
                    return got
                self.cond.wait(left)

    def received(self, prefix="/"):
        with self.cond:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def start(self):
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                status, out, delay, extra = endpoint._respond(req.path, req.headers)
                endpoint._record(req)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    headers = {"Content-Type": "application/json"}
                    headers.update(extra)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(out)
                except OSError:
                    pass  # the caller gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

            def log_message(self, *args):
                pass

        self.port = _free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


# --------------------------------------------------------------------------- API destinations


def create_destination(events_client, endpoint_url, auth="API_KEY", method="POST", rate=None, auth_params=None):
    """A connection and an API destination on it; returns (connection_arn, destination_arn)."""
    if auth_params is None:
        auth_params = {
            "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}},
            "BASIC": {"BasicAuthParameters": {"Username": "sluice", "Password": "p@ss:word"}},
        }[auth]
    conn = events_client.create_connection(Name=unique("conn"), AuthorizationType=auth, AuthParameters=auth_params)
    kw = {"InvocationRateLimitPerSecond": rate} if rate else {}
    dest = events_client.create_api_destination(
        Name=unique("dest"),
        ConnectionArn=conn["ConnectionArn"],
        InvocationEndpoint=endpoint_url,
        HttpMethod=method,
        **kw,
    )
    return conn["ConnectionArn"], dest["ApiDestinationArn"]


def basic_header(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


__all__ = [
    "ACCOUNT",
    "REGION",
    "SLOW",
    "HttpEndpoint",
    "archive_arn",
    "assert_empty",
    "attr",
    "basic_header",
    "bus_arn",
    "create_destination",
    "entry",
    "err",
    "events",
    "http_endpoint",
    "inventory_event",
    "iso_seconds",
    "make_client",
    "make_events_client",
    "new_queue",
    "order_created",
    "order_event",
    "payment_event",
    "put_ok",
    "queue_arn_of",
    "raw_events",
    "receive",
    "receive_events",
    "rule_arn",
    "seed004_order_created",
    "seed_routes",
    "setup_seed_routing",
    "unique",
    "user_registered",
    "wait_for_second_boundary",
]
