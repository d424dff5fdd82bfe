"""SQL shape normalisation as a table: statement in, (shape, kind) out.

Pure, so no database: each row is one SQL string as a driver would send it,
the shape ``normalize`` gives it (two queries of one shape are one group) and
the kind ``statement_kind`` reads from its first keyword. The rows state what
the code does today, quirks included (marked), so a change to the rules shows
here as a changed row. Modelled on django-perf-rec's ``sql_fingerprint`` tests.
"""

from __future__ import annotations

import pytest

from perfbudget.collect.sql_shape import KINDS, normalize, shape_of, statement_kind, statement_label

# One case per line reads as a table:
# fmt: off
TABLE = [
    # SELECT: numbers, strings and placeholders of every paramstyle become %s.
    pytest.param('SELECT "a"."id", "a"."name" FROM "a" WHERE "a"."id" = 42', 'SELECT "a"."id", "a"."name" FROM "a" WHERE "a"."id" = %s', "select", id="select integer"),
    pytest.param("SELECT * FROM t WHERE x = 0.25", "SELECT * FROM t WHERE x = %s", "select", id="select decimal"),
    pytest.param("SELECT * FROM t WHERE x = 1.5e10", "SELECT * FROM t WHERE x = %s", "select", id="select exponent"),
    pytest.param("SELECT * FROM t WHERE x = -3", "SELECT * FROM t WHERE x = -%s", "select", id="select negative: the sign is kept"),
    pytest.param("SELECT x1 FROM t2 WHERE t2.c1 = 7", "SELECT x1 FROM t2 WHERE t2.c1 = %s", "select", id="digits inside names are kept"),
    pytest.param("SELECT * FROM t LIMIT 21 OFFSET 40", "SELECT * FROM t LIMIT %s OFFSET %s", "select", id="limit and offset"),
    pytest.param("SELECT * FROM t WHERE name = 'it''s'", "SELECT * FROM t WHERE name = %s", "select", id="string with a doubled quote"),
    pytest.param("SELECT * FROM t WHERE name = ''", "SELECT * FROM t WHERE name = %s", "select", id="empty string"),
    pytest.param("SELECT 'a \"quoted\" string' FROM t", "SELECT %s FROM t", "select", id="double quotes inside a string"),
    pytest.param("SELECT * FROM t WHERE a = %(name)s AND b = %(other)s", "SELECT * FROM t WHERE a = %s AND b = %s", "select", id="pyformat placeholders"),
    pytest.param("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s", "select", id="qmark placeholders"),
    pytest.param("select count(*) from t", "select count(*) from t", "select", id="lower case is kept"),
    # IN lists of any length and content are one shape; a subquery is not a list.
    pytest.param("SELECT * FROM t WHERE id IN (%s)", "SELECT * FROM t WHERE id IN (...)", "select", id="in one"),
    pytest.param('SELECT * FROM "t2" WHERE "t2"."id" IN (%s, %s, %s)', 'SELECT * FROM "t2" WHERE "t2"."id" IN (...)', "select", id="in three"),
    pytest.param("SELECT * FROM t WHERE id in (%s,%s)", "SELECT * FROM t WHERE id IN (...)", "select", id="in, lower case, no spaces"),
    pytest.param("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (...)", "select", id="in numbers"),
    pytest.param("SELECT * FROM t WHERE id IN ('a', 'b')", "SELECT * FROM t WHERE id IN (...)", "select", id="in strings"),
    pytest.param("SELECT * FROM t WHERE id NOT IN (%s, %s)", "SELECT * FROM t WHERE id NOT IN (...)", "select", id="not in"),
    pytest.param("SELECT * FROM t WHERE a IN ( %s, %s )", "SELECT * FROM t WHERE a IN ( %s, %s )", "select", id="in with inner spaces: kept (quirk)"),
    pytest.param("SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = 1)", "SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = %s)", "select", id="in subquery"),
    pytest.param("SELECT * FROM t WHERE id = ANY(%s)", "SELECT * FROM t WHERE id = ANY(%s)", "select", id="postgres any"),
    # Quoted identifiers are kept as written, whatever they hold.
    pytest.param("SELECT * FROM `t` WHERE `t`.`id` = %s", "SELECT * FROM `t` WHERE `t`.`id` = %s", "select", id="mysql backticks"),
    pytest.param('SELECT "weird""name" FROM "t"', 'SELECT "weird""name" FROM "t"', "select", id="doubled quote in an identifier"),
    pytest.param('SELECT "col 1" FROM t', 'SELECT "col 1" FROM t', "select", id="digit inside a quoted identifier"),
    # Whitespace: runs fold to one space, the ends are trimmed.
    pytest.param("\n  SELECT\t*\n FROM   t  \n", "SELECT * FROM t", "select", id="whitespace"),
    pytest.param("", "", "other", id="empty"),
    pytest.param("   ", "", "other", id="blank"),
    # INSERT: VALUES lists of any number of rows are one shape.
    pytest.param('INSERT INTO "t" ("a", "b") VALUES (%s, %s)', 'INSERT INTO "t" ("a", "b") VALUES (...)', "insert", id="insert one row"),
    pytest.param('INSERT INTO "t" ("a", "b") VALUES (%s, %s), (%s, %s), (%s, %s)', 'INSERT INTO "t" ("a", "b") VALUES (...)', "insert", id="bulk insert"),
    pytest.param("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (...)", "insert", id="insert literals"),
    pytest.param("INSERT INTO t (a) VALUES (COALESCE(%s, %s))", "INSERT INTO t (a) VALUES (...)", "insert", id="insert nested parentheses"),
    pytest.param('INSERT INTO "t" ("a") VALUES (%s) RETURNING "t"."id"', 'INSERT INTO "t" ("a") VALUES (...) RETURNING "t"."id"', "insert", id="insert returning"),
    pytest.param("REPLACE INTO t (a) VALUES (%s)", "REPLACE INTO t (a) VALUES (...)", "insert", id="mysql replace"),
    # UPDATE and DELETE.
    pytest.param('UPDATE "t" SET "n" = 5 WHERE "t"."id" = 9', 'UPDATE "t" SET "n" = %s WHERE "t"."id" = %s', "update", id="update"),
    pytest.param('DELETE FROM "t" WHERE "t"."id" IN (%s, %s)', 'DELETE FROM "t" WHERE "t"."id" IN (...)', "delete", id="delete in"),
    # The kind comes from the first keyword, past parentheses and comments.
    pytest.param("WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT %s) SELECT * FROM x", "select", id="with select"),
    pytest.param("with x as (select 1) delete from t", "with x as (select %s) delete from t", "select", id="with delete: a select (quirk)"),
    pytest.param("(SELECT 1) UNION (SELECT 2)", "(SELECT %s) UNION (SELECT %s)", "select", id="parenthesised union"),
    pytest.param("/* hint */ SELECT 1", "/* hint */ SELECT %s", "select", id="block comment"),
    pytest.param("-- note\nUPDATE t SET a = 1", "-- note UPDATE t SET a = %s", "update", id="line comment"),
    pytest.param("EXPLAIN SELECT 1", "EXPLAIN SELECT %s", "other", id="explain"),
    # Savepoints: Django's generated names fold, so every atomic() block has one shape; other names stay.
    pytest.param('SAVEPOINT "s140235_x12"', "SAVEPOINT %s", "other", id="django savepoint"),
    pytest.param('RELEASE SAVEPOINT "s140235_x12"', "RELEASE SAVEPOINT %s", "other", id="release savepoint"),
    pytest.param('ROLLBACK TO SAVEPOINT "s1_x3"', "ROLLBACK TO SAVEPOINT %s", "other", id="rollback to savepoint"),
    pytest.param('SAVEPOINT "my_point"', 'SAVEPOINT "my_point"', "other", id="named savepoint"),
    # Transactions and vendor statements are "other".
    pytest.param("BEGIN", "BEGIN", "other", id="begin"),
    pytest.param("COMMIT", "COMMIT", "other", id="commit"),
    pytest.param("ROLLBACK", "ROLLBACK", "other", id="rollback"),
    pytest.param("PRAGMA foreign_keys = ON", "PRAGMA foreign_keys = ON", "other", id="sqlite pragma"),
]
# fmt: on


@pytest.mark.parametrize(("sql", "shape", "kind"), TABLE)
def test_shape_and_kind(sql: str, shape: str, kind: str) -> None:
    assert (normalize(sql), statement_kind(sql)) == (shape, kind)
    assert shape_of(sql) == (shape, kind)  # the cached pair says the same


def test_every_kind_is_one_the_metrics_count() -> None:
    assert {row.values[2] for row in TABLE} <= set(KINDS)


# What a reader calls the statement (``statement_label``): Django's own spellings first.
# fmt: off
LABELS = [
    pytest.param('SELECT COUNT(*) AS "__count" FROM "shop_category"', "COUNT", id="count()"),
    pytest.param('SELECT %s AS "a" FROM "shop_product" WHERE "shop_product"."id" = %s LIMIT %s', "EXISTS", id="exists(), Django 4.2+"),
    pytest.param('SELECT (1) AS "a" FROM "shop_product" LIMIT 1', "EXISTS", id="exists(), older Django"),
    pytest.param("SELECT EXISTS(SELECT 1 FROM t)", "EXISTS", id="an EXISTS expression"),
    pytest.param('SELECT "t"."id" FROM "t" WHERE "t"."id" = %s FOR UPDATE', "SELECT … FOR UPDATE", id="select_for_update()"),
    pytest.param("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", "SELECT … FOR UPDATE", id="for no key update"),
    pytest.param('SELECT "t"."id", "t"."count" FROM "t"', "SELECT", id="a column named count is a select"),
    pytest.param('INSERT INTO "t" ("a") VALUES (...)', "INSERT", id="insert"),
    pytest.param('UPDATE "t" SET "a" = %s', "UPDATE", id="update"),
    pytest.param('DELETE FROM "t" WHERE "t"."id" IN (...)', "DELETE", id="delete"),
    pytest.param("SAVEPOINT %s", "SAVEPOINT", id="savepoint"),
    pytest.param("RELEASE SAVEPOINT %s", "RELEASE SAVEPOINT", id="release savepoint"),
    pytest.param("ROLLBACK TO SAVEPOINT %s", "ROLLBACK TO SAVEPOINT", id="rollback to savepoint"),
    pytest.param("BEGIN", "BEGIN", id="begin"),
    pytest.param("WITH x AS (SELECT 1) SELECT * FROM x", "SELECT", id="a common table expression"),
    pytest.param("select count(*) from t", "COUNT", id="lower case"),
    pytest.param("", "SQL", id="empty"),
]
# fmt: on


@pytest.mark.parametrize(("sql", "label"), LABELS)
def test_label(sql: str, label: str) -> None:
    assert statement_label(sql) == label
