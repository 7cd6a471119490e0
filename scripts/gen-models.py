#!/usr/bin/python3
"""Generates the C wire models of src/protocol/models/ from botocore's service-2.json files.

    /usr/bin/python3 scripts/gen-models.py            # rewrite every model
    /usr/bin/python3 scripts/gen-models.py --check    # exit 1 if a committed model is stale

A botocore model (Debian's python3-botocore) is merged with an overlay from scripts/models/
(objects merge key by key, anything else replaces, null deletes) that adds what the packaged
model predates. The output holds one `static const model_shape` per shape reachable from an
operation's input or output, and the service's operation table sorted by name (the codecs
binary-search it). Query/XML names are resolved here the way botocore resolves them, so the C
codecs need no defaults of their own:
  - a member's location_name is the member's locationName, else the target shape's, else the
    member name;
  - a member is flattened if the member or its shape says so;
  - a list's member_location_name is its member's locationName (or the target shape's), else
    "member"; a map's key/value names likewise, else "key"/"value".
For the REST protocols (rest-json), the HTTP binding is emitted too (src/protocol/rest_json.c
reads it), in tables parallel to the ones above: `http[]` beside `ops[]` (each operation's
method, requestUri template and success status: responseCode, default 200) and `b_<Shape>[]`
beside each structure's members (the member's location: uri, querystring, header, headers,
statusCode, or the body when the model gives none; its wire name is the location_name above;
and whether it is a jsonvalue header), plus each structure's payload member. Models of the
other protocols carry no binding (NULL), as their wire ignores it.
Documentation is dropped. The output depends only on the inputs (sorted, no timestamps).
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data"

# One row per generated model.
SERVICES = [
    {
        "service": "sqs",
        "api_version": "2012-11-05",
        "overlay": "scripts/models/sqs-overlay.json",
        "out": "src/protocol/models/sqs.c",
        "symbol": "model_sqs",
    },
    {
        "service": "events",
        "api_version": "2015-10-07",
        "overlay": "scripts/models/events-overlay.json",
        "out": "src/protocol/models/events.c",
        "symbol": "model_events",
    },
    {
        "service": "sns",
        "api_version": "2010-03-31",
        "overlay": None,
        "out": "src/protocol/models/sns.c",
        "symbol": "model_sns",
    },
    {
        "service": "ses",
        "api_version": "2010-12-01",
        "overlay": None,
        "out": "src/protocol/models/ses.c",
        "symbol": "model_ses",
    },
    {
        "service": "sesv2",
        "api_version": "2019-09-27",
        "overlay": None,
        "out": "src/protocol/models/sesv2.c",
        "symbol": "model_sesv2",
    },
    {
        "service": "dynamodb",
        "api_version": "2012-08-10",
        "overlay": "scripts/models/dynamodb-overlay.json",
        "out": "src/protocol/models/dynamodb.c",
        "symbol": "model_dynamodb",
    },
    {
        "service": "dynamodbstreams",
        "api_version": "2012-08-10",
        "overlay": None,
        "out": "src/protocol/models/dynamodbstreams.c",
        "symbol": "model_dynamodbstreams",
    },
    {
        "service": "lambda",
        "api_version": "2015-03-31",
        "overlay": None,
        "out": "src/protocol/models/lambda.c",
        "symbol": "model_lambda",
    },
    {
        "service": "logs",
        "api_version": "2014-03-28",
        "overlay": None,
        "out": "src/protocol/models/logs.c",
        "symbol": "model_logs",
    },
    {
        "service": "stepfunctions",
        "api_version": "2016-11-23",
        "overlay": "scripts/models/stepfunctions-overlay.json",
        "out": "src/protocol/models/stepfunctions.c",
        "symbol": "model_stepfunctions",
    },
]

PROTOCOLS = {
    "query": "MODEL_PROTO_QUERY",
    "json": "MODEL_PROTO_JSON",
    "rest-json": "MODEL_PROTO_REST_JSON",
}
REST_PROTOCOLS = ("rest-json",)

LOCATIONS = {
    None: "MODEL_LOC_BODY",
    "uri": "MODEL_LOC_URI",
    "querystring": "MODEL_LOC_QUERY",
    "header": "MODEL_LOC_HEADER",
    "headers": "MODEL_LOC_HEADERS",
    "statusCode": "MODEL_LOC_STATUS",
}

SHAPE_TYPES = {
    "string": "SHAPE_STRING",
    "integer": "SHAPE_INTEGER",
    "long": "SHAPE_INTEGER",
    "boolean": "SHAPE_BOOLEAN",
    "double": "SHAPE_DOUBLE",
    "float": "SHAPE_DOUBLE",
    "blob": "SHAPE_BLOB",
    "timestamp": "SHAPE_TIMESTAMP",
    "list": "SHAPE_LIST",
    "map": "SHAPE_MAP",
    "structure": "SHAPE_STRUCTURE",
}


def merge(base, over):
    """Deep merge of JSON values: objects key by key, null deletes, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif k in out:
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def load_model(row, botocore_data=BOTOCORE_DATA):
    """The botocore model of `row` with its overlay applied (a plain service-2.json dict)."""
    path = os.path.join(botocore_data, row["service"], row["api_version"], "service-2.json")
    with open(path, encoding="utf-8") as f:
        model = json.load(f)
    if row.get("overlay"):
        with open(os.path.join(ROOT, row["overlay"]), encoding="utf-8") as f:
            overlay = json.load(f)
        overlay = {k: v for k, v in overlay.items() if not k.startswith("_")}
        model = merge(model, overlay)
    return model


def c_string(s):
    if s is None:
        return "NULL"
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def c_ident(name):
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


def ref_name(ref, shapes, default):
    """Serialized name of a shape reference: its locationName, else its target's, else default."""
    return ref.get("locationName") or shapes[ref["shape"]].get("locationName") or default


def member_location(ref, shapes):
    """The C location of a member: botocore's "location" of the reference (or its target)."""
    loc = ref.get("location") or shapes[ref["shape"]].get("location")
    if loc not in LOCATIONS:
        sys.exit("gen-models: unsupported member location %r" % loc)
    return LOCATIONS[loc]


def reachable(model):
    shapes = model["shapes"]
    seen = set()
    stack = []
    for op in model["operations"].values():
        for k in ("input", "output"):
            if k in op:
                stack.append(op[k]["shape"])
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in shapes:
            sys.exit("gen-models: shape %s is referenced but not defined" % name)
        seen.add(name)
        s = shapes[name]
        t = s.get("type")
        if t not in SHAPE_TYPES:
            sys.exit("gen-models: shape %s has unsupported type %r" % (name, t))
        if t == "structure":
            stack.extend(m["shape"] for m in s.get("members", {}).values())
        elif t == "list":
            stack.append(s["member"]["shape"])
        elif t == "map":
            stack.extend((s["key"]["shape"], s["value"]["shape"]))
    return sorted(seen)


def generate(row, model, source_desc):
    shapes = model["shapes"]
    meta = model["metadata"]
    names = reachable(model)
    protocol = meta["protocol"]
    if protocol not in PROTOCOLS:
        sys.exit("gen-models: unsupported protocol %r" % protocol)
    rest = protocol in REST_PROTOCOLS
    sym = lambda n: "s_" + c_ident(n)
    out = []
    w = out.append
    w("/* The %s wire model (API %s), generated by scripts/gen-models.py from\n"
      % (row["service"], meta["apiVersion"]))
    w(" * %s.\n" % source_desc)
    w(" * Do not edit: change the overlay (or the generator) and regenerate. */\n")
    w("// clang-format off\n")
    w('#include "protocol/model.h"\n\n')
    w("#include <stddef.h>\n\n")

    for n in names:
        w("static const model_shape %s;\n" % sym(n))
    w("\n")

    for n in names:
        s = shapes[n]
        if s["type"] != "structure" or not s.get("members"):
            continue
        w("static const model_member m_%s[] = {\n" % c_ident(n))
        for mname, ref in s["members"].items():
            target = shapes[ref["shape"]]
            loc = ref_name(ref, shapes, mname)
            flat = 1 if (ref.get("flattened") or target.get("flattened")) else 0
            w("    {%s, %s, &%s, %d},\n" % (c_string(mname), c_string(loc), sym(ref["shape"]), flat))
        w("};\n\n")
        if rest:
            w("static const model_binding b_%s[] = {\n" % c_ident(n))
            for ref in s["members"].values():
                jsonvalue = 1 if (ref.get("jsonvalue") or shapes[ref["shape"]].get("jsonvalue")) else 0
                w("    {%s, %d},\n" % (member_location(ref, shapes), jsonvalue))
            w("};\n\n")

    for n in names:
        s = shapes[n]
        t = s["type"]
        fields = [".name = %s" % c_string(n), ".type = %s" % SHAPE_TYPES[t]]
        if t == "structure" and s.get("members"):
            fields.append(".members = m_%s" % c_ident(n))
            fields.append(".nmembers = %d" % len(s["members"]))
            if rest:
                fields.append(".bindings = b_%s" % c_ident(n))
        elif t == "list":
            fields.append(".member = &%s" % sym(s["member"]["shape"]))
            fields.append(".member_location_name = %s"
                          % c_string(ref_name(s["member"], shapes, "member")))
        elif t == "map":
            fields.append(".key = &%s" % sym(s["key"]["shape"]))
            fields.append(".key_location_name = %s" % c_string(ref_name(s["key"], shapes, "key")))
            fields.append(".value = &%s" % sym(s["value"]["shape"]))
            fields.append(".value_location_name = %s"
                          % c_string(ref_name(s["value"], shapes, "value")))
        if s.get("flattened"):
            fields.append(".flattened = 1")
        if rest and t == "structure" and s.get("payload"):
            fields.append(".payload = %s" % c_string(s["payload"]))
        w("static const model_shape %s = {\n" % sym(n))
        for f in fields:
            w("    %s,\n" % f)
        w("};\n\n")

    w("static const model_operation ops[] = {\n")
    for opname in sorted(model["operations"]):
        op = model["operations"][opname]
        inp = "&" + sym(op["input"]["shape"]) if "input" in op else "NULL"
        outp = "&" + sym(op["output"]["shape"]) if "output" in op else "NULL"
        wrapper = op["output"].get("resultWrapper") if "output" in op else None
        w("    {%s, %s, %s, %s},\n" % (c_string(opname), inp, outp, c_string(wrapper)))
    w("};\n\n")
    if rest:
        w("/* The HTTP binding of each operation, in the order of ops[]. */\n")
        w("static const model_http http[] = {\n")
        for opname in sorted(model["operations"]):
            http = model["operations"][opname]["http"]
            w("    {%s, %s, %d},\n" % (c_string(http["method"]), c_string(http["requestUri"]),
                                      http.get("responseCode", 200)))
        w("};\n\n")

    w("const model_service %s = {\n" % row["symbol"])
    w("    .name = %s,\n" % c_string(meta.get("signingName", meta.get("endpointPrefix", row["service"]))))
    w("    .protocol = %s,\n" % PROTOCOLS[protocol])
    w("    .api_version = %s,\n" % c_string(meta["apiVersion"]))
    w("    .xml_namespace = %s,\n" % c_string(meta.get("xmlNamespace")))
    w("    .json_target_prefix = %s,\n" % c_string(meta.get("targetPrefix")))
    w("    .json_type_prefix = %s,\n" % c_string(meta.get("jsonTypePrefix")))
    w("    .ops = ops,\n")
    if rest:
        w("    .http = http,\n")
    w("    .nops = sizeof ops / sizeof ops[0],\n")
    w("};\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed files instead of writing them")
    ap.add_argument("--botocore-data", default=BOTOCORE_DATA,
                    help="botocore's data directory (default: Debian's python3-botocore)")
    ap.add_argument("--dump-merged", metavar="SERVICE",
                    help="print the merged service-2.json of SERVICE and exit")
    args = ap.parse_args()

    stale = 0
    for row in SERVICES:
        model = load_model(row, args.botocore_data)
        if args.dump_merged:
            if args.dump_merged == row["service"]:
                json.dump(model, sys.stdout, indent=1, sort_keys=True)
                return 0
            continue
        desc = "botocore's %s/%s/service-2.json" % (row["service"], row["api_version"])
        if row["overlay"]:
            desc += " + " + row["overlay"]
        text = generate(row, model, desc)
        path = os.path.join(ROOT, row["out"])
        if args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    current = f.read()
            except FileNotFoundError:
                current = None
            if current != text:
                print("gen-models: %s is stale; run scripts/gen-models.py" % row["out"])
                stale = 1
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    if args.dump_merged:
        sys.exit("gen-models: unknown service %s" % args.dump_merged)
    return stale


if __name__ == "__main__":
    sys.exit(main())
