"""Step Functions HTTP Tasks (arn:aws:states:::http:invoke) against a local HTTP server that
checks the authorization it receives: connections with an API key, Basic credentials and
OAuth client credentials (the token endpoint on the same server); what is sent (method,
URL with query parameters, headers, JSON or URL-encoded bodies, the connection's parameters
winning over the Task's, User-Agent and Range); the result (Headers, ResponseBody parsed or
text, StatusCode, StatusText) and the history events (resourceType "http", resource
"invoke"); errors as AWS documents them: States.Http.StatusCode.NNN (caught, retried),
States.Http.Socket, States.Runtime, Events.ConnectionResource.*; and the definitions that
CreateStateMachine rejects."""

import json
import socket
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from events_helpers import basic_header, http_endpoint  # noqa: F401 - fixture
from helpers import REGION, error_code, make_client, unique
from sfn_helpers import history, run, wait_done
from sfn_helpers import create_machine as machine

INVOKE = "arn:aws:states:::http:invoke"
USER_AGENT = "Amazon|StepFunctions|HttpInvoke|" + REGION


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


@pytest.fixture(scope="module")
def events(server):
    return make_client(server.endpoint, "events")


def of_type(events_, type_):
    return [e for e in events_ if e["type"] == type_]


def http_task(parameters, **extra):
    state = {"Type": "Task", "Resource": INVOKE, "Parameters": parameters, "End": True}
    state.update(extra)
    return {"StartAt": "Call", "States": {"Call": state}}


def api_key_connection(events, key_value="s3cret", invocation=None):
    params = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": key_value}}
    if invocation:
        params["InvocationHttpParameters"] = invocation
    return events.create_connection(Name=unique("conn"), AuthorizationType="API_KEY", AuthParameters=params)[
        "ConnectionArn"
    ]


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- what is sent


def test_api_key_get_with_query_parameters_and_a_json_response(sfn, events, http_endpoint):
    conn = api_key_connection(
        events,
        invocation={
            "HeaderParameters": [{"Key": "X-Tenant", "Value": "from-connection", "IsValueSecret": False}],
            "QueryStringParameters": [{"Key": "region", "Value": "eu", "IsValueSecret": False}],
        },
    )
    http_endpoint.require("/v1/", "x-api-key", "s3cret")
    http_endpoint.script(
        "/v1/customers",
        (200, json.dumps({"data": [{"id": "cus_1"}], "has_more": False}), 0, {"X-Request-Id": "req-42"}),
    )
    params = {
        "ApiEndpoint.$": "States.Format('{}/v1/customers', $.base)",
        "Method": "GET",
        "Authentication": {"ConnectionArn": conn},
        "Headers": {"X-Trace": "t-1", "X-Tenant": "from-task"},
        "QueryParameters": {"currency": "usd", "expand": ["a", "b c"], "region": "us"},
    }
    d = run(sfn, http_task(params), {"base": http_endpoint.base})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["StatusCode"] == 200
    assert out["StatusText"] == "OK"
    assert out["ResponseBody"] == {"data": [{"id": "cus_1"}], "has_more": False}
    assert out["Headers"]["x-request-id"] == ["req-42"]
    assert out["Headers"]["content-type"] == ["application/json"]

    (req,) = http_endpoint.received("/v1/")
    assert req.method == "GET"
    assert req.path == "/v1/customers"
    # the Task's parameters, arrays repeating the key, then the connection's (which win)
    assert urllib.parse.parse_qsl(req.raw_query) == [
        ("currency", "usd"),
        ("expand", "a"),
        ("expand", "b c"),
        ("region", "eu"),
    ]
    assert "b%20c" in req.raw_query
    assert req.headers["x-api-key"] == "s3cret"
    assert req.headers["x-trace"] == "t-1"
    assert req.headers["x-tenant"] == "from-connection"
    assert req.headers["user-agent"] == USER_AGENT
    assert req.headers["range"] == "bytes=0-262144"
    assert req.body == b""
    assert "content-type" not in req.headers  # no body, no Content-Type

    h = history(sfn, d["executionArn"])
    (sched,) = of_type(h, "TaskScheduled")
    det = sched["taskScheduledEventDetails"]
    assert (det["resourceType"], det["resource"], det["region"]) == ("http", "invoke", REGION)
    sent = json.loads(det["parameters"])
    assert sent["ApiEndpoint"] == http_endpoint.base + "/v1/customers"
    assert sent["Authentication"] == {"ConnectionArn": conn}
    (started,) = of_type(h, "TaskStarted")
    assert started["taskStartedEventDetails"] == {"resourceType": "http", "resource": "invoke"}
    (ok,) = of_type(h, "TaskSucceeded")
    assert ok["taskSucceededEventDetails"]["resourceType"] == "http"
    assert json.loads(ok["taskSucceededEventDetails"]["output"])["StatusCode"] == 200
    assert [e["type"] for e in h][-2:] == ["TaskStateExited", "ExecutionSucceeded"]


def test_basic_auth_post_merges_the_connection_body_parameters(sfn, events, http_endpoint):
    conn = events.create_connection(
        Name=unique("conn"),
        AuthorizationType="BASIC",
        AuthParameters={
            "BasicAuthParameters": {"Username": "sluice", "Password": "p@ss:word"},
            "InvocationHttpParameters": {
                "BodyParameters": [{"Key": "Mode", "Value": "connection", "IsValueSecret": False}]
            },
        },
    )["ConnectionArn"]
    http_endpoint.require("/orders", "authorization", basic_header("sluice", "p@ss:word"))
    http_endpoint.script("/orders", (201, json.dumps({"orderId": "ord_1", "status": "created"})))
    params = {
        "ApiEndpoint": http_endpoint.url("/orders"),
        "Method": "POST",
        "InvocationConfig": {"ConnectionArn": conn},
        "RequestBody": {"order.$": "$.order", "Mode": "task"},
    }
    definition = http_task(params, ResultSelector={"id.$": "$.ResponseBody.orderId", "code.$": "$.StatusCode"})
    d = run(sfn, definition, {"order": {"total": 59.98, "items": ["prod_222"]}})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"id": "ord_1", "code": 201}
    (req,) = http_endpoint.received("/orders")
    assert req.method == "POST"
    assert req.headers["content-type"] == "application/json; charset=UTF-8"
    assert req.json() == {"order": {"total": 59.98, "items": ["prod_222"]}, "Mode": "connection"}


def test_oauth_client_credentials_token_is_obtained_and_cached(sfn, events, http_endpoint):
    http_endpoint.oauth("/oauth/token", "tok-xyz", client=("client-id", "client-secret"))
    http_endpoint.require("/api/", "authorization", "Bearer tok-xyz")
    conn = events.create_connection(
        Name=unique("conn"),
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": http_endpoint.url("/oauth/token"),
                "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "client-id", "ClientSecret": "client-secret"},
            }
        },
    )["ConnectionArn"]
    name = conn.split(":connection/")[1].split("/")[0]
    deadline = time.time() + 10
    while events.describe_connection(Name=name)["ConnectionState"] != "AUTHORIZED":
        assert time.time() < deadline, "the connection was not authorized"
        time.sleep(0.05)
    params = {"ApiEndpoint": http_endpoint.url("/api/me"), "Method": "GET", "Authentication": {"ConnectionArn": conn}}
    for _ in range(2):
        d = run(sfn, http_task(params))
        assert d["status"] == "SUCCEEDED", d
        assert json.loads(d["output"])["StatusCode"] == 200
    calls = http_endpoint.received("/api/")
    assert [c.headers["authorization"] for c in calls] == ["Bearer tok-xyz"] * 2
    # the token of the connection's authorization serves both calls
    (token_req,) = http_endpoint.received("/oauth/")
    assert token_req.headers["authorization"] == basic_header("client-id", "client-secret")
    assert token_req.body == b"grant_type=client_credentials"


@pytest.mark.parametrize(
    "array_format, expected",
    [
        (None, "customer=cus%201&tags%5B0%5D=a&tags%5B1%5D=b&metadata%5Border_details%5D=monthly%20report"),
        ("INDICES", "customer=cus%201&tags%5B0%5D=a&tags%5B1%5D=b&metadata%5Border_details%5D=monthly%20report"),
        ("REPEAT", "customer=cus%201&tags=a&tags=b&metadata%5Border_details%5D=monthly%20report"),
        ("COMMAS", "customer=cus%201&tags=a,b&metadata%5Border_details%5D=monthly%20report"),
        ("BRACKETS", "customer=cus%201&tags%5B%5D=a&tags%5B%5D=b&metadata%5Border_details%5D=monthly%20report"),
    ],
)
def test_url_encoded_request_body(sfn, events, http_endpoint, array_format, expected):
    conn = api_key_connection(events)
    transform = {"RequestBodyEncoding": "URL_ENCODED"}
    if array_format:
        transform["RequestEncodingOptions"] = {"ArrayFormat": array_format}
    params = {
        "ApiEndpoint": http_endpoint.url("/v1/invoices"),
        "Method": "POST",
        "Authentication": {"ConnectionArn": conn},
        "RequestBody": {
            "customer.$": "$.customer_id",
            "tags": ["a", "b"],
            "metadata": {"order_details": "monthly report"},
        },
        "Transform": transform,
    }
    if array_format:  # AWS asks for the header; without it Sluice sends the form's type
        params["Headers"] = {"content-type": "application/x-www-form-urlencoded"}
    d = run(sfn, http_task(params), {"customer_id": "cus 1"})
    assert d["status"] == "SUCCEEDED", d
    (req,) = http_endpoint.received("/v1/invoices")
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.body.decode() == expected


def test_jsonata_arguments_and_a_text_response(sfn, events, http_endpoint):
    conn = api_key_connection(events)
    http_endpoint.script("/greeting", (200, "hello, world", 0, {"Content-Type": "text/plain; charset=utf-8"}))
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": INVOKE,
                "Arguments": {
                    "ApiEndpoint": "{% $states.input.base & '/greeting' %}",
                    "Method": "{% $states.input.method %}",
                    "Authentication": {"ConnectionArn": conn},
                    "RequestBody": "{% 'name=' & $states.input.name %}",
                },
                "Output": {
                    "text": "{% $states.result.ResponseBody %}",
                    "status": "{% $states.result.StatusCode %}",
                },
                "End": True,
            }
        },
    }
    d = run(sfn, definition, {"base": http_endpoint.base, "method": "PUT", "name": "ada"})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"text": "hello, world", "status": 200}
    (req,) = http_endpoint.received("/greeting")
    assert req.method == "PUT"
    assert req.body == b"name=ada"  # a string body is sent as it is


# --------------------------------------------------------------------------- errors


def test_a_500_is_caught_as_states_http_status_code_500(sfn, events, http_endpoint):
    conn = api_key_connection(events)
    http_endpoint.script("/charge", (500, json.dumps({"error": "boom"})))
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {
                    "ApiEndpoint": http_endpoint.url("/charge"),
                    "Method": "POST",
                    "Authentication": {"ConnectionArn": conn},
                    "RequestBody": {"amount": 10},
                },
                "Catch": [
                    {"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "NotFound"},
                    {"ErrorEquals": ["States.Http.StatusCode.500"], "ResultPath": "$.error", "Next": "Handled"},
                ],
                "End": True,
            },
            "NotFound": {"Type": "Fail", "Error": "wrong catcher"},
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    d = run(sfn, definition, {"orderId": "ord_1"})
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["orderId"] == "ord_1"
    assert out["error"]["Error"] == "States.Http.StatusCode.500"
    cause = json.loads(out["error"]["Cause"])
    assert cause["StatusCode"] == 500
    assert cause["StatusText"] == "Internal Server Error"
    assert cause["ResponseBody"] == {"error": "boom"}
    (failed,) = of_type(history(sfn, d["executionArn"]), "TaskFailed")
    det = failed["taskFailedEventDetails"]
    assert (det["resourceType"], det["resource"], det["error"]) == ("http", "invoke", "States.Http.StatusCode.500")


def test_a_503_is_retried_then_succeeds(sfn, events, http_endpoint):
    conn = api_key_connection(events)
    http_endpoint.script("/flaky", 503, (200, json.dumps({"ok": True})))
    params = {"ApiEndpoint": http_endpoint.url("/flaky"), "Method": "GET", "Authentication": {"ConnectionArn": conn}}
    retry = [{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    d = run(sfn, http_task(params, Retry=retry))
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"])["ResponseBody"] == {"ok": True}
    assert len(http_endpoint.received("/flaky")) == 2
    types = [e["type"] for e in history(sfn, d["executionArn"])]
    task_events = [t for t in types if t.startswith("Task") and t != "TaskStateEntered"]
    assert task_events == [
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
    ]


def test_an_unreachable_endpoint_fails_with_states_http_socket(sfn, events):
    conn = api_key_connection(events)
    params = {
        "ApiEndpoint": "http://127.0.0.1:%d/down" % closed_port(),
        "Method": "GET",
        "Authentication": {"ConnectionArn": conn},
    }
    d = run(sfn, http_task(params))
    assert d["status"] == "FAILED", d
    assert d["error"] == "States.Http.Socket"
    (failed,) = of_type(history(sfn, d["executionArn"]), "TaskFailed")
    assert failed["taskFailedEventDetails"]["error"] == "States.Http.Socket"


def test_task_timeout_applies_to_a_slow_endpoint(sfn, events, http_endpoint):
    conn = api_key_connection(events)
    http_endpoint.script("/slow", (200, "{}", 3))
    params = {"ApiEndpoint": http_endpoint.url("/slow"), "Method": "GET", "Authentication": {"ConnectionArn": conn}}
    d = run(sfn, http_task(params, TimeoutSeconds=1))
    assert d["status"] == "FAILED", d
    assert d["error"] == "States.Timeout"


def test_connection_problems_are_events_connection_resource_errors(sfn, events, http_endpoint):
    missing = "arn:aws:events:%s:000000000000:connection/%s/0b8bc9e2-4bb4-4b6c-9e53-6f0b0c2e7d61" % (
        REGION,
        unique("nope"),
    )
    params = {"ApiEndpoint": http_endpoint.url("/x"), "Method": "GET", "Authentication": {"ConnectionArn": missing}}
    d = run(sfn, http_task(params))
    assert (d["status"], d["error"]) == ("FAILED", "Events.ConnectionResource.ResourceNotFound"), d

    conn = api_key_connection(events)
    events.deauthorize_connection(Name=conn.split(":connection/")[1].split("/")[0])
    params["Authentication"]["ConnectionArn"] = conn
    d = run(sfn, http_task(params))
    assert (d["status"], d["error"]) == ("FAILED", "Events.ConnectionResource.InvalidConnectionState"), d
    assert http_endpoint.received("/x") == []


def test_forbidden_headers_and_binary_responses_fail_with_states_runtime(sfn, events, http_endpoint):
    conn = api_key_connection(events)
    base = {"Method": "GET", "Authentication": {"ConnectionArn": conn}}
    for header in ("Authorization", "x-amz-date", "Host"):
        params = dict(base, ApiEndpoint=http_endpoint.url("/forbidden"), Headers={header: "x"})
        # States.Runtime is not caught by States.ALL: the execution fails
        definition = http_task(params, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}])
        definition["States"]["Caught"] = {"Type": "Succeed"}
        d = run(sfn, definition)
        assert (d["status"], d["error"]) == ("FAILED", "States.Runtime"), d
        assert header in d["cause"]
    assert http_endpoint.received("/forbidden") == []

    http_endpoint.script("/blob", (200, b"\x89PNG\r\n", 0, {"Content-Type": "image/png"}))
    d = run(sfn, http_task(dict(base, ApiEndpoint=http_endpoint.url("/blob"))))
    assert (d["status"], d["error"]) == ("FAILED", "States.Runtime"), d

    http_endpoint.script("/bytes", (200, b"\xff\xfe\x00", 0, {"Content-Type": "text/plain"}))
    d = run(sfn, http_task(dict(base, ApiEndpoint=http_endpoint.url("/bytes"))))
    assert (d["status"], d["error"]) == ("FAILED", "States.Runtime"), d


def test_a_string_body_cannot_take_the_connection_body_parameters(sfn, events, http_endpoint):
    conn = api_key_connection(
        events, invocation={"BodyParameters": [{"Key": "k", "Value": "v", "IsValueSecret": False}]}
    )
    params = {
        "ApiEndpoint": http_endpoint.url("/text"),
        "Method": "POST",
        "Authentication": {"ConnectionArn": conn},
        "RequestBody": "plain text",
    }
    d = run(sfn, http_task(params))
    assert (d["status"], d["error"]) == ("FAILED", "States.Runtime"), d
    assert http_endpoint.received("/text") == []


# --------------------------------------------------------------------------- restarts


def test_a_call_in_flight_at_shutdown_is_made_again_after_the_restart(fresh_server, http_endpoint):
    sfn_, events_ = make_client(fresh_server.endpoint, "stepfunctions"), make_client(fresh_server.endpoint, "events")
    conn = api_key_connection(events_)
    http_endpoint.script("/slow", (200, json.dumps({"n": 1}), 5), (200, json.dumps({"n": 2})))
    params = {"ApiEndpoint": http_endpoint.url("/slow"), "Method": "GET", "Authentication": {"ConnectionArn": conn}}
    sm = machine(sfn_, http_task(params))
    arn = sfn_.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    assert len(http_endpoint.wait(1, prefix="/slow")) == 1
    t0 = time.monotonic()
    assert fresh_server.stop() == 0, fresh_server.log_tail()
    assert time.monotonic() - t0 < 4, "the stop waited for the response"
    fresh_server.start(port=fresh_server.port)
    d = wait_done(sfn_, arn)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"])["ResponseBody"] == {"n": 2}
    assert len(http_endpoint.received("/slow")) == 2


def test_a_server_stopped_while_an_oauth_token_is_fetched_resumes_the_call(fresh_server, http_endpoint):
    sfn_, events_ = make_client(fresh_server.endpoint, "stepfunctions"), make_client(fresh_server.endpoint, "events")
    token = json.dumps({"access_token": "tok-late", "expires_in": 3600})
    http_endpoint.script("/oauth/token", (200, token, 5), (200, token, 5), (200, token))
    conn = events_.create_connection(
        Name=unique("conn"),
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": http_endpoint.url("/oauth/token"),
                "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"},
            }
        },
    )["ConnectionArn"]
    params = {"ApiEndpoint": http_endpoint.url("/api/x"), "Method": "GET", "Authentication": {"ConnectionArn": conn}}
    sm = machine(sfn_, http_task(params))
    arn = sfn_.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    assert len(http_endpoint.wait(2, prefix="/oauth/")) == 2  # the connection's and the call's
    assert fresh_server.stop() == 0, fresh_server.log_tail()
    fresh_server.start(port=fresh_server.port)
    d = wait_done(sfn_, arn)
    assert d["status"] == "SUCCEEDED", d
    (call,) = http_endpoint.received("/api/")
    assert call.headers["authorization"] == "Bearer tok-late"


# --------------------------------------------------------------------------- definitions


CONN = "arn:aws:events:us-east-1:000000000000:connection/demo/0b8bc9e2-4bb4-4b6c-9e53-6f0b0c2e7d61"


def _params(**fields):
    out = {"ApiEndpoint": "https://example.com", "Method": "GET", "Authentication": {"ConnectionArn": CONN}}
    out.update(fields)
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize(
    "resource, params, message",
    [
        (INVOKE, _params(ApiEndpoint=None), 'The field "ApiEndpoint" is required but was missing'),
        (INVOKE, _params(Method=None), 'The field "Method" is required but was missing'),
        (INVOKE, _params(Authentication=None), '"Authentication" (or "InvocationConfig") is required'),
        (INVOKE, _params(Method="FETCH"), "The value for the field 'Method' must be one of"),
        (INVOKE, _params(Authentication={"ConnectionArn": "arn:aws:sqs:us-east-1:000000000000:q"}), "'ConnectionArn'"),
        (INVOKE + ".waitForTaskToken", _params(), "is not recognized"),
        (INVOKE + ".sync", _params(), "is not recognized"),
    ],
)
def test_create_state_machine_rejects_incomplete_http_tasks(sfn, resource, params, message):
    state = {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}
    definition = {"StartAt": "Call", "States": {"Call": state}}
    with pytest.raises(ClientError) as e:
        machine(sfn, definition)
    assert error_code(e) == "InvalidDefinition"
    assert message in e.value.response["Error"]["Message"]
    assert "SCHEMA_VALIDATION_FAILED" in e.value.response["Error"]["Message"]


def test_create_state_machine_accepts_http_tasks_given_at_run_time(sfn):
    jsonpath = http_task(
        {"ApiEndpoint.$": "$.url", "Method.$": "$.method", "Authentication": {"ConnectionArn.$": "$.conn"}}
    )
    jsonata = {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": INVOKE,
                "Arguments": {
                    "ApiEndpoint": "{% $states.input.url %}",
                    "Method": "{% $states.input.method %}",
                    "InvocationConfig": {"ConnectionArn": "{% $states.input.conn %}"},
                },
                "End": True,
            }
        },
    }
    for definition in (jsonpath, jsonata):
        assert machine(sfn, definition).startswith("arn:aws:states:")
