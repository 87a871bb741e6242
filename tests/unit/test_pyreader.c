/* The Python reader (engine/pyreader.c) and the Alembic converter
 * (engine/alembic_import.c): tokens, the tree, and the Lua it becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "luamig/import.h"
#include "pyreader.h"

static void parse_ok(const char *src, py_module *m) {
  int line;
  const char *err;
  int rc = py_parse(src, strlen(src), m, &line, &err);
  if (rc) fail_msg("parse failed at line %d: %s", line, err);
}

static void parse_err(const char *src, int want_line, const char *want) {
  py_module m;
  int line;
  const char *err;
  assert_int_equal(py_parse(src, strlen(src), &m, &line, &err), -1);
  assert_int_equal(line, want_line);
  assert_non_null(strstr(err, want));
}

static void test_strings(void **state) {
  (void)state;
  py_module m;
  parse_ok("x = 'a' \"b\" '''c\nd''' r'\\n' b'\\x41' f'z'\n"
           "y = \"\\t\\\"\\u00e9\\N{DASH}\\\n!\"\n",
           &m);
  assert_int_equal(m.nbody, 2);
  const py_node *v = m.body[0]->value;
  assert_int_equal(v->kind, PY_STR);
  assert_int_equal(v->len, strlen("abc\nd\\nAz"));
  assert_memory_equal(v->s, "abc\nd\\nAz", v->len);
  assert_true(v->bytes);
  assert_true(v->fstring);
  v = m.body[1]->value;
  assert_string_equal(v->s, "\t\"\xc3\xa9\\N{DASH}!");
  assert_int_equal(m.body[1]->line, 3); /* the triple-quoted string spans two lines */
  py_module_free(&m);
}

static void test_indentation_and_continuations(void **state) {
  (void)state;
  py_module m;
  parse_ok("# a comment\n"
           "def upgrade() -> None:\n"
           "    op.create_table('t',\n"
           "        sa.Column('id'),  # trailing\n"
           "\n"
           "    )\n"
           "    x = 1 + \\\n"
           "        2\n"
           "    with op.batch_alter_table('t', schema=None) as b:\n"
           "        b.drop_column('c')\n"
           "\n"
           "    pass\n"
           "def downgrade(): pass\n",
           &m);
  assert_int_equal(m.nbody, 2);
  const py_stmt *up = m.body[0];
  assert_int_equal(up->kind, PY_S_DEF);
  assert_string_equal(up->name, "upgrade");
  assert_int_equal(up->line, 2);
  assert_int_equal(up->nbody, 4);
  assert_int_equal(up->body[0]->kind, PY_S_EXPR);
  assert_int_equal(up->body[0]->line, 3);
  assert_int_equal(up->body[0]->end_line, 6);
  assert_int_equal(up->body[1]->kind, PY_S_ASSIGN);
  assert_int_equal(up->body[1]->end_line, 8);
  assert_int_equal(up->body[2]->kind, PY_S_WITH);
  assert_string_equal(up->body[2]->name, "b");
  assert_int_equal(up->body[2]->nbody, 1);
  assert_int_equal(up->body[3]->kind, PY_S_PASS);
  assert_int_equal(m.body[1]->kind, PY_S_DEF);
  assert_int_equal(m.body[1]->nbody, 1);
  assert_int_equal(m.body[1]->body[0]->kind, PY_S_PASS);
  py_module_free(&m);
}

static void test_expressions(void **state) {
  (void)state;
  py_module m;
  parse_ok("op.f(a.b.c(1, -2.5e-3, k=[True, False, None], *x, **y), (1,), (), {'a': (2)})\n", &m);
  const py_node *call = m.body[0]->value;
  assert_int_equal(call->kind, PY_CALL);
  char *d = py_dotted(call->a);
  assert_string_equal(d, "op.f");
  free(d);
  assert_int_equal(call->n, 4);
  const py_node *inner = call->items[0];
  assert_int_equal(inner->n, 5);
  assert_int_equal(inner->items[1]->kind, PY_UNARY);
  assert_string_equal(inner->items[1]->a->s, "2.5e-3");
  assert_string_equal(inner->kw[2], "k");
  assert_int_equal(inner->items[2]->kind, PY_LIST);
  assert_int_equal(inner->items[2]->items[2]->kind, PY_NONE);
  assert_int_equal(inner->items[3]->kind, PY_STAR);
  assert_string_equal(inner->items[4]->s, "**");
  assert_int_equal(call->items[1]->kind, PY_TUPLE);
  assert_int_equal(call->items[1]->n, 1);
  assert_int_equal(call->items[2]->kind, PY_TUPLE);
  assert_int_equal(call->items[2]->n, 0);
  assert_int_equal(call->items[3]->kind, PY_DICT);
  assert_int_equal(call->items[3]->items[1]->kind, PY_NUM);
  py_module_free(&m);
}

static void test_module_level(void **state) {
  (void)state;
  py_module m;
  parse_ok("\"\"\"msg\n\nRevision ID: abc\n\"\"\"\n"
           "from typing import Sequence, Union\n"
           "from sqlalchemy.dialects import (postgresql as pg, sqlite)\n"
           "import sqlalchemy as sa\n"
           "revision: str = 'abc'\n"
           "down_revision: Union[str, None] = ('a', 'b')\n"
           "branch_labels: Union[str, Sequence[str], None] = None\n",
           &m);
  assert_int_equal(m.nbody, 7);
  assert_int_equal(m.body[0]->kind, PY_S_EXPR);
  assert_int_equal(m.body[2]->kind, PY_S_IMPORT);
  assert_string_equal(m.body[2]->module, "sqlalchemy.dialects");
  assert_int_equal(m.body[2]->nnames, 2);
  assert_string_equal(m.body[2]->asnames[0], "pg");
  assert_null(m.body[3]->module);
  assert_string_equal(m.body[3]->names[0], "sqlalchemy");
  assert_string_equal(m.body[3]->asnames[0], "sa");
  const py_stmt *a = m.body[5];
  assert_int_equal(a->kind, PY_S_ASSIGN);
  assert_non_null(a->annotation);
  assert_int_equal(a->annotation->kind, PY_SUBSCR);
  assert_int_equal(a->value->kind, PY_TUPLE);
  assert_int_equal(a->value->n, 2);
  py_module_free(&m);
}

static void test_other_statements(void **state) {
  (void)state;
  py_module m;
  parse_ok("def upgrade():\n"
           "    for r in rows:\n"
           "        x(r)\n"
           "    else:\n"
           "        y()\n"
           "    if a:\n"
           "        b()\n"
           "    elif c:\n"
           "        d()\n"
           "    z = [i for i in q]\n"
           "    return 1\n"
           "    op.execute('x')\n",
           &m);
  const py_stmt *up = m.body[0];
  assert_int_equal(up->nbody, 5);
  assert_int_equal(up->body[0]->kind, PY_S_OTHER);
  assert_int_equal(up->body[0]->line, 2);
  assert_int_equal(up->body[0]->end_line, 5);
  assert_int_equal(up->body[1]->kind, PY_S_OTHER);
  assert_int_equal(up->body[1]->end_line, 9);
  assert_int_equal(up->body[2]->kind, PY_S_OTHER);
  assert_string_equal(up->body[2]->why, "a comprehension");
  assert_int_equal(up->body[3]->kind, PY_S_OTHER);
  assert_int_equal(up->body[4]->kind, PY_S_EXPR);
  assert_int_equal(up->body[4]->line, 12);
  char *t = py_line_text(&m, 10);
  assert_string_equal(t, "z = [i for i in q]");
  free(t);
  py_module_free(&m);
}

static void test_tokenizer_errors(void **state) {
  (void)state;
  parse_err("x = 'abc\n", 1, "unterminated string");
  parse_err("x = '''abc\n\n", 1, "unterminated string");
  parse_err("x = (1,\n2\n", 1, "never closed");
  parse_err("x = 1)\n", 1, "unmatched");
  parse_err("if x:\n    a\n  b\n", 3, "unindent");
  parse_err("x = 1 $ 2\n", 1, "unexpected character");
  parse_err("x = '\\x4'\n", 1, "escape");
}

/* ---- the converter ---------------------------------------------------------------- */

static char *convert(const char *src, lm_alembic_rev *r) {
  int rc = lm_alembic_convert("v/abc_x.py", "abc_x.py", src, strlen(src), r);
  if (rc) fail_msg("convert failed: %s", r->error);
  return r->lua;
}

#define HEAD "\"\"\"the message\n\nRevision ID: abc\n\"\"\"\nrevision = 'abc'\n"

static void test_convert_directives(void **state) {
  (void)state;
  lm_alembic_rev r;
  const char *lua =
      convert(HEAD "down_revision = ('p', 'q')\n"
                   "def upgrade():\n"
                   "    op.add_column('t', sa.Column('c', sa.String(length=20), "
                   "server_default=sa.text(\"'x'\"), nullable=False))\n"
                   "    op.alter_column('t', 'c', type_=sa.Text(), server_default=None)\n"
                   "    op.drop_constraint(op.f('fk'), 't', type_='foreignkey')\n",
              &r);
  assert_non_null(strstr(lua, "down_revision = { \"p\", \"q\" }\n"));
  assert_non_null(strstr(lua, "message = \"the message\"\n"));
  assert_non_null(strstr(lua, "  op.add_column(\"t\", op.column(\"c\", \"string(20)\", { "
                              "server_default = op.sql(\"'x'\"), nullable = false }))\n"));
  assert_non_null(strstr(lua, "  op.alter_column(\"t\", \"c\", { type = \"text\", "
                              "server_default = false })\n"));
  assert_non_null(
      strstr(lua, "op.drop_constraint(op.f(\"fk\"), \"t\", { type_ = \"foreignkey\" })"));
  assert_int_equal(r.nunconverted, 0);
  assert_string_equal(r.name, "abc_x.lua");
  lm_alembic_rev_free(&r);
}

static void test_convert_unconverted(void **state) {
  (void)state;
  lm_alembic_rev r;
  const char *lua =
      convert(HEAD "down_revision = None\n"
                   "def upgrade():\n"
                   "    conn = op.get_bind()\n"
                   "    op.create_index('i', 't', ['c'], postgresql_with={'fillfactor': 50})\n"
                   "    op.execute(sa.text('x').bindparams(y=1))\n"
                   "    helper()\n"
                   "    op.alter_column('t', 'c', type_=sa.String(collation='C'))\n",
              &r);
  assert_int_equal(r.nunconverted, 5);
  assert_non_null(strstr(lua, "  error(\"not converted from Alembic: conn = op.get_bind()\")\n"));
  assert_non_null(strstr(r.diag.s, "v/abc_x.py:8: not converted: conn = op.get_bind()\n"));
  assert_non_null(strstr(r.diag.s, "v/abc_x.py:9: not converted: op.create_index("));
  assert_non_null(strstr(r.diag.s, "v/abc_x.py:11: not converted: helper()\n"));
  /* a collation is a column's option, which alter_column has not */
  assert_non_null(strstr(lua, "-- not converted (a collation outside a Column"));
  /* never a half-converted call */
  assert_null(strstr(lua, "op.create_index(\"i\""));
  lm_alembic_rev_free(&r);
}

static void test_convert_batch_enum_autocommit(void **state) {
  (void)state;
  lm_alembic_rev r;
  const char *lua = convert(
      HEAD
      "down_revision = 'p'\n"
      "branch_labels = 'lbl'\n"
      "depends_on = ['d1', 'd2']\n"
      "TABLE = 'users'\n"
      "def upgrade():\n"
      "    with op.batch_alter_table(TABLE, recreate='always') as b:\n"
      "        b.add_column(sa.Column('st', sa.Enum('a', 'bb', name='st'), nullable=True))\n"
      "        b.drop_index(b.f('ix_old'))\n"
      "    with op.get_context().autocommit_block():\n"
      "        op.create_index('ix', 'users', ['st'], postgresql_concurrently=True)\n"
      "    op.create_index('ix_g', 'users', ['doc'], postgresql_using='gin')\n"
      "    op.drop_index('ix_g', table_name='users', postgresql_using='gin')\n"
      "    op.create_index('ix_p', 'users', ['nm'], postgresql_ops={'nm': 'text_pattern_ops'})\n"
      "    op.drop_index('ix_p', table_name='users', postgresql_ops={'nm': 'text_pattern_ops'})\n"
      "    op.create_index('ix_c', 'users', ['nm'], unique=True, postgresql_include=['st', "
      "'doc'])\n"
      "    op.drop_index('ix_c', table_name='users', postgresql_include=['st', 'doc'])\n"
      "    op.add_column('users', sa.Column('code', sa.String(length=8, collation='C'), "
      "nullable=False))\n"
      "    op.add_column('users', sa.Column('memo', sa.Text(collation='en_US.utf8')))\n",
      &r);
  assert_int_equal(r.nunconverted, 0);
  assert_non_null(strstr(lua, "branch_labels = \"lbl\"\ndepends_on = { \"d1\", \"d2\" }\n"));
  assert_non_null(strstr(lua, "local TABLE = \"users\"\n"));
  assert_non_null(strstr(lua,
                         "  op.batch_alter_table(TABLE, function(b)\n"
                         "    -- sa.Enum \"st\" on column \"st\": a VARCHAR with a CHECK "
                         "constraint (no PostgreSQL enum type)\n"
                         "    b.add_column(op.column(\"st\", \"string(2)\", { nullable = true }))\n"
                         "    b.create_check_constraint(\"st\", \"\\\"st\\\" IN ('a', 'bb')\")\n"
                         "    b.drop_index(op.f(\"ix_old\"))\n"
                         "  end, { recreate = \"always\" })\n"));
  assert_non_null(strstr(lua, "  op.autocommit_block(function()\n"
                              "    op.create_index(\"ix\", \"users\", { \"st\" }, "
                              "{ postgresql_concurrently = true })\n"
                              "  end)\n"));
  /* the index method kept; drop_index's copy of it, as autogenerate writes
   * it, has nothing to drop by */
  assert_non_null(strstr(lua, "  op.create_index(\"ix_g\", \"users\", { \"doc\" }, "
                              "{ postgresql_using = \"gin\" })\n"
                              "  op.drop_index(\"ix_g\", { table_name = \"users\" })\n"));
  /* a String's or Text's collation is the column's option */
  assert_non_null(strstr(lua, "  op.add_column(\"users\", op.column(\"code\", \"string(8)\", { "
                              "nullable = false, collation = \"C\" }))\n"));
  assert_non_null(strstr(lua, "  op.add_column(\"users\", op.column(\"memo\", \"text\", { "
                              "collation = \"en_US.utf8\" }))\n"));
  assert_non_null(strstr(lua, "  op.create_index(\"ix_p\", \"users\", { \"nm\" }, "
                              "{ postgresql_ops = { nm = \"text_pattern_ops\" } })\n"
                              "  op.drop_index(\"ix_p\", { table_name = \"users\" })\n"));
  /* a covering index's INCLUDE columns likewise */
  assert_non_null(strstr(lua, "  op.create_index(\"ix_c\", \"users\", { \"nm\" }, { unique = true, "
                              "postgresql_include = { \"st\", \"doc\" } })\n"
                              "  op.drop_index(\"ix_c\", { table_name = \"users\" })\n"));
  assert_non_null(strstr(r.diag.s, "note: sa.Enum on column \"st\""));
  lm_alembic_rev_free(&r);
}

static void test_convert_rejects(void **state) {
  (void)state;
  lm_alembic_rev r;
  const char *src = "revision = 'not-an-id'\n";
  assert_int_equal(lm_alembic_convert("v/x.py", "x.py", src, strlen(src), &r), -1);
  assert_non_null(strstr(r.error, "not-an-id"));
  assert_int_equal(r.error_line, 1);
  lm_alembic_rev_free(&r);
  src = "def upgrade():\n    pass\n";
  assert_int_equal(lm_alembic_convert("v/x.py", "x.py", src, strlen(src), &r), -1);
  assert_non_null(strstr(r.error, "no 'revision"));
  lm_alembic_rev_free(&r);
  /* a docstring's Revision ID and Revises stand in for missing assignments */
  src = "\"\"\"msg\n\nRevision ID: r1\nRevises: r0\n\"\"\"\n";
  assert_int_equal(lm_alembic_convert("v/x.py", "x.py", src, strlen(src), &r), 0);
  assert_non_null(strstr(r.lua, "revision = \"r1\"\ndown_revision = \"r0\"\n"));
  lm_alembic_rev_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_indentation_and_continuations),
      cmocka_unit_test(test_expressions),
      cmocka_unit_test(test_module_level),
      cmocka_unit_test(test_other_statements),
      cmocka_unit_test(test_tokenizer_errors),
      cmocka_unit_test(test_convert_directives),
      cmocka_unit_test(test_convert_unconverted),
      cmocka_unit_test(test_convert_batch_enum_autocommit),
      cmocka_unit_test(test_convert_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
