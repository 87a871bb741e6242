#!/usr/bin/env python3
"""Checks a SARIF log written by luamig.

usage: check_sarif.py LOG RULES_TSV
  LOG        the output of `luamig lint|check --format sarif`
  RULES_TSV  the output of `luamig __rules` (id, level, kind, summary)

Validates LOG against tests/sarif/sarif-2.1.0-subset.schema.json (with the
jsonschema module when it is installed; otherwise the same required fields
are checked by hand), then what code scanning relies on: one run, a rule per
lint rule, each result's ruleIndex pointing at its ruleId, relative URIs.
Prints one line per result: RULE LEVEL URI LINE. Exit 1 on any problem.
"""
import json
import os
import sys


def fail(msg):
    print("check_sarif: " + msg, file=sys.stderr)
    sys.exit(1)


def require(obj, key, where):
    if not isinstance(obj, dict) or key not in obj:
        fail("%s: missing '%s'" % (where, key))
    return obj[key]


def main():
    log_path, rules_path = sys.argv[1], sys.argv[2]
    with open(log_path, encoding="utf-8") as f:
        log = json.load(f)
    schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "sarif-2.1.0-subset.schema.json")
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None:
        validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        if errors:
            fail("schema: " + "; ".join("%s at %s" % (e.message, "/".join(map(str, e.path)))
                                       for e in errors[:5]))
    else:
        print("check_sarif: note: python3-jsonschema is not installed; checking the required "
              "fields by hand", file=sys.stderr)

    # the fields the specification requires, checked by hand either way
    if require(log, "version", "log") != "2.1.0":
        fail("version is not 2.1.0")
    if "$schema" not in log:
        fail("no $schema")
    runs = require(log, "runs", "log")
    if not isinstance(runs, list) or len(runs) != 1:
        fail("expected exactly one run")
    run = runs[0]
    driver = require(require(run, "tool", "run"), "driver", "tool")
    if require(driver, "name", "driver") != "luamig":
        fail("driver name is not luamig")
    for key in ("version", "informationUri"):
        require(driver, key, "driver")
    rules = require(driver, "rules", "driver")
    ids = []
    for i, rule in enumerate(rules):
        ids.append(require(rule, "id", "rules[%d]" % i))
        for key in ("shortDescription", "fullDescription", "help"):
            text = require(require(rule, key, "rule " + ids[-1]), "text", key)
            if not text.strip():
                fail("rule %s: empty %s" % (ids[-1], key))
    if len(set(ids)) != len(ids):
        fail("duplicate rule ids")

    with open(rules_path, encoding="utf-8") as f:
        table = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    kinds = set(os.environ.get("SARIF_KINDS", "lint").split(","))
    expected = [row[0] for row in table if row[2] in kinds]
    missing = [r for r in expected if r not in ids]
    if missing:
        fail("rules missing from tool.driver.rules: " + ", ".join(missing))

    for i, res in enumerate(require(run, "results", "run")):
        where = "results[%d]" % i
        rule_id = require(res, "ruleId", where)
        idx = require(res, "ruleIndex", where)
        if not (0 <= idx < len(ids)) or ids[idx] != rule_id:
            fail("%s: ruleIndex %r does not point at rule %s" % (where, idx, rule_id))
        level = require(res, "level", where)
        if level not in ("error", "warning"):
            fail("%s: level %r" % (where, level))
        if not require(require(res, "message", where), "text", where + ".message"):
            fail(where + ": empty message")
        locs = require(res, "locations", where)
        phys = require(locs[0], "physicalLocation", where + ".locations[0]")
        uri = require(require(phys, "artifactLocation", where), "uri", where)
        if uri.startswith("/") or ":" in uri.split("/")[0]:
            fail("%s: uri %r is not relative" % (where, uri))
        line = require(require(phys, "region", where), "startLine", where)
        if not isinstance(line, int) or line < 1:
            fail("%s: startLine %r" % (where, line))
        print(rule_id, level, uri, line)


if __name__ == "__main__":
    main()
