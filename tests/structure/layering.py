#!/usr/bin/env python3
"""The layering luamig keeps, checked on the sources and the built library.

usage: layering.py SOURCE_DIR OBJECT_DIR
(OBJECT_DIR: where the build keeps the library's object files, e.g.
build/CMakeFiles/luamig_core.dir)

1. Outside engine/dialect/ no C file names a database: no LM_SQLITE /
   LM_POSTGRESQL, no lm_dialect_id, no libpq (PQ…) or SQLite (sqlite3_…) call.
2. engine/dialect/ includes nothing of bindings/ or the CLI, and calls nothing
   of the bindings (lm_lua_…), the sink (lm_sink_…) or the runner
   (lm_project_…, lm_upgrade, …).
3. The CLI (engine/cli/) includes only its own header and the public ones.
4. No two files of the library depend on each other in a loop through the
   functions and data they take from one another (read from the archive's
   symbol tables: a defined symbol of one member used by another).
Prints every breach, one a line, and exits 1 when there is one.
"""
import os
import re
import subprocess
import sys

src, objdir = sys.argv[1], sys.argv[2]
breaches = []


def c_files(*dirs):
    for d in dirs:
        for root, _, files in os.walk(os.path.join(src, d)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(root, f)


def rel(p):
    return os.path.relpath(p, src)


def code_lines(path):
    """The file's lines with comments and string literals blanked."""
    text = open(path, encoding="utf-8", errors="replace").read()
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('"' + " " * (min(j, n) - i - 1) + '"')
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out).split("\n")


# 1. dialect names outside engine/dialect/
NAMES = re.compile(r"\b(LM_SQLITE|LM_POSTGRESQL|lm_dialect_id|PQ[a-zA-Z]+\s*\(|sqlite3_[a-z_]+)")
for path in c_files("engine", "bindings", "include"):
    if rel(path).startswith("engine/dialect/"):
        continue
    for k, line in enumerate(code_lines(path), 1):
        m = NAMES.search(line)
        if m:
            breaches.append(f"{rel(path)}:{k}: names a database outside engine/dialect/: {m.group(1)}")

# 2-3. includes of the dialects and of the CLI
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
for path in c_files("engine/dialect"):
    for k, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
        m = INCLUDE.match(line)
        if m and (m.group(1) in ("lbind.h", "cli.h") or m.group(1).startswith(("bindings/", "cli/"))):
            breaches.append(f"{rel(path)}:{k}: a dialect includes {m.group(1)}")
for path in c_files("engine/cli"):
    for k, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
        m = INCLUDE.match(line)
        if m and not (m.group(1) == "cli.h" or m.group(1).startswith("luamig")):
            breaches.append(f"{rel(path)}:{k}: the CLI includes an internal header {m.group(1)}")

# 4. the object files and the symbols each defines and takes
defined, used = {}, {}
for root, _, files in os.walk(objdir):
    for f in sorted(files):
        if not f.endswith(".o"):
            continue
        path = os.path.join(root, f)
        member = os.path.relpath(path, objdir)[: -len(".c.o")]  # engine/dialect/sqlite
        used[member] = set()
        nm = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
        for line in nm.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRC":
                defined[parts[2]] = member
            elif len(parts) == 2 and parts[0] == "U":
                used[member].add(parts[1])

graph = {m: {defined[s] for s in syms if defined.get(s) not in (None, m)} for m, syms in used.items()}

FORBIDDEN = re.compile(r"^(lm_lua_|lm_sink_|lm_project_|lm_upgrade$|lm_downgrade$|lm_stamp$|cli_)")
for m in sorted(used):
    if not m.startswith("engine/dialect/"):
        continue
    for s in sorted(used[m]):
        if FORBIDDEN.match(s) and s in defined:
            breaches.append(f"{m}.c: calls {s} (a dialect is below the engine)")

# Tarjan's strongly connected components
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph.get(v, ()):
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            comps.append(sorted(comp))


for v in sorted(graph):
    if v not in index:
        strong(v)
for comp in comps:
    ties = []
    for a in comp:
        for b in sorted(graph[a] & set(comp)):
            syms = sorted(s for s in used[a] if defined.get(s) == b)[:3]
            ties.append(f"{a}.c -> {b}.c ({', '.join(syms)})")
    breaches.append("a loop of files: " + "; ".join(ties))

if not used:
    breaches.append(f"{objdir}: no object files read")
for b in breaches:
    print(b)
print(f"layering: {len(used)} object files, {len(breaches)} breach(es)")
sys.exit(1 if breaches else 0)
