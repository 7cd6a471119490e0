"""Shared fixtures for the Sluice SQS integration suites.

Each test module gets its own freshly started `sluiced` (a free port, a temporary data
dir); tests whose assertions depend on server-wide state (restarts, crashes) start their
own with `fresh_server`. Servers are stopped with SIGTERM and must exit 0 within 10 s.

Every test runs under a per-phase SIGALRM deadline (see `pytest_runtest_call`), scaled up
when the server under test is the sanitized build (SLUICE_SANITIZED=1).

Run with Debian's interpreter (/usr/bin/python3): that is where boto3 1.26 lives.
"""

import os
import shutil
import signal
import tempfile

import pytest

import helpers
from helpers import SLOW, Server, make_client

DEFAULT_TEST_TIMEOUT = 60
SETUP_TIMEOUT = 60
TEARDOWN_TIMEOUT = 30


# --------------------------------------------------------------------------- timeouts


class PhaseTimeout(Exception):
    """Raised in the main thread when a test phase overruns its deadline."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sluice_timeout(seconds): per-test deadline (default %d s)" % DEFAULT_TEST_TIMEOUT
    )


def _with_alarm(seconds, what):
    def handler(signum, frame):
        raise PhaseTimeout("%s exceeded %.0f s" % (what, seconds))

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return old


def _clear_alarm(old):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    old = _with_alarm(SETUP_TIMEOUT * SLOW, "setup of %s" % item.nodeid)
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("sluice_timeout")
    seconds = marker.args[0] if marker else DEFAULT_TEST_TIMEOUT
    old = _with_alarm(seconds * SLOW, item.nodeid)
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    old = _with_alarm(TEARDOWN_TIMEOUT * SLOW, "teardown of %s" % item.nodeid)
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tail of the server's log (and whether it is still alive)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    for name in ("server", "fresh_server"):
        srv = getattr(item, "funcargs", {}).get(name)
        if srv is not None and srv.proc is not None:
            state = "running" if srv.alive() else "EXITED with %s" % srv.proc.returncode
            rep.sections.append(("sluiced (%s, %s) log tail" % (name, state), srv.log_tail(40)))


def _stop_checked(server):
    if server.proc is None:
        return
    died_before = server.proc.poll()
    rc = server.stop()
    if died_before is not None and died_before != 0:
        pytest.fail("sluiced had already exited with %s:\n%s" % (died_before, server.log_tail()))
    if rc != 0:
        pytest.fail(
            "sluiced did not exit 0 within 10 s of SIGTERM (rc=%s):\n%s" % (rc, server.log_tail())
        )


@pytest.fixture(scope="module")
def server():
    """A sluiced for the whole test module."""
    tmp = tempfile.mkdtemp(prefix="sluice-it-")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    s = Server(data).start()
    yield s
    _stop_checked(s)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def fresh_server_factory():
    """Start servers whose state belongs to one test: factory(durability='full')."""
    made = []
    tmps = []

    def make(durability="full", extra_args=()):
        tmp = tempfile.mkdtemp(prefix="sluice-it-")
        tmps.append(tmp)
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        s = Server(data, durability=durability, extra_args=extra_args).start()
        made.append(s)
        return s

    yield make
    for s in made:
        _stop_checked(s)
    for t in tmps:
        shutil.rmtree(t, ignore_errors=True)


@pytest.fixture
def fresh_server(fresh_server_factory):
    return fresh_server_factory()


@pytest.fixture(scope="module")
def sqs(server):
    return make_client(server.endpoint)


@pytest.fixture
def new_queue(sqs):
    """new_queue(prefix='q', fifo=False, **attributes) -> (name, url)."""

    def make(prefix="q", fifo=False, tags=None, **attributes):
        name = helpers.unique(prefix) + (".fifo" if fifo else "")
        attrs = {k: str(v) for k, v in attributes.items()}
        if fifo:
            attrs["FifoQueue"] = "true"
        kw = {"QueueName": name, "Attributes": attrs}
        if tags:
            kw["tags"] = tags
        url = sqs.create_queue(**kw)["QueueUrl"]
        return name, url

    return make


