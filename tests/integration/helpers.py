"""Helpers shared by the Sluice SQS integration suites: the server process, boto3 clients,
SQS digests and raw HTTP requests."""

import hashlib
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLUICED = os.path.abspath(os.environ.get("SLUICED", os.path.join(ROOT, "build", "sluiced")))
SANITIZED = os.environ.get("SLUICE_SANITIZED", "") not in ("", "0")
# Timing slack: the sanitized server is several times slower, and the plain and sanitized
# runs share the machine's two cores.
SLOW = 3.0 if SANITIZED else 1.0
ACCOUNT = "000000000000"
REGION = "us-east-1"


# --------------------------------------------------------------------------- the server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One sluiced process over one data dir. `restart_after_kill` keeps dir and port."""

    def __init__(self, data_dir, durability="full", extra_args=()):
        if not os.access(SLUICED, os.X_OK):
            pytest.fail("no sluiced binary at %s (set SLUICED)" % SLUICED)
        self.data_dir = data_dir
        self.durability = durability
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.generation = 0
        self.log_path = None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def queue_url(self, name, host=None):
        return "http://%s/%s/%s" % (host or "127.0.0.1:%d" % self.port, ACCOUNT, name)

    def arn(self, name):
        return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)

    def start(self, port=None):
        attempts = 1 if port else 5
        last = ""
        for _ in range(attempts):
            self.port = port or free_port()
            self.generation += 1
            self.log_path = os.path.join(self.data_dir, "..", "sluiced-%d.log" % self.generation)
            log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                [
                    SLUICED,
                    "--bind", "127.0.0.1",
                    "--port", str(self.port),
                    "--data-dir", self.data_dir,
                    "--region", REGION,
                    "--account-id", ACCOUNT,
                    "--durability", self.durability,
                    "--log-level", "info",
                ] + self.extra_args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            if self._wait_healthy(port is not None):
                return self
            last = self.log_tail()
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        pytest.fail("sluiced did not become healthy on %s:\n%s" % (self.endpoint, last))

    def _wait_healthy(self, fixed_port):
        # A restart on a fixed port may race the kernel releasing it: keep trying to start.
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if fixed_port and time.monotonic() < deadline - 1:
                    log = open(self.log_path, "ab")
                    time.sleep(0.2)
                    self.proc = subprocess.Popen(
                        self.proc.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                    )
                    log.close()
                    continue
                return False
            try:
                status, body = self.health()
                if status == 200:
                    json.loads(body)
                    return True
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        return False

    def health(self):
        with urllib.request.urlopen(self.endpoint + "/_sluice/health", timeout=5) as r:
            return r.status, r.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart_after_kill(self):
        """SIGKILL the server and start it again on the same data dir and port."""
        self.kill()
        return self.start(port=self.port)

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------- clients


def cli_env(home):
    """The environment of an AWS CLI run against a local server: test credentials, the
    region, no pager or metadata lookups, config files under `home`, one attempt."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
        "AWS_CONFIG_FILE": os.path.join(home, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "LC_ALL": "C.UTF-8",
    }


def client_config(**kw):
    base = dict(
        retries={"total_max_attempts": 1},  # never hide a failure behind a retry
        connect_timeout=5,
        read_timeout=40,
        max_pool_connections=20,
    )
    base.update(kw)
    return botocore.config.Config(**base)


def make_client(endpoint, service="sqs", **cfg):
    """A boto3 client of `service` (SQS by default) on a Sluice endpoint."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(**cfg),
    )


def unique(prefix="q"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


# --------------------------------------------------------------------------- helpers


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def http_status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def md5_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def md5_of_attributes(attributes):
    """The digest SQS returns as MD5OfMessageAttributes (and MD5OfMessageSystemAttributes):
    for each attribute in name order: len+name, len+DataType, a transport byte (1 string,
    2 binary), len+value; lengths are 4-byte big-endian."""
    out = bytearray()

    def put(b):
        out.extend(struct.pack(">I", len(b)))
        out.extend(b)

    for name in sorted(attributes):
        a = attributes[name]
        put(name.encode("utf-8"))
        put(a["DataType"].encode("utf-8"))
        if "StringValue" in a:
            out.append(1)
            put(a["StringValue"].encode("utf-8"))
        else:
            out.append(2)
            v = a["BinaryValue"]
            put(v if isinstance(v, (bytes, bytearray)) else bytes(v))
    return hashlib.md5(bytes(out)).hexdigest()


def receive_all(sqs, url, expected, wait=1, max_rounds=30, **kw):
    """Receive until `expected` messages arrived (or rounds run out); deletes nothing."""
    got = []
    for _ in range(max_rounds):
        r = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(10, max(1, expected - len(got))), WaitTimeSeconds=wait, **kw
        )
        got.extend(r.get("Messages", []))
        if len(got) >= expected:
            break
    return got


def drain(sqs, url, wait=1, idle_rounds=1, max_rounds=500, **kw):
    """Receive and delete until `idle_rounds` consecutive empty receives; returns messages."""
    got = []
    idle = 0
    for _ in range(max_rounds):
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, **kw)
        msgs = r.get("Messages", [])
        if not msgs:
            idle += 1
            if idle >= idle_rounds:
                break
            continue
        idle = 0
        got.extend(msgs)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
        )
    return got


def queue_attrs(sqs, url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])["Attributes"]


def counts(sqs, url):
    a = queue_attrs(
        sqs,
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )


def raw_request(endpoint, body=b"", headers=None, method="POST", path="/", sign=True, timeout=10):
    """Send one HTTP request (optionally SigV4-signed as SQS) and return (status, headers, body)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = dict(headers or {})
    if sign:
        req = botocore.awsrequest.AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
        creds = botocore.credentials.Credentials("test", "test")
        botocore.auth.SigV4Auth(creds, "sqs", REGION).add_auth(req)
        headers = dict(req.headers.items())
    host = endpoint.split("//", 1)[1]
    h, p = host.rsplit(":", 1)
    conn = http.client.HTTPConnection(h, int(p), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw_query(endpoint, params, sign=True, path="/"):
    """A raw AWS Query request (form POST)."""
    body = params if isinstance(params, (str, bytes)) else urllib.parse.urlencode(params)
    return raw_request(
        endpoint,
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=sign,
        path=path,
    )


def raw_json(endpoint, op, payload, sign=True):
    """A raw AWS JSON 1.0 request."""
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return raw_request(
        endpoint,
        body,
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + op},
        sign=sign,
    )


def xml_error(body):
    """Parse an AWS Query XML error: returns (Type, Code, Message)."""
    root = ET.fromstring(body)

    def local(tag):
        return tag.rsplit("}", 1)[-1]

    assert local(root.tag) == "ErrorResponse", body
    err = next(e for e in root if local(e.tag) == "Error")
    fields = {local(e.tag): (e.text or "") for e in err}
    return fields.get("Type"), fields.get("Code"), fields.get("Message")


def collect_markers(endpoint, url, key, expected, settle=1.0, readers=2, timeout=40):
    """Every message on the queue, read by `readers` clients in parallel and left invisible
    (not deleted) so each is read once, until every marker in `expected` arrived and the queue
    stayed empty for `settle` s, or `timeout` (x SLOW) passed. key(body) is a message's marker.
    Returns {marker: times read}: a crash test asserts each expected one was read once."""
    seen = {}
    lock = threading.Lock()
    done = threading.Event()
    deadline = time.monotonic() + timeout * SLOW
    state = {"quiet_since": None}

    def reader():
        c = make_client(endpoint)
        while not done.is_set() and time.monotonic() < deadline:
            msgs = c.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=600
            ).get("Messages", [])
            with lock:
                for m in msgs:
                    k = key(m["Body"])
                    seen[k] = seen.get(k, 0) + 1
                if msgs:
                    state["quiet_since"] = None
                elif expected <= set(seen):
                    state["quiet_since"] = state["quiet_since"] or time.monotonic()
                    if time.monotonic() - state["quiet_since"] >= settle:
                        done.set()
            if not msgs:
                time.sleep(0.05)

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen
