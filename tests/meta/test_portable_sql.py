"""Portable SQL (issue 20, "Beyond one server"; docs/distributed.md): no query crmctl issues depends on
an SQLite-only or a single-node-PostgreSQL-only feature without a portable path.

* ``CATALOGUE``: the features, each with a pattern over SQL text (and, for ORM calls that produce
  them, the SQLAlchemy method names) and what makes it non-portable.
* ``ALLOWED``: (feature, issuer) -> the portable path, where the issuer is ``module:qualname`` of the
  crmctl function that sends the statement (``module:*`` for a whole module, ``name*`` for a prefix),
  or ``alembic:*`` / ``sqlalchemy.dialects:*`` for what the migration and dialect machinery send on
  their own.  Keyed so that a merge adjusts one line.  A portable path that is still to be built is
  marked ``[gap: docs/distributed.md change N]`` (checked against the plan's table).
* Static part: every string constant in ``crmctl/**/*.py`` (f-strings joined, docstrings left out) and
  every call of a listed ORM method.  An SQLite-only feature needs a dialect check in the function
  that holds it (``is_sqlite``, ``dialect.name`` ...) or an allow-list entry; a server feature (it
  runs on one PostgreSQL, not as such on Citus or CockroachDB) always needs an allow-list entry,
  because a dialect check tells SQLite from PostgreSQL, not one server from a cluster.
* Dynamic part: a representative workload run through the CLI (init, staff, an admission chain,
  documents, customer and volume imports, grade runs of a threshold and a rank scale, the visit plan,
  a complaint opened and closed, every report, the customer list as csv, the audit trail, db check)
  with every statement captured (``before_cursor_execute`` on every engine) and attributed to the
  innermost crmctl function on the stack.  On PostgreSQL (``--pg`` / ``CRMCTL_TEST_PG``) no
  SQLite-only feature may reach the server at all, and every server feature needs its entry; on
  SQLite an SQLite-only feature in SQL text crmctl wrote needs its entry (SQLAlchemy's own
  rendering for the SQLite dialect -- ``JSON_EXTRACT`` of a JSON path, ``WITHOUT ROWID`` -- is the
  dialect's portable path by construction) and no server feature may appear.

A failure names the statement, the feature, where it comes from and what to do.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "crmctl"


@dataclass(frozen=True)
class Feature:
    kind: str  # "sqlite": SQLite only; "server": one PostgreSQL server, not as such a cluster
    pattern: str
    why: str
    apis: tuple[str, ...] = ()  # SQLAlchemy methods / keywords that produce it (static part)
    examples: tuple[str, ...] = ()  # statements it must match (checked, so the patterns stay honest)
    not_examples: tuple[str, ...] = ()

    @functools.cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.pattern, re.IGNORECASE | re.MULTILINE)


CATALOGUE: dict[str, Feature] = {
    # ------------------------------------------------------------------ SQLite only
    "PRAGMA": Feature("sqlite", r"^\s*PRAGMA\b", "SQLite's settings and checks",
                      examples=("PRAGMA busy_timeout = 30000", "  pragma integrity_check"),
                      not_examples=("SELECT 'pragma'",)),
    "sqlite_master": Feature("sqlite", r"\bsqlite_(master|schema|sequence)\b", "SQLite's catalogue",
                             examples=("SELECT name, sql FROM sqlite_master WHERE type = 'index'",)),
    "rowid": Feature("sqlite", r"(?<!WITHOUT\s)\b_?rowid_?\b",
                     "SQLite's implicit row id (PostgreSQL has none; ctid is no key)",
                     examples=("SELECT max(rowid) FROM usage_record",),
                     not_examples=("SELECT customer_id FROM x", ") WITHOUT ROWID")),
    "INSERT OR": Feature("sqlite", r"\bINSERT\s+OR\s+(REPLACE|IGNORE|ABORT|FAIL|ROLLBACK)\b",
                         "SQLite's conflict clause (portable: INSERT ... ON CONFLICT)",
                         examples=("INSERT OR IGNORE INTO counter VALUES (?, ?)",)),
    "json_extract": Feature("sqlite", r"\b(json_extract|json_each|json_tree|json_group_array)\s*\(",
                            "SQLite's JSON functions (PostgreSQL: -> / ->>, json_array_elements)",
                            apis=("json_each", "json_tree", "json_group_array"),
                            examples=("SELECT JSON_EXTRACT(segments, '$.a') FROM customer",
                                      "SELECT value FROM json_each(?)")),
    "strftime": Feature("sqlite", r"\b(strftime|julianday|unixepoch)\s*\(", "SQLite's date functions",
                        examples=("SELECT strftime('%Y-%m', day) FROM usage_record", "julianday(at)")),
    "datetime()": Feature("sqlite", r"(?<![.\w])datetime\s*\(", "SQLite's datetime() function",
                          examples=("WHERE at > datetime('now')",), not_examples=("datetime.now()",)),
    "BEGIN IMMEDIATE": Feature("sqlite", r"^\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)\b",
                               "SQLite's write lock at the start of a transaction",
                               examples=("BEGIN IMMEDIATE",), not_examples=("BEGIN",)),
    "VACUUM INTO": Feature("sqlite", r"^\s*VACUUM\b", "SQLite's file-level compaction / copy",
                           examples=("VACUUM INTO '/tmp/x.db'",)),
    "ATTACH": Feature("sqlite", r"^\s*(ATTACH|DETACH)\s+(DATABASE\b|')", "SQLite's second database file on a connection",
                      examples=("ATTACH DATABASE 'x.db' AS other",)),
    "WITHOUT ROWID": Feature("sqlite", r"\bWITHOUT\s+ROWID\b", "an SQLite table layout",
                             examples=("CREATE TABLE g (a INT PRIMARY KEY) WITHOUT ROWID",)),
    # ------------------------------------------------------------------ one PostgreSQL server
    "advisory lock": Feature("server", r"\bpg_(try_)?advisory", "session locks held by one server process "
                             "(CockroachDB: no session-level ones)", examples=("SELECT pg_advisory_xact_lock(1)",)),
    "LISTEN/NOTIFY": Feature("server", r"^\s*(LISTEN|NOTIFY|UNLISTEN)\s+[\w\"*]|\bpg_notify\s*\(", "one server's message bus",
                             examples=("NOTIFY crmctl", "SELECT pg_notify('a', 'b')"),
                             not_examples=("notify.webhook", "notify.kind")),
    "ctid": Feature("server", r"\bctid\b", "a physical row address on one server",
                    examples=("SELECT ctid FROM customer",)),
    "catalog": Feature("server", r"\b(pg_catalog|information_schema|pg_roles|pg_tables|pg_namespace|pg_trigger|pg_class"
                                 r"|pg_policies|pg_has_role|pg_get_userbyid|to_regclass|current_schema)\b",
                       "PostgreSQL's own catalogue (Citus: the coordinator's; CockroachDB: a compatibility layer)",
                       examples=("SELECT rolname FROM pg_roles", "SELECT current_schema()")),
    "LOCK TABLE": Feature("server", r"^\s*LOCK\s+(TABLE\s+)?\w+", "an explicit table lock (CockroachDB has no LOCK)",
                          examples=("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE",)),
    "FOR UPDATE": Feature("server", r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(KEY\s+)?SHARE\b",
                          "a row lock: portable syntax, but on a cluster a lock on one shared row serialises every "
                          "writer of the cluster (a hotspot), and a distributed row is locked on its shard",
                          apis=("with_for_update",), examples=("SELECT * FROM counter WHERE name = $1 FOR UPDATE",)),
    "CREATE TRIGGER": Feature("server", r"\b(CREATE|DROP)\s+TRIGGER\b|\b(ENABLE|DISABLE)\s+TRIGGER\b|\bplpgsql\b",
                              "server-side triggers (Citus: not on distributed tables without workarounds; "
                              "CockroachDB: row-level only, no statement-level/TRUNCATE triggers)",
                              examples=("CREATE TRIGGER crmctl_kept BEFORE UPDATE ON audit_log FOR EACH ROW ...",
                                        "ALTER TABLE approval DISABLE TRIGGER crmctl_kept")),
    "ROW LEVEL SECURITY": Feature("server", r"\bROW\s+LEVEL\s+SECURITY\b|\b(CREATE|DROP|ALTER)\s+POLICY\b",
                                  "row-level security (Citus: propagation to shards to be checked; CockroachDB: "
                                  "recent releases only)",
                                  examples=("ALTER TABLE customer ENABLE ROW LEVEL SECURITY", "CREATE POLICY p ON t")),
    "server functions": Feature("server", r"\bCREATE\s+(OR\s+REPLACE\s+)?FUNCTION\b|\bSECURITY\s+DEFINER\b",
                                "functions stored in the server (PL/pgSQL; Citus: create_distributed_function; "
                                "CockroachDB: UDF support to be checked)",
                                examples=("CREATE OR REPLACE FUNCTION crmctl_me() RETURNS integer",)),
    "roles": Feature("server", r"^\s*((CREATE|ALTER|DROP)\s+ROLE|SET\s+(LOCAL\s+|SESSION\s+)?ROLE|GRANT|REVOKE|"
                               r"REASSIGN\s+OWNED|(ALTER\s+\w+\s+\S+\s+)?OWNER\s+TO)\b",
                     "database roles and grants (Citus: propagated from the coordinator; CockroachDB: its own "
                     "role model, SET ROLE to be checked)",
                     examples=('SET ROLE "sales01"', "GRANT SELECT ON customer TO crmctl_staff")),
    "TEMP table": Feature("server", r"\bCREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\s+TABLE\b|\bON\s+COMMIT\s+DROP\b",
                          "a temporary table (Citus: a coordinator-local table; CockroachDB: experimental, "
                          "no ON COMMIT DROP)", examples=("CREATE TEMP TABLE s (LIKE usage_record) ON COMMIT DROP",)),
    "COPY": Feature("server", r"^\s*COPY\s+[\w.\"{}]+\s*(\([^)]*\)\s*)?(FROM|TO)\b",
                    "PostgreSQL's COPY protocol (Citus and CockroachDB accept COPY FROM STDIN)",
                    examples=("COPY usage_record (customer_id, day, qty) FROM STDIN", "COPY s FROM STDIN"),
                    not_examples=("copy the database",)),
    "SET LOCAL": Feature("server", r"^\s*SET\s+(LOCAL|SESSION)\s+(?!ROLE\b)\w+|^\s*SET\s+(?!LOCAL\b|SESSION\b|ROLE\b)"
                                   r"\w+\s*(=|TO\b)",
                         "a planner or session setting of one server",
                         examples=("SET LOCAL cursor_tuple_fraction = 1",), not_examples=("SET LOCAL ROLE x",)),
    "ANALYZE": Feature("server", r"^\s*(ANALYZE|VACUUM\s+ANALYZE)\b", "statistics of one server's table",
                       examples=("ANALYZE usage_record",)),
    "sequences": Feature("server", r"\b(nextval|setval|currval)\s*\(|\b(BIG|SMALL)?SERIAL\b|\bCREATE\s+SEQUENCE\b",
                         "a sequence: one counter on one server (Citus: fine on the coordinator; CockroachDB: "
                         "SERIAL becomes unique_rowid() unless serial_normalization says otherwise)",
                         examples=("CREATE TABLE c (id SERIAL NOT NULL)", "SELECT nextval('c_id_seq')")),
}

#: (feature, issuer) -> the portable path.  ``issuer``: ``crmctl.module:qualname``, ``crmctl.module:*``,
#: a ``name*`` prefix, or ``alembic:*`` / ``sqlalchemy.dialects:*`` (their own statements).
ALLOWED: dict[tuple[str, str], str] = {
    # --- SQLite connections and bulk paths (crmctl.db): only ever on a SQLite engine
    ("PRAGMA", "crmctl.db:_install_sqlite_hooks*"): "SQLite only: installed by make_engine when the backend is sqlite",
    ("BEGIN IMMEDIATE", "crmctl.db:_install_sqlite_hooks*"): "SQLite only (see PRAGMA); PostgreSQL's BEGIN comes "
                                                             "from its dialect, row locks do the rest",
    ("PRAGMA", "crmctl.db:restore_sqlite"): "SQLite file restore (db restore refuses a server URL; pg_restore there)",
    ("PRAGMA", "crmctl.db:integrity_problems"): "guarded by db.is_sqlite; the audit chain walk is the portable check",
    ("rowid", "crmctl.db_bulk:bulk_load"): "SQLite only (PostgreSQL counts at most the rows coming + 1, portable "
                                           "SQL): an O(log n) bound of the row count",
    ("sqlite_master", "crmctl.db_bulk:_secondary_indexes"): "SQLite only: the indexes to rebuild (elsewhere the "
                                                            "dialect's introspection and the models' Index objects)",
    ("json_extract", "crmctl.db:_json_value_construct*"): "SQLite's rendering of db.json_value; PostgreSQL's is "
                                                          "the -> operator (@compiles per dialect)",
    ("json_extract", "crmctl.services.customers.names:_key_in"): "SQLite's json_each of one bound list; "
                                                                 "PostgreSQL: = ANY(array) (dialect.name check)",
    ("PRAGMA", "crmctl.services.maintenance:*"): "db backup / restore / verify of SQLite files (sqlite3 module); "
                                                 "PostgreSQL: pg_dump / pg_restore (services.pg_backup)",
    ("PRAGMA", "crmctl.services.demo:_move_into_place"): "the demo builds a SQLite file only",
    # --- what the dialect and the migration machinery send themselves
    ("catalog", "sqlalchemy.dialects:*"): "the dialect's introspection; sqlalchemy-cockroachdb brings its own, "
                                          "Citus is introspected as PostgreSQL on the coordinator",
    ("PRAGMA", "sqlalchemy.dialects:*"): "the SQLite dialect's introspection (table_info ...); each dialect has its own",
    ("catalog", "alembic:*"): "Alembic's has_table / version table checks through the dialect (as above)",
    ("sequences", "alembic:*"): "integer primary keys are SERIAL on PostgreSQL (Citus: sequences on the "
                                "coordinator); sqlalchemy-cockroachdb renders them as INT8 DEFAULT unique_rowid()",
    ("PRAGMA", "alembic:*"): "batch migrations on SQLite (render_as_batch) read the table definitions",
    ("sqlite_master", "alembic:*"): "batch migrations on SQLite (as above)",
    ("WITHOUT ROWID", "alembic:*"): "grade_result's layout on SQLite (sqlite_with_rowid=False, ignored elsewhere)",
    # --- one PostgreSQL server: roles, grants, triggers, row-level security (crmctl db roles, migration 0006)
    ("CREATE TRIGGER", "crmctl.pg_security:*"): "the audit trail and approvals kept as written: optional defence in "
                                                "depth; the application writes them append-only itself "
                                                "(services.audit, the hash chain and 'db check' detect any change); "
                                                "[gap: docs/distributed.md change 9] on distributed tables and "
                                                "CockroachDB",
    ("ROW LEVEL SECURITY", "crmctl.pg_security:*"): "optional ('crmctl db roles'); the application enforces "
                                                    "visibility itself (crmctl/services/visibility.py); off on a "
                                                    "cluster [gap: docs/distributed.md change 10]",
    ("server functions", "crmctl.pg_security:*"): "the SECURITY DEFINER functions of row-level security (as above)",
    ("roles", "crmctl.pg_security:*"): "'crmctl db roles' (optional): without it crmctl runs as one role and "
                                       "enforces permissions itself",
    ("catalog", "crmctl.pg_security:*"): "the roles' and tables' state read for 'db roles' (as above)",
    ("CREATE TRIGGER", "crmctl.migrations.versions.0006_access:*"): "migration 0006 installs the triggers on "
                                                                    "PostgreSQL (see crmctl.pg_security)",
    ("server functions", "crmctl.migrations.versions.0006_access:*"): "the trigger functions of migration 0006 "
                                                                      "(as above)",
    ("ROW LEVEL SECURITY", "crmctl.migrations.versions.0006_access:downgrade"): "its downgrade (as above)",
    ("CREATE TRIGGER", "crmctl.migrations.versions.0007_decided_once:*"): "the approval trigger paused for one "
                                                                          "statement of the migration (as above)",
    ("catalog", "crmctl.migrations.versions.0007_decided_once:*"): "whether the trigger exists (pg_trigger)",
    ("roles", "crmctl.db:Database.set_role*"): "each person's role on PostgreSQL (crmctl db roles); without roles "
                                               "the application's own checks apply",
    ("roles", "crmctl.services.pg_access:*"): "'crmctl db roles' and login roles of staff (optional, as above)",
    ("catalog", "crmctl.services.identity:*"): "who the server says is connected (pg_roles); SQLite: the OS account",
    ("catalog", "crmctl.services.maintenance:*"): "the schema a PostgreSQL backup or copy works on",
    ("sequences", "crmctl.services.maintenance:copy_database"): "db copy into PostgreSQL moves each SERIAL's "
                                                                "sequence past the copied ids (Citus: the "
                                                                "coordinator's sequences; CockroachDB: "
                                                                "unique_rowid() ids need no reset -- to be checked)",
    # --- migrations on a shared server: one administrator migrates
    ("LOCK TABLE", "crmctl.db:_migrate"): "PostgreSQL only (guarded): two administrators upgrading at once; "
                                          "CockroachDB has no LOCK: SELECT ... FOR UPDATE of alembic_version "
                                          "[gap: docs/distributed.md change 8]",
    # --- row locks on shared rows: the hotspots of a cluster (docs/distributed.md, "not co-located")
    ("FOR UPDATE", "crmctl.services.counters:advance"): "the counter row of codes and numbers: works everywhere, "
                                                        "one hot row; on Citus a coordinator table (docs/distributed"
                                                        ".md change 5), a sequence only if gaps are acceptable",
    ("FOR UPDATE", "crmctl.services.audit:_Head.__init__"): "the audit chain's head: one order for the whole trail, "
                                                            "on the coordinator (Citus); CockroachDB's ids are not "
                                                            "monotonic, so the chain needs its own sequence number "
                                                            "[gap: docs/distributed.md change 6]",
    ("FOR UPDATE", "crmctl.services.lookups:*"): "one customer / record row, locked by its code or number: Citus "
                                                 "refuses a multi-shard SELECT ... FOR UPDATE, so the id is read "
                                                 "from a look-up table first, then the row locked by id; CockroachDB "
                                                 "as it is [gap: docs/distributed.md change 3]",
    ("FOR UPDATE", "crmctl.services.staff:*"): "staff rows (a reference table) of a handover",
    ("FOR UPDATE", "crmctl.services.activities.visits:*"): "planned activities of one customer (one shard); the "
                                                           "company-wide ones (customer_id IS NULL) move to a table "
                                                           "of their own [gap: docs/distributed.md change 2]",
    # --- bulk paths on PostgreSQL (issue 20): volume import over COPY, bulk writes, planner settings
    ("COPY", "crmctl.db:CopyIn.__init__"): "COPY ... FROM STDIN: PostgreSQL, Citus and CockroachDB accept it; "
                                           "crmctl.db.copy_supported() is false for any other server, which "
                                           "takes the executemany path (SQLite's)",
    ("TEMP table", "crmctl.services.volumes:_Copy.__init__"): "the staging table of a volume import (CREATE "
                                                              "TEMPORARY TABLE ... ON COMMIT DROP): Citus keeps it "
                                                              "on the coordinator; CockroachDB needs experimental "
                                                              "temp tables and has no ON COMMIT DROP -> the "
                                                              "executemany path [gap: docs/distributed.md change 11]",
    ("TEMP table", "crmctl.db:_scratch_table"): "the rows of bulk_insert/bulk_update (as the staging table above)",
    ("SET LOCAL", "crmctl.db:_install_pg_hooks*"): "SET cursor_tuple_fraction = 1 on each PostgreSQL connection: a "
                                                   "planner setting (Citus: the coordinator's planner; CockroachDB: "
                                                   "skip it) [gap: docs/distributed.md change 11]",
    ("ANALYZE", "crmctl.services.maintenance:copy_database"): "statistics of a database copied onto PostgreSQL "
                                                               "(as bulk_load's, below)",
    ("ANALYZE", "crmctl.db_bulk:bulk_load"): "ANALYZE usage_record after a bulk load on PostgreSQL: Citus propagates "
                                        "ANALYZE to the shards; CockroachDB accepts ANALYZE as CREATE STATISTICS",
}

#: entries for code that is on its way (see ALLOWED); not required to match anything in this tree
PENDING: set[tuple[str, str]] = set()

#: entries whose SQL text is written elsewhere (crmctl.pg_security builds it, the migration sends it):
#: only the dynamic part on PostgreSQL sees them
DYNAMIC_ONLY = {("CREATE TRIGGER", "crmctl.migrations.versions.0006_access:*"),
                ("server functions", "crmctl.migrations.versions.0006_access:*")}

#: a dialect check in a function makes its SQLite-only SQL safe (it never reaches a server)
_GUARD = re.compile(r"\bis_sqlite\b|\bdialect\.name\b|\bget_backend_name\(\)|\bself\.sqlite\b|\bsqlite_path\(")

#: crmctl helpers that only pass a caller's SQL on: the caller is the issuer
_PASS_ON = {"crmctl.db:raw", "crmctl.db:stream_chunks", "crmctl.db:raw_chunks", "crmctl.pg_security:execute"}

_WHAT_TO_DO = ("either keep the statement to the backend it belongs to (a dialect check in the function: "
               "dialect.name / db.is_sqlite), use a portable construct (SQLAlchemy Core/ORM, which each dialect "
               "renders), or add (feature, issuer) to ALLOWED in tests/meta/test_portable_sql.py with its portable "
               "path -- what Citus and CockroachDB would do instead -- and say so in docs/distributed.md")


def allowed(feature: str, issuer: str) -> str | None:
    for (feat, key), why in ALLOWED.items():
        if feat != feature:
            continue
        if key == issuer or (key.endswith("*") and issuer.startswith(key[:-1])):
            return why
    return None


def _used_key(feature: str, issuer: str) -> tuple[str, str] | None:
    for (feat, key) in ALLOWED:
        if feat == feature and (key == issuer or (key.endswith("*") and issuer.startswith(key[:-1]))):
            return feat, key
    return None


def matches(sql: str) -> list[str]:
    return [name for name, f in CATALOGUE.items() if f.regex.search(sql)]


# ----------------------------------------------------------------------------------------------
# Static part


@dataclass(frozen=True)
class Site:
    module: str
    qualname: str
    line: int
    text: str
    guarded: bool

    @property
    def issuer(self) -> str:
        return f"{self.module}:{self.qualname}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Scanner(ast.NodeVisitor):
    def __init__(self, module: str, source: str):
        self.module, self.source = module, source
        self.stack: list[ast.AST] = []
        self.hits: list[tuple[str, Site]] = []
        self.functions: dict[int, str] = {}  # first line -> qualname (to name a frame of the dynamic part)

    def _qualname(self) -> str:
        names = [n.name for n in self.stack]
        return ".".join(names) if names else "<module>"

    def _guarded(self) -> bool:
        for node in self.stack:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                seg = ast.get_source_segment(self.source, node) or ""
                if _GUARD.search(seg):
                    return True
        return False

    def _scope(self, node):
        self.stack.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            self.functions[node.lineno] = self._qualname()
            self.functions.setdefault(first, self._qualname())
        self._body(node)
        self.stack.pop()

    def _body(self, node):
        body = getattr(node, "body", None)
        for child in ast.iter_child_nodes(node):
            if (isinstance(body, list) and body and child is body[0] and isinstance(child, ast.Expr)
                    and isinstance(child.value, ast.Constant) and isinstance(child.value.value, str)):
                continue  # a docstring
            self.visit(child)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Module(self, node):
        self._body(node)

    def _text(self, text: str, node):
        for feature in matches(text):
            self.hits.append((feature, Site(self.module, self._qualname(), node.lineno, " ".join(text.split())[:160],
                                            self._guarded())))

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            self._text(node.value, node)

    def visit_JoinedStr(self, node):
        parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
        self._text("".join(parts), node)
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                self.visit(v.value)

    def _api(self, name: str, node):
        for feature, f in CATALOGUE.items():
            if name in f.apis:
                self.hits.append((feature, Site(self.module, self._qualname(), node.lineno, f".{name}(...)",
                                                self._guarded())))

    def visit_Attribute(self, node):
        self._api(node.attr, node)
        self.generic_visit(node)

    def visit_keyword(self, node):
        if node.arg:
            self._api(node.arg, node)
        self.generic_visit(node)


@functools.lru_cache(maxsize=None)
def scan() -> tuple[list[tuple[str, Site]], dict[str, dict[int, str]]]:
    hits: list[tuple[str, Site]] = []
    functions: dict[str, dict[int, str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        scanner = _Scanner(_module_name(path), source)
        scanner.visit(ast.parse(source, str(path)))
        hits += scanner.hits
        functions[str(path.resolve())] = scanner.functions
    return hits, functions


def test_the_catalogue_matches_its_examples():
    for name, f in CATALOGUE.items():
        assert f.kind in ("sqlite", "server"), name
        for ex in f.examples:
            assert f.regex.search(ex), f"{name}: {f.pattern!r} misses its example {ex!r}"
        for ex in f.not_examples:
            assert not f.regex.search(ex), f"{name}: {f.pattern!r} matches {ex!r}"
    for feature, _issuer in ALLOWED:
        assert feature in CATALOGUE, f"ALLOWED names an unknown feature {feature!r}"
    assert PENDING <= set(ALLOWED) and DYNAMIC_ONLY <= set(ALLOWED)


def test_every_gap_names_a_change_of_the_plan():
    """An entry whose portable path is still to be built says so ("[gap: docs/distributed.md change N]"),
    and change N is a row of the plan's table."""
    doc = (ROOT / "docs" / "distributed.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (\d+) \|", doc, re.MULTILINE))
    gaps = {key: m.group(1) for key, why in ALLOWED.items() for m in [re.search(r"\[gap: docs/distributed\.md "
                                                                        r"change (\d+)\]", why)] if m}
    assert gaps, "no gap is marked"
    missing = {key: n for key, n in gaps.items() if n not in rows}
    assert not missing, f"gaps naming a change that docs/distributed.md does not list: {missing}"


def test_no_sql_string_in_crmctl_depends_on_one_backend_without_a_portable_path():
    problems = []
    for feature, site in scan()[0]:
        if allowed(feature, site.issuer):
            continue
        if CATALOGUE[feature].kind == "sqlite" and site.guarded:
            continue
        problems.append(f"{site.module.replace('.', '/')}.py:{site.line} ({site.qualname}): {feature} -- "
                        f"{CATALOGUE[feature].why}\n    {site.text}")
    assert not problems, ("SQL that depends on one backend without a portable path:\n  " + "\n  ".join(problems)
                          + f"\nWhat to do: {_WHAT_TO_DO}.")


def test_every_allow_list_entry_is_still_needed():
    """An entry that matches nothing any more is removed (entries for the migration and dialect machinery
    are only seen by the dynamic part; PENDING ones are for code on its way)."""
    used = {_used_key(feature, site.issuer) for feature, site in scan()[0]}
    exempt = PENDING | DYNAMIC_ONLY
    stale = [k for k in ALLOWED if k not in used and k not in exempt and k[1].startswith("crmctl.")]
    assert not stale, f"ALLOWED entries that match no code any more (remove them): {stale}"


# ----------------------------------------------------------------------------------------------
# Dynamic part


def _issuers(frames) -> tuple[str, ...]:
    """Who sent a statement, innermost first: the crmctl function (or the machinery: alembic, the
    SQLAlchemy dialect) and, before it, the crmctl helpers that passed a caller's SQL on (``_PASS_ON``:
    a helper that issues SQL of its own is listed by its name); () for anything else (the tests'
    own engines)."""
    functions = scan()[1]
    helpers: list[str] = []
    for frame, _lineno in frames:
        module = frame.f_globals.get("__name__", "")
        filename = str(Path(frame.f_code.co_filename).resolve())
        if filename.startswith(str(PACKAGE)):
            qual = functions.get(filename, {}).get(frame.f_code.co_firstlineno, frame.f_code.co_name)
            issuer = f"{_module_name(Path(filename))}:{qual}"
            if issuer in _PASS_ON:
                helpers.append(issuer)
                continue
            return (issuer, *helpers)
        if module.startswith("sqlalchemy.dialects."):
            return ("sqlalchemy.dialects:" + frame.f_code.co_name, *helpers)
        if module.startswith("alembic."):
            return ("alembic:" + frame.f_code.co_name, *helpers)
        if module.startswith("tests."):
            return ()
    return ()


@dataclass
class Seen:
    sql: str
    issuer: str  # the function that sent it ("" when not crmctl's)
    raw: bool  # SQL text crmctl wrote (exec_driver_sql, text()), not rendered by the dialect
    helpers: tuple[str, ...] = ()  # crmctl helpers between the statement and the issuer

    def allowed(self, feature: str) -> str | None:
        return next(filter(None, (allowed(feature, who) for who in (self.issuer, *self.helpers))), None)


class Capture:
    """Every statement sent through any engine while it is active (class-level engine event)."""

    def __init__(self):
        self.seen: list[Seen] = []

    def __enter__(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        from sqlalchemy.sql.elements import TextClause

        compiled = getattr(context, "compiled", None)
        raw = compiled is None or isinstance(getattr(compiled, "statement", None), TextClause)
        who = _issuers(traceback.walk_stack(sys._getframe(1)))
        self.seen.append(Seen(statement, who[0] if who else "", raw, tuple(who[1:])))


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


def _workload(db_path, make_cli, tmp_path) -> None:
    """A day's work through the CLI, on petrochem (initialised here) and gas-tiered (its rank scale)."""
    cli = Cli(db_path)
    cli.ok("init", "--policy", "petrochem", "--admin", "admin", actor="")
    for login, role in (("xiaoshou", "sales"), ("caiwu", "finance"), ("zongjingli", "gm"), ("zhuguan", "leader")):
        cli.ok("staff", "add", login, "--name", login, "--role", role)
    code = cli.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--tax-id", "91350100M000100Y43",
                  "--owner", "xiaoshou").strip()
    cli.ok("doc", "add", code, "--type", "business_license", "--number", "L-1", "--expires", "2027-06-30")
    cli.ok("doc", "add", code, "--type", "税务登记证", "--number", "T-1", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "org_code", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "billing_info")
    cli.ok("customer", "submit", code)
    for who in ("xiaoshou", "caiwu", "zongjingli"):
        cli.ok("approve", code, actor=who)
    cli.ok("customer", "edit", code, "--name", "河北华塑化工股份有限公司")
    cli.ok("customer", "note", code, "--channel", "call", "--text", "来访")
    cli.ok("volume", "import", _csv(tmp_path / "pv.csv", "customer,date,qty,product,amount",
                                    [f"{code},2026-07-0{d},{100 * d},PP,{1000 * d}" for d in range(1, 8)]
                                    + [f"{code},2026-08-15,900,PE,"]))
    cli.ok("volume", "add", code, "--qty", "12.5", "--date", "2026-11-20")
    cli.ok("grade", "run", "--period", "quarter", "--label", "2026-Q3")
    cli.ok("grade", "run", "--period", "quarter", "--label", "2026-Q3")  # a re-run: the upsert path
    cli.ok("grade", "explain", code)
    cli.ok("visit", "plan", "--month", "2026-12")
    cli.ok("complaint", "open", code, "--summary", "到货数量不符")
    cli.ok("complaint", "submit-opinion", "1", "--note", "补发", actor="xiaoshou")
    cli.ok("complaint", "approve-opinion", "1", actor="zhuguan")  # an approval request, decided once
    cli.ok("complaint", "close", "1", "--note", "已补发")
    cli.ok("customer", "list", "--format", "csv")
    cli.ok("customer", "show", code, "--format", "json")
    cli.ok("report", "pack", "--output", str(tmp_path / "pack.html"))
    cli.ok("audit", "list", "--format", "csv")
    cli.ok("db", "check")

    gas = make_cli("gas-tiered", "gas.db")
    rows = [f"G{i:02d},工业{i},pipeline,industrial," for i in range(1, 11)] + ["R1,居民,pipeline,residential,general"]
    gas.ok("customer", "import", _csv(tmp_path / "gc.csv", "code,name,supply,sector,class", rows))
    vol = [f"G{i:02d},2025-06-01,{i * 300000},,{i * 300000 * (3 + i / 10)}" for i in range(1, 11)]
    vol += [f"G{i:02d},2024-06-01,{300000 * (11 - i)},," for i in range(1, 11)]
    gas.ok("volume", "import", _csv(tmp_path / "gv.csv", "customer,date,qty,product,amount", vol))
    gas.ok("score", "set", "G01", "credit=10", "--label", "2025")
    gas.ok("grade", "run", "--period", "year", "--label", "2025")  # the weighted-score rank (top 10 %)
    gas.ok("report", "big-customers", "--format", "csv")


def problems_of(seen: list[Seen], server: bool) -> dict[tuple[str, str], str]:
    """(feature, issuer) -> what is wrong, for the statements of a run on a server or on SQLite."""
    problems: dict[tuple[str, str], str] = {}
    for s in seen:
        if not s.issuer:
            continue
        for feature in matches(s.sql):
            if CATALOGUE[feature].kind == "sqlite":
                if server:
                    why = "an SQLite-only feature reached PostgreSQL"
                elif not s.raw or s.allowed(feature):
                    continue
                else:
                    why = "SQLite-only SQL text without a portable path"
            elif server and s.allowed(feature):
                continue
            else:
                why = "a single-server feature without a portable path" if server else "a server feature sent to SQLite"
            sql = " ".join(s.sql.split())[:200]
            problems.setdefault((feature, s.issuer), f"{feature} from {s.issuer} ({why}): {sql}")
    return problems


def test_every_statement_of_a_days_work_has_a_portable_path(db_path, make_cli, tmp_path, pg_server):
    with Capture() as cap:
        _workload(db_path, make_cli, tmp_path)
    assert len(cap.seen) > 200, len(cap.seen)  # the capture saw the work
    assert sum(s.issuer.startswith("crmctl.services.") for s in cap.seen) > 100  # and who sent it
    problems = problems_of(cap.seen, bool(pg_server))
    assert not problems, ("statements that depend on one backend:\n  " + "\n  ".join(problems.values())
                          + f"\nWhat to do: {_WHAT_TO_DO}.")


ISSUER = "crmctl.services.customers.records:add_customer"


@pytest.mark.parametrize("seen,server,feature", [
    (Seen("INSERT OR REPLACE INTO counter (name, value) VALUES (?, ?)", ISSUER, True), False, "INSERT OR"),
    (Seen("SELECT pg_advisory_xact_lock(42)", ISSUER, True), True, "advisory lock"),
    (Seen("SELECT JSON_EXTRACT(segments, '$.a') FROM customer", ISSUER, False), True, "json_extract"),
    (Seen("SELECT * FROM counter WHERE name = %(n)s FOR UPDATE", ISSUER, False), True, "FOR UPDATE"),
    (Seen("LOCK TABLE customer IN SHARE MODE", ISSUER, True), False, "LOCK TABLE"),
])
def test_a_new_non_portable_statement_is_reported(seen, server, feature):
    """What the dynamic part reports for a statement nobody listed (and not for the dialect's rendering)."""
    assert list(problems_of([seen], server)) == [(feature, ISSUER)]


def test_the_dialects_own_rendering_and_listed_statements_pass():
    compiled_json = Seen("SELECT JSON_EXTRACT(segments, '$.a') FROM customer", ISSUER, False)
    counter = Seen("SELECT counter.value FROM counter WHERE counter.name = %(n)s FOR UPDATE",
                   "crmctl.services.counters:advance", False)
    assert problems_of([compiled_json], server=False) == {}
    assert problems_of([counter], server=True) == {}
    assert problems_of([Seen("PRAGMA x", "", True)], server=True) == {}  # not crmctl's (a test's own engine)
    # a helper that passes its callers' SQL on: the caller is the issuer, and must be listed
    hint = Seen("ANALYZE usage_record", "crmctl.services.customers.reading:_flat_rows", True, ("crmctl.db:raw",))
    assert list(problems_of([hint], server=True)) == [("ANALYZE", "crmctl.services.customers.reading:_flat_rows")]




class _PostgresFamily:
    """A dialect of the PostgreSQL family under another name, as sqlalchemy-cockroachdb's ``cockroachdb``
    (a subclass of SQLAlchemy's PostgreSQL dialect): what crmctl renders for it."""

    @staticmethod
    def dialect():
        from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

        class CockroachLike(PGDialect_psycopg):
            name = "cockroachdb"

        return CockroachLike()


@pytest.mark.xfail(strict=True, reason="crmctl tells PostgreSQL by dialect.name == 'postgresql': a PostgreSQL-family "
                                       "dialect under another name (sqlalchemy-cockroachdb's 'cockroachdb') gets the "
                                       "SQLite forms of db.json_value and customers.names._key_in "
                                       "(docs/distributed.md, What would have to change)")
def test_a_postgresql_family_dialect_gets_no_sqlite_rendering():
    from types import SimpleNamespace

    from sqlalchemy import select

    from crmctl.db import json_value
    from crmctl.models import Customer
    from crmctl.services.customers.names import _key_in

    dialect = _PostgresFamily.dialect()
    session = SimpleNamespace(get_bind=lambda: SimpleNamespace(dialect=dialect))
    rendered = [str(stmt.compile(dialect=dialect)) for stmt in (
        select(json_value(Customer.segments, "channel")), select(Customer.id).where(_key_in(session, ["a", "b"])))]
    sqlite_only = [(f, " ".join(sql.split())) for sql in rendered for f in matches(sql) if CATALOGUE[f].kind == "sqlite"]
    assert not sqlite_only, sqlite_only
