"""The console's search index: any three or more characters of a case's title or text, or of a report's phone
number, found without reading every row.

The search box finds a substring (an estate's name, a road, four digits of a number), which no B-tree index
serves: at a million cases a LIKE reads every case (a second) and every report's number (three seconds). Both
databases have a trigram index for this, and the console's query is the same substring match through it:

- SQLite: two FTS5 tables with the built-in ``trigram`` tokenizer (case-insensitive), over the case table's title
  and summary and the report table's phone, kept by triggers (insert, delete, and an update of those columns:
  retention's masking reaches the index in the same statement). A quoted phrase matches where the text contains
  it, as LIKE ``%q%`` does. The tables hold only the index (``content=`` the real table).
- PostgreSQL: GIN indexes with ``pg_trgm``'s ``gin_trgm_ops`` on the same three columns; the query is an ILIKE
  (case-insensitive, as on SQLite), which the planner answers from them. The extension (PostgreSQL's contrib, a
  trusted extension since 13) is created when missing; when it cannot be, the schema is not made and the error
  says what to ask for.

A trigram needs three characters: a shorter search (two Chinese characters, 噪音) reads the table as before.
The index is made beside the models' tables (``create_all`` cannot make a virtual table or an operator-class
index in another schema), by `create` here, called for a new database and by migration 0019; autogenerate's
filter (`gateway.db.for_this_dialect`) leaves out what is named ``search_*``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, func, literal_column, table, text, union
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from gateway.config import ConfigError
from gateway.db import SEARCH_PREFIX as PREFIX  # the schema comparison leaves out what is named so
from gateway.models import Case, Report

SHORTEST = 3  # characters: a trigram index cannot find less

# (table, indexed columns) for each FTS5 table / GIN index
INDEXED = {"case": ("title", "summary"), "report": ("phone",)}


def _fts(source: str) -> str:
    return f"{PREFIX}{source}"


def sqlite_ddl(source: str, columns: tuple[str, ...]) -> list[str]:
    fts, names = _fts(source), ", ".join(columns)
    new, old = ", ".join(f"new.{c}" for c in columns), ", ".join(f"old.{c}" for c in columns)
    delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{source}', content_rowid='id', tokenize='trigram')",
        f'CREATE TRIGGER {fts}_insert AFTER INSERT ON "{source}" BEGIN {insert} END',
        f'CREATE TRIGGER {fts}_delete AFTER DELETE ON "{source}" BEGIN {delete} END',
        f'CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON "{source}" BEGIN {delete} {insert} END',
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # what the table already holds
    ]


_FIND_TRGM = ("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
              "WHERE e.extname = 'pg_trgm'")


def _trgm_schema(conn: Connection) -> str:
    """The schema that holds pg_trgm, created in ``public`` when the database lacks it; a clear error if it cannot."""
    found = conn.exec_driver_sql(_FIND_TRGM).scalar()
    if found is None:
        try:
            with conn.begin_nested():  # a failure here must not abort the schema's transaction
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        except Exception as exc:
            if conn.exec_driver_sql(_FIND_TRGM).scalar() is not None:  # another node made it at the same moment
                return _trgm_schema(conn)
            raise ConfigError("the console's search needs PostgreSQL's pg_trgm extension (contrib), which this "
                              f"database lacks and this user could not create ({str(exc).splitlines()[0]}): ask the "
                              "database's owner to run `CREATE EXTENSION pg_trgm SCHEMA public;`, then start "
                              "again") from exc
        found = "public"
    return str(found)


def create(conn: Connection) -> None:
    """Make the index (and fill it from what the tables hold) in the connection's transaction."""
    if conn.dialect.name == "sqlite":
        for source, columns in INDEXED.items():
            for statement in sqlite_ddl(source, columns):
                try:
                    conn.exec_driver_sql(statement)
                except Exception as exc:
                    if "fts5" in str(exc).lower() and "no such module" in str(exc).lower():
                        raise ConfigError("the console's search needs SQLite's FTS5, which this Python's sqlite3 "
                                          "lacks: use a Python built with it (python.org's and Debian's are)") from exc
                    raise
        return
    schema = _trgm_schema(conn)
    for source, columns in INDEXED.items():
        for column in columns:
            conn.exec_driver_sql(f'CREATE INDEX {PREFIX}{source}_{column} ON "{source}" '
                                 f'USING gin ({column} "{schema}".gin_trgm_ops)')


def drop(conn: Connection) -> None:
    """Remove the index (migration 0019's downgrade)."""
    for source, columns in INDEXED.items():
        if conn.dialect.name == "sqlite":
            for suffix in ("_insert", "_delete", "_update"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_fts(source)}{suffix}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_fts(source)}")
        else:
            for column in columns:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {PREFIX}{source}_{column}")


def _match(source: str, needle: str) -> Any:
    """The ids of ``source``'s rows whose indexed columns contain ``needle`` (SQLite: through the FTS5 table)."""
    fts = table(_fts(source))
    phrase = '"' + needle.replace('"', '""') + '"'  # FTS5: one quoted string, the characters as they are
    # a parameter named for its table: the case's and the report's phrases differ in one statement
    return (select(literal_column("rowid")).select_from(fts)
            .where(text(f"{_fts(source)} MATCH :{source}_phrase").bindparams(**{f"{source}_phrase": phrase})))


def cases_containing(dialect: str, q: str, digits: str) -> Any:
    """The WHERE clause of the cases whose title or text contains ``q``, or with a report whose number contains
    ``digits`` (when given): their ids from one branch per index, so that each is answered by it.

    SQLite: ``Case.id IN (the branches)``. PostgreSQL: ``Case.id = ANY(ARRAY(the branches))``: pg_trgm guesses
    about 1 % of the rows for any pattern (10,000 of a million where 1,770 match), and with that guess the
    planner joins ``IN`` by reading every case (340 ms at a million); the array is computed first and the cases
    are then found by their ids (48 ms)."""
    if dialect == "sqlite":
        if len(q) >= SHORTEST:
            branches = [_match("case", q)]
        else:  # too short for a trigram: read the cases
            branches = [select(Case.id).where(col(Case.title).contains(q, autoescape=True)),
                        select(Case.id).where(col(Case.summary).contains(q, autoescape=True))]
        if digits:
            branches.append(select(Report.case_id).where(col(Report.id).in_(_match("report", digits))))
    else:  # ILIKE: case-insensitive as SQLite's LIKE and trigram are, and served by gin_trgm_ops all the same
        branches = [select(Case.id).where(col(Case.title).icontains(q, autoescape=True)),
                    select(Case.id).where(col(Case.summary).icontains(q, autoescape=True))]
        if digits:
            branches.append(select(Report.case_id).where(col(Report.phone).contains(digits, autoescape=True)))
        return col(Case.id) == any_(func.array(union(*branches).scalar_subquery()))
    return col(Case.id).in_(union(*branches))
