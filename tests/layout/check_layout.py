#!/usr/bin/env python3
"""check_layout.py - the shape ARCHITECTURE.md promises, checked on the tree.

1. No C source or header of formats/, otlp/, store/, parsers/, query/, libtrace/, collector/, cli/ is
   longer than MAX_LINES (docs/STYLE.md, Files and layout: aim under ~900).
2. No include cycle between modules: a .c and its .h are one module, and so
   are the files of one module split by job around its NAME_impl.h
   (pipeline.c, loop.c, source.c, delivery.c around pipeline_impl.h).
3. cli/ includes nothing of collector/ (what both need is in store/ or parsers/); otlp/ includes
   only formats/ (clewd's otlp input and tracegrep both link it).
Usage: check_layout.py SOURCE_ROOT. Exit 0 when all hold, 1 with each breach.
"""
import os
import re
import sys

MAX_LINES = 1000  # the ~900 aim, with room for a header comment; over this a file needs splitting
DIRS = ("formats", "otlp", "store", "parsers", "query", "render", "libtrace", "collector", "cli")
INCLUDE_DIRS = ("collector", "formats/include", "otlp/include", "otlp/src", "store/include", "parsers/include", "query/include", "render/include", "libtrace/include", "cli",
                "libtrace/src", "store/src", "formats/src")
INCLUDE = re.compile(r'#\s*include\s*[<"]([^>"]+)[>"]')


def sources(root):
    for top in DIRS:
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, n), root)


def module(path):
    """A file's module: its name without extension, NAME_impl.h folded into NAME."""
    base = os.path.splitext(path)[0]
    return base[: -len("_impl")] if base.endswith("_impl") else base


def main(root):
    files = sorted(sources(root))
    known = set(files)
    problems = []
    graph = {}
    for f in files:
        text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"{f}: {lines} lines (more than {MAX_LINES}): split it by job")
        for inc in INCLUDE.findall(text):
            for d in (os.path.dirname(f),) + INCLUDE_DIRS:
                p = os.path.normpath(os.path.join(d, inc))
                if p in known:
                    if f.startswith("cli/") and p.startswith("collector/"):
                        problems.append(f"{f} includes {p}: cli/ may use store/, not collector/")
                    if f.startswith("otlp/") and not p.startswith(("otlp/", "formats/")):
                        problems.append(f"{f} includes {p}: otlp/ may use formats/ only")
                    a, b = module(f), module(p)
                    if a != b:
                        graph.setdefault(a, set()).add(b)
                    break
    # Tarjan's strongly connected components over modules.
    index, low, stack, on, comps = {}, {}, [], set(), []
    sys.setrecursionlimit(20000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
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

    for v in list(graph):
        if v not in index:
            visit(v)
    for c in comps:
        problems.append("include cycle between modules: " + ", ".join(c))
    for p in problems:
        print("FAIL:", p)
    print(f"{len(files)} files checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
