# reliability_lib.sh: helpers shared by the test_reliability_*.sh scripts,
# sourced after lib.sh. (Not a test: CMake registers test_*.sh only.)

# fast_schema [URL] [EXTRA_SQL]: what db_schema shows -- relations, columns
# (type, nullability, default, identity), indexes, constraints, row counts and
# the version table's rows -- in one round trip: on PostgreSQL one psql call
# instead of db_schema's three (the reliability tests dump the database after
# hundreds of runs). EXTRA_SQL, PostgreSQL only, is run in the same call and
# its rows appended. On SQLite it is db_schema itself (sqlite3 is cheap).
fast_schema() {
  local url=${1:-$LM_URL} extra=${2:-}
  if ! is_pg; then
    db_schema "$url"
    return
  fi
  local user_ns="n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'"
  local vt=$LM_VERSION_TABLE
  db_query "
SELECT 'schema|' || n.nspname FROM pg_namespace n WHERE $user_ns AND n.nspname <> 'public' ORDER BY 1;
SELECT 'relation|' || n.nspname || '.' || c.relname || '|kind=' || c.relkind::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND $user_ns ORDER BY 1;
SELECT 'column|' || n.nspname || '.' || c.relname || '|' || a.attname
       || '|' || format_type(a.atttypid, a.atttypmod) || '|notnull=' || a.attnotnull
       || '|default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), 'NULL')
       || '|identity=' || a.attidentity::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND $user_ns
 ORDER BY n.nspname, c.relname, a.attnum;
SELECT 'index|' || n.nspname || '.' || t.relname || '|' || i.relname
       || '|' || pg_get_indexdef(i.oid) || '|valid=' || x.indisvalid
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE $user_ns ORDER BY 1;
SELECT 'constraint|' || n.nspname || '.' || c.relname || '|' || con.conname
       || '|' || con.contype::text || '|' || pg_get_constraintdef(con.oid)
       || '|validated=' || con.convalidated
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE $user_ns ORDER BY 1;
SELECT 'rows|' || n.nspname || '.' || c.relname || '|' ||
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND $user_ns ORDER BY 1;
SELECT 'version|' || v
  FROM unnest(xpath('/table/row/v/text()', CASE WHEN to_regclass('$vt') IS NOT NULL THEN
         query_to_xml('SELECT revision || ''|step='' || coalesce(step::text, ''NULL'') || ''|'' || checksum AS v
                         FROM $vt ORDER BY revision', false, false, '') END)) AS x(v)
 ORDER BY 1;
$extra" "$url" || _lm_harness_error "fast_schema: PostgreSQL introspection failed"
}
