"""Sluice's Python runtime for Lambda functions (python3.x runtimes).

sluiced starts this file with Debian's /usr/bin/python3 in the function's code directory
(LAMBDA_TASK_ROOT) and the environment Lambda sets. It speaks the Lambda Runtime API at
http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...: it imports the handler named by
_HANDLER ("module.function"; an import failure is reported to /init/error as Lambda's
Runtime.ImportModuleError, Runtime.HandlerNotFound or Runtime.UserCodeSyntaxError), then
loops: GET invocation/next, call handler(event, context), POST the JSON result to
invocation/ID/response, or {"errorMessage","errorType","stackTrace"} to invocation/ID/error.

It also makes botocore honour AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>), which
botocore added only in 1.31: a client created without endpoint_url gets the variable's,
so handlers that call boto3.client("sqs") reach the Sluice server that runs them. The patch
is applied when botocore.client is first imported, so functions that do not use boto3 do
not pay for importing it.
"""

import http.client
import importlib
import importlib.abc
import importlib.util
import json
import logging
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
HOST, _, PREFIX = API.partition("/")
PREFIX = ("/" + PREFIX if PREFIX else "") + "/2018-06-01/runtime"


# --------------------------------------------------------------------------- Runtime API


class RuntimeClient:
    def __init__(self):
        self.conn = http.client.HTTPConnection(HOST)

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.conn.request(method, PREFIX + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST)
                if attempt:
                    raise

    def next(self):
        resp, body = self.request("GET", "/invocation/next")
        if resp.status != 200:
            sys.exit(0)  # the server let this worker go
        return resp, body

    def post(self, path, payload, error_type=None):
        headers = {"Content-Type": "application/json"}
        if error_type:
            headers["Lambda-Runtime-Function-Error-Type"] = error_type
        self.request("POST", path, body=payload, headers=headers)


# --------------------------------------------------------------------------- AWS_ENDPOINT_URL


def _patch_botocore_client(module):
    original = module.ClientCreator.create_client

    def create_client(self, service_name, region_name, is_secure=True, endpoint_url=None,
                      *args, **kwargs):
        if endpoint_url is None:
            specific = "AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_").replace(" ", "_")
            endpoint_url = os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL") or None
        return original(self, service_name, region_name, is_secure, endpoint_url, *args, **kwargs)

    module.ClientCreator.create_client = create_client


class _BotocoreEndpointHook(importlib.abc.MetaPathFinder):
    """Patches botocore.client as it is imported (once)."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.client":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _patch_botocore_client(module)

        spec.loader.exec_module = exec_and_patch
        return spec


# --------------------------------------------------------------------------- context and errors


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(exc, error_type=None, message=None):
    tb = traceback.extract_tb(exc.__traceback__) if exc is not None else []
    return {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(tb),
    }


def log_error(payload):
    lines = "".join(payload["stackTrace"])
    sys.stderr.write("[ERROR] %s: %s\nTraceback (most recent call last):\n%s"
                     % (payload["errorType"], payload["errorMessage"], lines))
    sys.stderr.flush()


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


# --------------------------------------------------------------------------- the loop


def load_handler(client):
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    try:
        if not module_name:
            raise ValueError("Bad handler '%s': not enough values to unpack" % spec)
        module = importlib.import_module(module_name.replace("/", "."))
    except SyntaxError as exc:
        fail_init(client, exc, "Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s"
                  % (module_name, exc))
    except ImportError as exc:
        fail_init(client, exc, "Runtime.ImportModuleError",
                  "Unable to import module '%s': %s" % (module_name, exc))
    except Exception as exc:
        fail_init(client, exc, type(exc).__name__, str(exc))
    handler = getattr(module, function_name, None)
    if handler is None:
        fail_init(client, None, "Runtime.HandlerNotFound",
                  "Handler '%s' missing on module '%s'" % (function_name, module_name))
    return handler


def fail_init(client, exc, error_type, message):
    payload = error_payload(exc, error_type, message)
    log_error(payload)
    client.post("/init/error", json.dumps(payload).encode(), error_type)
    sys.exit(1)


def invoke(client, handler, resp, body):
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    deadline = int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0)
    arn = resp.getheader("Lambda-Runtime-Invoked-Function-Arn")
    trace = resp.getheader("Lambda-Runtime-Trace-Id")
    if trace:
        os.environ["_X_AMZN_TRACE_ID"] = trace
    _RequestIdFilter.request_id = request_id
    context = LambdaContext(request_id, deadline, arn)
    try:
        event = json.loads(body) if body else {}
        result = handler(event, context)
    except Exception as exc:
        payload = error_payload(exc)
        log_error(payload)
        client.post("/invocation/%s/error" % request_id, json.dumps(payload).encode(),
                    payload["errorType"])
        return
    try:
        out = json.dumps(result).encode()
    except (TypeError, ValueError) as exc:
        payload = error_payload(exc, "Runtime.MarshalError",
                                "Unable to marshal response: %s" % exc)
        log_error(payload)
        client.post("/invocation/%s/error" % request_id, json.dumps(payload).encode(),
                    "Runtime.MarshalError")
        return
    sys.stdout.flush()
    sys.stderr.flush()
    client.post("/invocation/%s/response" % request_id, out)


def main():
    sys.meta_path.insert(0, _BotocoreEndpointHook())
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    setup_logging()
    client = RuntimeClient()
    handler = load_handler(client)
    while True:
        resp, body = client.next()
        invoke(client, handler, resp, body)


if __name__ == "__main__":
    main()
