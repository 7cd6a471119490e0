"""API destinations (HTTP targets) against a local recording endpoint: what EventBridge
sends (method, path parameters, query and header parameters, connection auth: API key,
Basic, OAuth client credentials), input transformation, the invocation rate limit, and
failure handling as AWS documents it: 429, 5xx, transport errors and timeouts are retried
with exponential backoff; other 4xx are not; a delivery that cannot succeed goes to the
target's dead-letter queue with the original event and RULE_ARN, TARGET_ARN, ERROR_CODE,
ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS attributes."""

import json
import time

import pytest

from events_helpers import (  # noqa: F401 - fixtures
    SLOW,
    assert_empty,
    attr,
    basic_header,
    create_destination,
    events,
    http_endpoint,
    new_queue,
    order_created,
    payment_event,
    put_ok,
    receive,
    rule_arn,
    unique,
)


def _route(events, dest_arn, pattern=None, **target_extra):
    """A bus with one rule whose only target is the API destination; returns (bus, rule)."""
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    name = unique("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern or {"source": ["order-service"]}))
    target = {"Id": "http", "Arn": dest_arn}
    target.update(target_extra)
    r = events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    assert r["FailedEntryCount"] == 0, r
    return bus, name


def _put(events, bus, e=None):
    e = dict(e or order_created())
    e["EventBusName"] = bus
    (eid,) = put_ok(events, [e])
    return eid


# --------------------------------------------------------------------------- what is sent


def test_api_key_destination_gets_the_event_with_its_parameters(events, http_endpoint):
    conn = events.create_connection(
        Name=unique("conn"),
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "X-Conn-Header", "Value": "from-connection", "IsValueSecret": False}],
                "QueryStringParameters": [{"Key": "region", "Value": "eu", "IsValueSecret": False}],
            },
        },
    )["ConnectionArn"]
    dest = events.create_api_destination(
        Name=unique("dest"),
        ConnectionArn=conn,
        InvocationEndpoint=http_endpoint.url("/orders/*/events"),
        HttpMethod="POST",
    )["ApiDestinationArn"]
    bus, _ = _route(
        events,
        dest,
        HttpParameters={
            "PathParameterValues": ["ord_67890"],
            "HeaderParameters": {"X-Correlation-Id": "corr_abc123"},
            "QueryStringParameters": {"tenant": "acme"},
        },
    )
    eid = _put(events, bus)
    (req,) = http_endpoint.wait(1)
    assert req.method == "POST"
    assert req.path == "/orders/ord_67890/events"
    assert req.query == {"tenant": "acme", "region": "eu"}
    assert req.headers.get("x-api-key") == "s3cret"
    assert req.headers.get("x-correlation-id") == "corr_abc123"
    assert req.headers.get("x-conn-header") == "from-connection"
    assert req.headers.get("content-type", "").startswith("application/json")
    body = req.json()
    assert body["id"] == eid
    assert body["detail-type"] == "order.created"
    assert body["detail"]["orderId"] == "ord_67890"


def test_basic_auth_destination_sends_an_authorization_header(events, http_endpoint):
    _, dest = create_destination(events, http_endpoint.url("/hooks/payments"), auth="BASIC", method="PUT")
    bus, _ = _route(events, dest, {"source": ["payment-service"]})
    eid = _put(events, bus, payment_event("processed"))
    (req,) = http_endpoint.wait(1)
    assert req.method == "PUT"
    assert req.path == "/hooks/payments"
    assert req.headers.get("authorization") == basic_header("sluice", "p@ss:word")
    assert req.json()["id"] == eid


def test_oauth_client_credentials_destination_uses_a_bearer_token(events, http_endpoint):
    http_endpoint.oauth("/oauth/token", "tok-123")
    conn = events.create_connection(
        Name=unique("conn"),
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": http_endpoint.url("/oauth/token"),
                "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "client-id", "ClientSecret": "client-secret"},
                "OAuthHttpParameters": {
                    "BodyParameters": [{"Key": "scope", "Value": "orders", "IsValueSecret": False}]
                },
            }
        },
    )["ConnectionArn"]
    dest = events.create_api_destination(
        Name=unique("dest"), ConnectionArn=conn, InvocationEndpoint=http_endpoint.url("/api/orders"), HttpMethod="POST"
    )["ApiDestinationArn"]
    bus, _ = _route(events, dest)
    eids = [_put(events, bus, order_created("o1")), _put(events, bus, order_created("o2"))]
    calls = http_endpoint.wait(2, prefix="/api/")
    assert sorted(c.json()["id"] for c in calls) == sorted(eids)
    for c in calls:
        assert c.headers.get("authorization") == "Bearer tok-123"
    tokens = http_endpoint.received("/oauth/")
    assert 1 <= len(tokens) <= 2
    t = tokens[0]
    assert t.method == "POST"
    # The client credentials reach the authorization endpoint (Basic auth or form fields).
    form = dict(x.split("=", 1) for x in t.body.decode().split("&") if "=" in x)
    assert t.headers.get("authorization") == basic_header("client-id", "client-secret") or (
        form.get("client_id") == "client-id" and form.get("client_secret") == "client-secret"
    )
    assert form.get("scope") == "orders"


def test_input_transformer_shapes_the_request_body(events, http_endpoint):
    _, dest = create_destination(events, http_endpoint.url("/notify"))
    bus, _ = _route(
        events,
        dest,
        InputTransformer={
            "InputPathsMap": {"order": "$.detail.orderId", "total": "$.detail.total"},
            "InputTemplate": '{"text": "Order <order> placed", "amount": <total>}',
        },
    )
    _put(events, bus)
    (req,) = http_endpoint.wait(1)
    assert req.json() == {"text": "Order ord_67890 placed", "amount": 59.98}


def test_invocation_rate_limit_spaces_requests(events, http_endpoint):
    _, dest = create_destination(events, http_endpoint.url("/slow"), rate=1)
    bus, _ = _route(events, dest)
    put_ok(events, [dict(order_created("o%d" % i), EventBusName=bus) for i in range(4)])
    reqs = http_endpoint.wait(4, timeout=15)
    assert len(reqs) == 4
    span = reqs[-1].t - reqs[0].t
    # One invocation per second: four need at least three second boundaries.
    assert span >= 1.9, "4 requests within %.2f s at 1/s" % span


# --------------------------------------------------------------------------- failures


def test_5xx_and_429_are_retried_with_backoff_until_delivered(events, sqs, http_endpoint):
    http_endpoint.script("/flaky", 500, 429, 503, 200)
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    _, dest = create_destination(events, http_endpoint.url("/flaky"))
    bus, _ = _route(events, dest, DeadLetterConfig={"Arn": dlq_arn})
    eid = _put(events, bus)
    reqs = http_endpoint.wait(4, timeout=20)
    assert len(reqs) == 4
    assert {r.json()["id"] for r in reqs} == {eid}
    gaps = [b.t - a.t for a, b in zip(reqs, reqs[1:])]
    # Exponential backoff from ~1 s with jitter: waits of about 1, 2, 4 s, each at least half.
    assert gaps[0] >= 0.4, gaps
    assert gaps[1] >= 0.9, gaps
    assert gaps[2] >= 1.9, gaps
    assert gaps[2] > gaps[0], gaps
    time.sleep(1.0)
    assert len(http_endpoint.received()) == 4  # delivered: no more attempts
    assert_empty(sqs, dlq_url, wait=0.5)


def test_failing_target_is_dead_lettered_with_the_original_event(events, sqs, http_endpoint):
    http_endpoint.always(503)
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    _, dest = create_destination(events, http_endpoint.url("/down"))
    bus, rule = _route(
        events,
        dest,
        RetryPolicy={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        DeadLetterConfig={"Arn": dlq_arn},
        # the DLQ gets the original event, not what the target was sent
        InputTransformer={"InputPathsMap": {"o": "$.detail.orderId"}, "InputTemplate": '{"order": <o>}'},
    )
    eid = _put(events, bus)
    (m,) = receive(sqs, dlq_url, 1, timeout=15)
    body = json.loads(m["Body"])
    assert body["id"] == eid
    assert body["detail-type"] == "order.created"
    assert body["detail"]["orderId"] == "ord_67890"
    assert attr(m, "RULE_ARN") == rule_arn(rule, bus)
    assert attr(m, "TARGET_ARN") == dest
    assert attr(m, "ERROR_CODE")
    assert attr(m, "ERROR_MESSAGE")
    assert attr(m, "EXHAUSTED_RETRY_CONDITION") == "MaximumRetryAttempts"
    assert attr(m, "RETRY_ATTEMPTS") == "2"
    reqs = http_endpoint.received()
    assert len(reqs) == 3  # the first attempt and two retries
    assert reqs[0].json() == {"order": "ord_67890"}
    time.sleep(1.0)
    assert len(http_endpoint.received()) == 3
    assert_empty(sqs, dlq_url, wait=0.3)


@pytest.mark.parametrize("status", [400, 401, 404])
def test_other_4xx_are_not_retried(events, sqs, http_endpoint, status):
    http_endpoint.always(status)
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    _, dest = create_destination(events, http_endpoint.url("/bad"))
    bus, rule = _route(events, dest, DeadLetterConfig={"Arn": dlq_arn})
    eid = _put(events, bus)
    (m,) = receive(sqs, dlq_url, 1, timeout=10)
    assert json.loads(m["Body"])["id"] == eid
    assert attr(m, "RULE_ARN") == rule_arn(rule, bus)
    assert attr(m, "TARGET_ARN") == dest
    assert attr(m, "ERROR_CODE")
    assert attr(m, "EXHAUSTED_RETRY_CONDITION") is None
    assert attr(m, "RETRY_ATTEMPTS") == "0"
    time.sleep(1.5)
    assert len(http_endpoint.received()) == 1


def test_unreachable_endpoint_is_retried_then_dead_lettered(events, sqs, http_endpoint):
    http_endpoint.stop()  # nothing listens on its port any more
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    _, dest = create_destination(events, http_endpoint.url("/gone"))
    bus, _ = _route(
        events,
        dest,
        RetryPolicy={"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60},
        DeadLetterConfig={"Arn": dlq_arn},
    )
    t0 = time.monotonic()
    eid = _put(events, bus)
    (m,) = receive(sqs, dlq_url, 1, timeout=10)
    assert time.monotonic() - t0 >= 0.4  # one backoff happened
    assert json.loads(m["Body"])["id"] == eid
    assert attr(m, "EXHAUSTED_RETRY_CONDITION") == "MaximumRetryAttempts"
    assert attr(m, "RETRY_ATTEMPTS") == "1"


@pytest.mark.sluice_timeout(60)
def test_endpoint_slower_than_5_s_times_out(events, sqs, http_endpoint):
    http_endpoint.always(200, b"{}", delay=8)
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    _, dest = create_destination(events, http_endpoint.url("/sleepy"))
    bus, _ = _route(
        events,
        dest,
        RetryPolicy={"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
        DeadLetterConfig={"Arn": dlq_arn},
    )
    t0 = time.monotonic()
    eid = _put(events, bus)
    (m,) = receive(sqs, dlq_url, 1, timeout=12)
    waited = time.monotonic() - t0
    assert 4.5 <= waited <= 7.5 * SLOW, "dead-lettered after %.1f s" % waited
    assert json.loads(m["Body"])["id"] == eid
    assert attr(m, "EXHAUSTED_RETRY_CONDITION") == "MaximumRetryAttempts"
    assert attr(m, "RETRY_ATTEMPTS") == "0"
    assert len(http_endpoint.received()) == 1


def test_deleted_api_destination_dead_letters(events, sqs, http_endpoint):
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    _, dest = create_destination(events, http_endpoint.url("/x"))
    bus, _ = _route(events, dest, DeadLetterConfig={"Arn": dlq_arn})
    events.delete_api_destination(Name=dest.split("/")[1])
    eid = _put(events, bus)
    (m,) = receive(sqs, dlq_url, 1, timeout=10)
    assert json.loads(m["Body"])["id"] == eid
    assert attr(m, "TARGET_ARN") == dest
    assert attr(m, "ERROR_CODE")
    assert attr(m, "EXHAUSTED_RETRY_CONDITION") is None
    assert http_endpoint.received() == []
