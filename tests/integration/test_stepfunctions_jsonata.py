"""Step Functions with "QueryLanguage": "JSONata" and variables: Output, Arguments, Assign and
$states in every state type, Choice Conditions, Wait Seconds as an expression, Fail's Error
and Cause, Map's Items and ItemSelector with $states.context.Map.Item, a Lambda Task with
$states.result and a Catch with $states.errorOutput, variables copied into Parallel branches,
a JSONPath machine with Assign read by a JSONata state, and evaluation errors
(States.QueryEvaluationError)."""

import json
import time

import pytest

from helpers import ACCOUNT, REGION, make_client
from lambda_helpers import create as create_function
from lambda_helpers import lambda_client
from sfn_helpers import run

ROLE = "arn:aws:iam::000000000000:role/sfn"


@pytest.fixture(scope="module")
def sfn(server):
    return make_client(server.endpoint, "stepfunctions")


def jsonata(states, start):
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


ORDER = {"id": "o-7", "items": [{"sku": "a", "price": 5, "qty": 2},
                                {"sku": "b", "price": 7.5, "qty": 1}]}


def test_pass_output_and_variables(sfn):
    d = run(sfn, jsonata({
        "Total": {"Type": "Pass",
                  "Assign": {"orderId": "{% $states.input.id %}",
                             "total": "{% $sum($states.input.items.(price * qty)) %}"},
                  "Next": "Say"},
        "Say": {"Type": "Pass",
                "Output": {"message": "{% 'order ' & $orderId & ' costs ' & $string($total) %}",
                           "skus": "{% $states.input.items.sku %}",
                           "literal": 42, "missing": "{% $states.input.nope %}"},
                "End": True}}, "Total"), ORDER)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"message": "order o-7 costs 17.5", "skus": ["a", "b"],
                                       "literal": 42}


def test_choice_conditions_and_wait_expression(sfn):
    definition = jsonata({
        "Route": {"Type": "Choice",
                  "Choices": [{"Condition": "{% $states.input.total > 100 %}", "Next": "Big",
                               "Assign": {"size": "big"}},
                              {"Condition": "{% $states.input.total > 10 %}", "Next": "Pause",
                               "Assign": {"size": "medium"}}],
                  "Default": "Small"},
        "Pause": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "Medium"},
        "Big": {"Type": "Pass", "Output": "{% $size %}", "End": True},
        "Medium": {"Type": "Pass", "Output": "{% $size %}", "End": True},
        "Small": {"Type": "Pass", "Output": "small", "End": True}}, "Route")
    t0 = time.time()
    assert json.loads(run(sfn, definition, {"total": 50, "delay": 1})["output"]) == "medium"
    assert time.time() - t0 >= 0.9
    assert json.loads(run(sfn, definition, {"total": 500, "delay": 0})["output"]) == "big"
    assert json.loads(run(sfn, definition, {"total": 5, "delay": 0})["output"]) == "small"


def test_fail_with_expressions_and_evaluation_errors(sfn):
    d = run(sfn, jsonata({"F": {"Type": "Fail", "Error": "{% 'Order.' & $states.input.why %}",
                                "Cause": "{% 'order ' & $states.input.id %}"}}, "F"),
            {"why": "Rejected", "id": "o-1"})
    assert (d["status"], d["error"], d["cause"]) == ("FAILED", "Order.Rejected", "order o-1")
    d = run(sfn, jsonata({"P": {"Type": "Pass", "Output": "{% $states.input.a + 'x' %}",
                                "End": True}}, "P"), {"a": 1})
    assert d["status"] == "FAILED" and d["error"] == "States.QueryEvaluationError"
    assert "T2002" in d["cause"] or "T2001" in d["cause"]
    d = run(sfn, jsonata({"P": {"Type": "Pass", "Output": "{% $states.input.nothing %}",
                                "End": True}}, "P"), {})
    assert d["status"] == "FAILED" and d["error"] == "States.QueryEvaluationError"


def test_map_items_and_item_selector(sfn):
    d = run(sfn, jsonata({"Each": {
        "Type": "Map",
        "Items": "{% $states.input.items %}",
        "ItemSelector": {"n": "{% $states.context.Map.Item.Index %}",
                         "line": "{% $states.context.Map.Item.Value.price * "
                                 "$states.context.Map.Item.Value.qty %}",
                         "order": "{% $states.input.id %}"},
        "ItemProcessor": {"StartAt": "Line", "States": {"Line": {
            "Type": "Pass", "Output": "{% $states.input.order & '#' & $string($states.input.n)"
                                      " & '=' & $string($states.input.line) %}",
            "End": True}}},
        "Output": {"lines": "{% $states.result %}", "count": "{% $count($states.result) %}"},
        "End": True}}, "Each"), ORDER)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"lines": ["o-7#0=10", "o-7#1=7.5"], "count": 2}


def test_parallel_branches_see_outer_variables(sfn):
    d = run(sfn, jsonata({
        "Set": {"Type": "Pass", "Assign": {"who": "outer"}, "Next": "Both"},
        "Both": {"Type": "Parallel", "Arguments": {"x": "{% $states.input.x * 2 %}"},
                 "Branches": [
                     {"StartAt": "A", "States": {"A": {"Type": "Pass",
                                                       "Output": "{% $who & $string($states.input.x) %}",
                                                       "End": True}}},
                     {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"who": "inner"},
                                                       "Output": "{% $who %}", "End": True}}}],
                 "Next": "After"},
        "After": {"Type": "Pass", "Output": {"branches": "{% $states.input %}", "who": "{% $who %}"},
                  "End": True}}, "Set"), {"x": 3})
    assert d["status"] == "SUCCEEDED", d
    # B's Output sees the variables as they were before B (Assign takes effect after)
    assert json.loads(d["output"]) == {"branches": ["outer6", "outer"], "who": "outer"}


def test_lambda_task_arguments_output_and_catch(sfn, server):
    lam = lambda_client(server.endpoint)
    fn = create_function(lam, {"app.py": (
        "class OutOfStock(Exception):\n    pass\n"
        "def handler(event, context):\n"
        "    if event['qty'] > 10:\n"
        "        raise OutOfStock('only 10 left of %s' % event['sku'])\n"
        "    return {'reserved': event['qty'], 'sku': event['sku']}\n")}, Timeout=30)
    arn = "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, fn)
    definition = jsonata({
        "Reserve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": arn,
                                  "Payload": {"sku": "{% $states.input.sku %}",
                                              "qty": "{% $states.input.qty %}"}},
                    "Output": "{% $states.result.Payload %}",
                    "Assign": {"reserved": "{% $states.result.Payload.reserved %}"},
                    "Catch": [{"ErrorEquals": ["OutOfStock"], "Next": "Sorry",
                               "Output": {"error": "{% $states.errorOutput.Error %}",
                                          "sku": "{% $states.input.sku %}"}}],
                    "Next": "Done"},
        "Done": {"Type": "Pass", "Output": {"got": "{% $states.input %}", "n": "{% $reserved %}"},
                 "End": True},
        "Sorry": {"Type": "Pass", "End": True}}, "Reserve")
    d = run(sfn, definition, {"sku": "a", "qty": 3})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"got": {"reserved": 3, "sku": "a"}, "n": 3}
    d = run(sfn, definition, {"sku": "b", "qty": 50})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"error": "OutOfStock", "sku": "b"}


def test_jsonpath_machine_with_assign_and_a_jsonata_state(sfn):
    d = run(sfn, {"StartAt": "Pick", "States": {
        "Pick": {"Type": "Pass", "Parameters": {"id.$": "$.order.id"},
                 "Assign": {"orderId.$": "$.id", "fixed": 1}, "Next": "Use"},
        "Use": {"Type": "Pass", "QueryLanguage": "JSONata",
                "Output": "{% $orderId & ':' & $string($fixed) %}", "End": True}}},
            {"order": {"id": "o-99"}})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == "o-99:1"


def test_jsonpath_states_read_variables(sfn):
    d = run(sfn, {"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"customer": {"id": "c-1", "tier": "gold"}, "count": 2},
                "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$customer.tier", "StringEquals": "gold", "Next": "Use"}],
            "Default": "Other"},
        "Use": {"Type": "Pass", "Parameters": {"who.$": "$customer.id", "n.$": "$count",
                                               "from.$": "$.x"}, "End": True},
        "Other": {"Type": "Fail", "Error": "NotGold"}}}, {"x": 1})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"who": "c-1", "n": 2, "from": 1}


def test_intrinsic_functions_read_variables(sfn):
    d = run(sfn, {"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"name": "Ada", "n": 40, "tags": ["a", "b"]}, "Next": "Use"},
        "Use": {"Type": "Pass", "Parameters": {
            "greeting.$": "States.Format('Hello {} ({})', $name, $.id)",
            "sum.$": "States.MathAdd($n, 2)",
            "first.$": "States.ArrayGetItem($tags, 0)",
            "count.$": "States.ArrayLength($tags)"}, "End": True}}}, {"id": "o-1"})
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"greeting": "Hello Ada (o-1)", "sum": 42, "first": "a", "count": 2}
