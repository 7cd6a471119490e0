"""DynamoDB PartiQL through boto3: ExecuteStatement (SELECT by key and by scan, projections,
conditions, parameters, Limit/NextToken pagination, INSERT/UPDATE/DELETE with AWS's error
codes), BatchExecuteStatement (per-statement errors, reads or writes only) and
ExecuteTransaction (all or nothing, reads, idempotency tokens, EXISTS condition checks)."""

import botocore.exceptions
import pytest

from ddb_helpers import ddb, range_table, table  # noqa: F401
from helpers import error_code


def run(ddb, statement, params=None, **kw):
    if params is not None:
        kw["Parameters"] = params
    return ddb.execute_statement(Statement=statement, **kw)


def fails(ddb, statement, params=None, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ddb, statement, params, **kw)
    return error_code(e), e.value.response["Error"]["Message"]


def fill(ddb, table, pk, sks):
    for sk in sks:
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"N": str(sk)}, "v": {"N": str(sk * 10)}})


def test_insert_then_select_by_key(ddb, table):
    out = run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 5, 'ok': TRUE, 'tags': <<'x', 'y'>>, "
              "'m': {'l': [1, 'two', NULL]}}")
    assert out["Items"] == []
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    assert item == {
        "pk": {"S": "a"},
        "n": {"N": "5"},
        "ok": {"BOOL": True},
        "tags": {"SS": ["x", "y"]},
        "m": {"M": {"l": {"L": [{"N": "1"}, {"S": "two"}, {"NULL": True}]}}},
    }
    assert run(ddb, f"SELECT * FROM \"{table}\" WHERE pk = 'a'")["Items"] == [item]
    assert run(ddb, f"SELECT n, m.l[1] FROM \"{table}\" WHERE pk = ?", [{"S": "a"}])["Items"] == [
        {"n": {"N": "5"}, "m": {"M": {"l": {"L": [{"S": "two"}]}}}}
    ]
    assert run(ddb, f"SELECT * FROM \"{table}\" WHERE pk = 'nope'")["Items"] == []


def test_insert_of_existing_key_is_duplicate_item(ddb, table):
    run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a'}}")
    code, msg = fails(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'x': 1}}")
    assert code == "DuplicateItemException"
    assert msg == "Duplicate primary key exists in table"
    assert "x" not in ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]


def test_parameters_bind_in_order(ddb, table):
    run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'v': ?}}", [{"S": "p"}, {"N": "7"}])
    assert run(ddb, f"SELECT v FROM \"{table}\" WHERE pk = ? AND v = ?", [{"S": "p"}, {"N": "7"}])["Items"] == [
        {"v": {"N": "7"}}
    ]
    code, msg = fails(ddb, f"SELECT * FROM \"{table}\" WHERE pk = ?", [{"S": "p"}, {"N": "1"}])
    assert code == "ValidationException"
    assert "parameters" in msg


def test_select_with_sort_key_conditions_queries_in_order(ddb, range_table):
    fill(ddb, range_table, "p", [5, 1, 3, 2, 4])
    fill(ddb, range_table, "q", [1])
    t = range_table

    def sks(stmt, params=None):
        return [int(i["sk"]["N"]) for i in run(ddb, stmt, params)["Items"]]

    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p'") == [1, 2, 3, 4, 5]
    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p' AND sk > 3") == [4, 5]
    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p' AND sk BETWEEN 2 AND 4") == [2, 3, 4]
    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p' AND sk <= 2 AND v >= 20") == [2]
    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p' AND sk > 1 AND sk < 4") == [2, 3]
    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p' AND (v = 10 OR v = 50)") == [1, 5]
    assert sks(f"SELECT * FROM \"{t}\" WHERE pk = 'p' AND sk IN [1, 3]") == [1, 3]


def test_select_without_partition_key_scans_with_filter(ddb, range_table):
    fill(ddb, range_table, "p", [1, 2])
    fill(ddb, range_table, "q", [3])
    t = range_table
    items = run(ddb, f"SELECT pk, sk FROM \"{t}\"")["Items"]
    assert len(items) == 3 and all(set(i) == {"pk", "sk"} for i in items)
    assert sorted(int(i["sk"]["N"]) for i in run(ddb, f"SELECT * FROM \"{t}\" WHERE v > 10")["Items"]) == [2, 3]
    got = run(ddb, f"SELECT * FROM \"{t}\" WHERE pk = 'p' OR pk = 'q'")["Items"]
    assert len(got) == 3


def test_functions_and_missing(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "name": {"S": "alpha"}, "l": {"L": [{"N": "1"}]}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "b"}, "name": {"S": "beta"}, "x": {"N": "1"}})

    def pks(where):
        return sorted(i["pk"]["S"] for i in run(ddb, f"SELECT * FROM \"{table}\" WHERE {where}")["Items"])

    assert pks("begins_with(name, 'al')") == ["a"]
    assert pks("contains(name, 'et')") == ["b"]
    assert pks("attribute_type(l, 'L')") == ["a"]
    assert pks("size(name) = 4") == ["b"]
    assert pks("x IS MISSING") == ["a"]
    assert pks("x IS NOT MISSING") == ["b"]
    assert pks("NOT begins_with(name, 'al')") == ["b"]
    assert pks("\"name\" <> 'alpha'") == ["b"]


def test_pagination_with_limit_and_next_token(ddb, range_table):
    fill(ddb, range_table, "p", list(range(7)))
    stmt = f"SELECT * FROM \"{range_table}\" WHERE pk = 'p'"
    seen, token = [], None
    for _ in range(10):
        kw = {"Limit": 3}
        if token:
            kw["NextToken"] = token
        out = run(ddb, stmt, **kw)
        seen += [int(i["sk"]["N"]) for i in out["Items"]]
        token = out.get("NextToken")
        if not token:
            break
    assert seen == list(range(7))
    code, _ = fails(ddb, stmt, NextToken="not-a-token")
    assert code == "ValidationException"


def test_update_sets_and_removes(ddb, table):
    run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1, 'gone': 'x', 'l': [1]}}")
    out = run(ddb, f"UPDATE \"{table}\" SET n = n + 2 SET s = ? REMOVE gone WHERE pk = 'a'", [{"S": "new"}])
    assert out["Items"] == []
    run(ddb, f"UPDATE \"{table}\" SET l = list_append(l, [2]) WHERE pk = 'a'")
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    assert item == {"pk": {"S": "a"}, "n": {"N": "3"}, "s": {"S": "new"}, "l": {"L": [{"N": "1"}, {"N": "2"}]}}


def test_update_and_delete_need_the_item_and_their_conditions(ddb, table):
    code, _ = fails(ddb, f"UPDATE \"{table}\" SET n = 1 WHERE pk = 'missing'")
    assert code == "ConditionalCheckFailedException"
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "missing"}})
    run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1}}")
    code, _ = fails(ddb, f"UPDATE \"{table}\" SET n = 2 WHERE pk = 'a' AND n = 5")
    assert code == "ConditionalCheckFailedException"
    run(ddb, f"UPDATE \"{table}\" SET n = 2 WHERE pk = 'a' AND n = 1")
    code, _ = fails(ddb, f"DELETE FROM \"{table}\" WHERE pk = 'a' AND n = 1")
    assert code == "ConditionalCheckFailedException"
    run(ddb, f"DELETE FROM \"{table}\" WHERE pk = 'a' AND n = 2")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    code, _ = fails(ddb, f"DELETE FROM \"{table}\" WHERE pk = 'a'")
    assert code == "ConditionalCheckFailedException"


def test_errors_as_aws_words_them(ddb, range_table):
    t = range_table
    code, msg = fails(ddb, f"SELEC * FROM \"{t}\"")
    assert code == "ValidationException"
    assert msg.startswith("Statement wasn't well formed, can't be processed:")
    code, msg = fails(ddb, f"SELECT * FROM \"{t}\" WHERE")
    assert msg.startswith("Statement wasn't well formed, can't be processed:")
    code, msg = fails(ddb, f"UPDATE \"{t}\" SET a = 1 WHERE pk = 'p'")
    assert (code, msg) == (
        "ValidationException",
        "Where clause does not contain a mandatory equality on all key attributes",
    )
    code, _ = fails(ddb, "SELECT * FROM \"no-such-table\"")
    assert code == "ResourceNotFoundException"
    code, _ = fails(ddb, f"INSERT INTO \"{t}\" VALUE {{'pk': 'p'}}")
    assert code == "ValidationException"  # the sort key is missing
    code, _ = fails(ddb, f"SELECT * FROM \"{t}\".\"noindex\"")
    assert code == "ValidationException"


def test_select_on_index(ddb):
    name = "pq-ix"
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk, g in [("a", "x"), ("b", "y"), ("c", "x")]:
        run(ddb, f"INSERT INTO \"{name}\" VALUE {{'pk': '{pk}', 'g': '{g}'}}")
    got = run(ddb, f"SELECT pk FROM \"{name}\".\"byg\" WHERE g = 'x'")["Items"]
    assert sorted(i["pk"]["S"] for i in got) == ["a", "c"]


def test_batch_reads_and_writes_with_per_statement_errors(ddb, table):
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1}}"},
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?}}", "Parameters": [{"S": "b"}]},
            {"Statement": f"UPDATE \"{table}\" SET n = 1 WHERE pk = 'missing'"},
            {"Statement": f"INSERT INTO \"{table}\" VALUE garbage"},
        ]
    )["Responses"]
    assert "Error" not in out[0] and "Error" not in out[1]
    assert out[0]["TableName"] == table
    assert out[2]["Error"]["Code"] == "ConditionalCheckFailed"
    assert out[3]["Error"]["Code"] == "ValidationError"
    out = ddb.batch_execute_statement(
        Statements=[{"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'a'}}"}]
    )["Responses"]
    assert out[0]["Error"]["Code"] == "DuplicateItem"
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"},
            {"Statement": f"SELECT n FROM \"{table}\" WHERE pk = 'zzz'"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE n = 1"},
        ]
    )["Responses"]
    assert out[0]["Item"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert "Item" not in out[1] and "Error" not in out[1]
    assert out[2]["Error"]["Code"] == "ValidationError"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.batch_execute_statement(
            Statements=[
                {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"},
                {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a'"},
            ]
        )
    assert error_code(e) == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.batch_execute_statement(Statements=[{"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"}] * 26)
    assert error_code(e) == "ValidationException"


def test_transaction_is_all_or_nothing(ddb, table):
    run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1}}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b'}}"},
                {"Statement": f"UPDATE \"{table}\" SET n = 2 WHERE pk = 'a' AND n = 9"},
            ]
        )
    assert error_code(e) == "TransactionCanceledException"
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "b"}})
    ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b'}}"},
            {"Statement": f"UPDATE \"{table}\" SET n = ? WHERE pk = 'a' AND n = 1", "Parameters": [{"N": "2"}]},
        ],
        ClientRequestToken="tok-1",
    )
    # the same token and statements again: the first outcome, nothing run twice
    ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b'}}"},
            {"Statement": f"UPDATE \"{table}\" SET n = ? WHERE pk = 'a' AND n = 1", "Parameters": [{"N": "2"}]},
        ],
        ClientRequestToken="tok-1",
    )
    out = ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"SELECT n FROM \"{table}\" WHERE pk = 'a'"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'b'"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'none'"},
        ]
    )["Responses"]
    assert out[0]["Item"] == {"n": {"N": "2"}}
    assert out[1]["Item"] == {"pk": {"S": "b"}}
    assert "Item" not in out[2]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"},
                {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a'"},
            ]
        )
    assert error_code(e) == "ValidationException"


def test_transaction_duplicate_insert_and_exists_checks(ddb, table):
    run(ddb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1}}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'a'}}"},
                {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'c'}}"},
            ]
        )
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["DuplicateItem", "None"]
    exists_n1 = {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'a' AND n = 1)"}
    ddb.execute_transaction(
        TransactStatements=[exists_n1, {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'c'}}"}]
    )
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "c"}})
    for check in (
        f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'a' AND n = 2)",
        f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'nobody')",
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ddb.execute_transaction(
                TransactStatements=[{"Statement": check}, {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'c'"}]
            )
        assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "c"}})
    code, msg = fails(ddb, exists_n1["Statement"])
    assert code == "ValidationException" and "EXISTS" in msg
