"""Helpers for the Lambda suites: zips built in memory, function creation, log decoding."""

import base64
import io
import zipfile

import helpers

ROLE = "arn:aws:iam::%s:role/lambda-role" % helpers.ACCOUNT


def make_zip(files, modes=None):
    """files: {name: text}; modes: {name: unix mode} (e.g. 0o755 for a bootstrap)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return out.getvalue()


def create(lam, code, runtime="python3.11", handler="app.handler", name=None, **kw):
    """Creates a function from {file: text}; returns its name."""
    name = name or helpers.unique("fn")
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                        Code={"ZipFile": make_zip(code, kw.pop("modes", None))}, **kw)
    return name


def tail(resp):
    return base64.b64decode(resp["LogResult"]).decode("utf-8", "replace")


def lambda_client(endpoint):
    return helpers.make_client(endpoint, "lambda", read_timeout=60)
