#!/usr/bin/env python3
"""archstats.py — structure figures of the bertc tree, for before/after notes of refactors.

    python3 tools/archstats.py [ROOT]        (ROOT default: the current folder; plain text on stdout)

Figures, each in a stable order:
  - lines per folder: C sources (.c .h .inc) under src/, app/, eval/ by their top two levels; include/ apart;
    tests/, fuzz/, bench/, python/ as lines only (every text file, by extension)
  - include arrows between folders: a file of folder A that #includes "x.h" found in folder B (resolved as the
    compiler would: the file's own folder, then include/, src/, the Makefile's other -I folders, app/, eval/, the
    root), counted per (A, B), A != B
  - include cycles between folders: strongly connected components of size > 1 of that graph
  - the 10 largest files and the 15 largest functions (a brace-matching scan of top-level definitions, comments
    and strings blanked; a function's lines run from the line of its name to its closing brace)
  - cpu_has_* call sites (definitions and prototypes left out) and the files that hold them
  - functions named *forward*, and every function that runs an encoder pass (heuristic: a loop whose condition
    names the layers and whose block runs attention and a linear layer), which "one forward function" counts
  - build/libbertc.so: size, `size` sections, microhttpd in `ldd` and in `nm -D` (and server_* in the whole symbol
    table), its direct NEEDED libraries, the source files compiled into it (DWARF), and `ldd` in full; the
    pkg-config templates' Libs / Requires lines, and what make substitutes into them (make -n)
Files: git's tracked and untracked-but-not-ignored files in a checkout (a plain walk elsewhere).
Only Python's standard library; git, ldd, nm, size, readelf and make -n are run when present.
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
C_TOPS = ["src", "app", "eval"]
C_EXT = (".c", ".h", ".inc")
OTHER_TOPS = ["tests", "fuzz", "bench", "python"]
INCLUDE_DIRS = ["include", "src", ""]


def rel(p):
    return os.path.relpath(p, ROOT)


def git_files():
    """Tracked and untracked-but-not-ignored files when ROOT is a git checkout (build outputs, caches and
    downloaded checkpoints left out), else None."""
    try:
        r = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True)
    except OSError:
        return None
    if r.returncode != 0:
        return None
    return sorted(set(f for f in r.stdout.decode("utf-8", "replace").split("\0")
                      if f and os.path.isfile(os.path.join(ROOT, f))))


GIT_FILES = git_files()


def walk(top, exts=None):
    if GIT_FILES is not None:
        return [f for f in GIT_FILES if f.startswith(top + "/") and (exts is None or f.endswith(exts))]
    out = []
    base = os.path.join(ROOT, top)
    if not os.path.isdir(base):
        return out
    for d, dirs, files in os.walk(base):
        dirs[:] = sorted(x for x in dirs if not x.startswith(".") and x not in ("__pycache__", "node_modules"))
        for f in sorted(files):
            if exts is None or f.endswith(exts):
                out.append(rel(os.path.join(d, f)))
    return sorted(out)


def read(p):
    with open(os.path.join(ROOT, p), "rb") as fh:
        return fh.read().decode("utf-8", "replace")


def nlines(p):
    with open(os.path.join(ROOT, p), "rb") as fh:
        data = fh.read()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def folder2(p):
    """The top two levels of a file's folder: src/model/x.c -> src/model, src/x.c -> src, include/x.h -> include."""
    parts = p.split("/")[:-1]
    return "/".join(parts[:2]) if parts else "."


def is_text(p):
    try:
        with open(os.path.join(ROOT, p), "rb") as fh:
            return b"\0" not in fh.read(8192)
    except OSError:
        return False


def section(title):
    print()
    print("== " + title)


# ---- sources -------------------------------------------------------------------------------------------------------
c_files = [f for t in C_TOPS for f in walk(t, C_EXT)]
inc_files = walk("include", C_EXT)
all_c = c_files + inc_files
lines = {f: nlines(f) for f in all_c}

print("archstats: %s" % ROOT)
try:
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    if head:
        print("commit: %s" % head)
except OSError:
    pass

section("lines per folder (C: .c .h .inc)")
per = defaultdict(lambda: [0, 0])
for f in all_c:
    k = folder2(f)
    per[k][0] += 1
    per[k][1] += lines[f]
tops = defaultdict(lambda: [0, 0])
for f in all_c:
    t = f.split("/")[0]
    tops[t][0] += 1
    tops[t][1] += lines[f]
print("%-28s %6s %8s" % ("folder", "files", "lines"))
for k in sorted(per):
    print("%-28s %6d %8d" % (k, per[k][0], per[k][1]))
print("totals by top folder:")
for t in sorted(tops):
    print("  %-26s %6d %8d" % (t + "/", tops[t][0], tops[t][1]))
lib = sum(lines[f] for f in c_files)
print("  %-26s %6d %8d" % ("src+app+eval", len(c_files), lib))

section("lines outside the C sources (every text file)")
print("%-28s %6s %8s" % ("folder / extension", "files", "lines"))
for t in OTHER_TOPS:
    files = [f for f in walk(t) if "/data/" not in "/" + f + "/" or t != "tests"]
    files = [f for f in files if is_text(f)]
    byext = defaultdict(lambda: [0, 0])
    for f in files:
        ext = os.path.splitext(f)[1] or "(none)"
        byext[ext][0] += 1
        byext[ext][1] += nlines(f)
    total = [sum(v[0] for v in byext.values()), sum(v[1] for v in byext.values())]
    print("%-28s %6d %8d" % (t + "/", total[0], total[1]))
    for ext in sorted(byext):
        if ext in (".c", ".h", ".py", ".sh", ".js", ".toml", ".md", ".txt"):
            print("  %-26s %6d %8d" % (ext, byext[ext][0], byext[ext][1]))
if os.path.isdir(os.path.join(ROOT, "tests/data")):
    print("(tests/data left out: fixtures)")

# ---- include graph -------------------------------------------------------------------------------------------------
INC_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def makefile_include_dirs():
    """-I folders named in the Makefile (after include/ and src/), so that a new layout resolves as it compiles."""
    mk = os.path.join(ROOT, "Makefile")
    if not os.path.isfile(mk):
        return []
    found = re.findall(r"(?<![\w-])-I\s*([\w./-]+)", read("Makefile"))
    return [d.rstrip("/") for d in found if not d.startswith(("/", "$"))]


for d in makefile_include_dirs() + ["app", "eval"]:
    if d not in INCLUDE_DIRS:
        INCLUDE_DIRS.insert(len(INCLUDE_DIRS) - 1, d)


def resolve(src, name):
    cands = [os.path.join(os.path.dirname(src), name)] + [os.path.join(d, name) for d in INCLUDE_DIRS]
    for c in cands:
        c = os.path.normpath(c)
        if os.path.isfile(os.path.join(ROOT, c)):
            return c
    return None


arrows = defaultdict(int)
unresolved = []
for f in all_c:
    for name in INC_RE.findall(read(f)):
        tgt = resolve(f, name)
        if tgt is None:
            unresolved.append((f, name))
            continue
        a, b = folder2(f), folder2(tgt)
        if a != b:
            arrows[(a, b)] += 1

section("include arrows between folders (A -> B: #includes in A's files of B's headers)")
for (a, b) in sorted(arrows):
    print("%-24s -> %-24s %4d" % (a, b, arrows[(a, b)]))
print("arrows: %d (pairs), includes across folders: %d" % (len(arrows), sum(arrows.values())))
src_only = {k: v for k, v in arrows.items() if k[1] != "include"}
print("arrows not into include/: %d (pairs), %d includes" % (len(src_only), sum(src_only.values())))
if unresolved:
    print("unresolved includes: %d (%s)" % (len(unresolved), ", ".join(sorted("%s:%s" % u for u in unresolved))))

# Tarjan's SCC
nodes = sorted(set(a for a, _ in arrows) | set(b for _, b in arrows))
adj = defaultdict(list)
for (a, b) in sorted(arrows):
    adj[a].append(b)
index, low, onstack, stack, sccs = {}, {}, set(), [], []
counter = [0]


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    onstack.add(v)
    for w in adj[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in onstack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            onstack.discard(w)
            comp.append(w)
            if w == v:
                break
        sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in nodes:
    if v not in index:
        strong(v)
cycles = sorted(c for c in sccs if len(c) > 1)
section("include cycles between folders (strongly connected components of size > 1)")
if not cycles:
    print("none")
for c in cycles:
    inner = sorted((a, b) for (a, b) in arrows if a in c and b in c)
    print("{%s}: %s" % (", ".join(c), ", ".join("%s->%s (%d)" % (a, b, arrows[(a, b)]) for a, b in inner)))
print("cycles: %d" % len(cycles))

section("10 largest files (C sources and include/)")
for f in sorted(all_c, key=lambda f: (-lines[f], f))[:10]:
    print("%6d  %s" % (lines[f], f))


# ---- functions -----------------------------------------------------------------------------------------------------
def blank(text):
    """Comments, string and char literals, and preprocessor lines blanked to spaces; newlines kept."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start:
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "#":  # a directive, with its continuation lines
                k = j
                while k < n:
                    if text[k] == "\n" and text[k - 1] != "\\":
                        break
                    if text[k] == "/" and k + 1 < n and text[k + 1] == "*":  # a comment inside the directive
                        e = text.find("*/", k + 2)
                        e = n if e < 0 else e + 2
                        out.append("".join(ch if ch == "\n" else " " for ch in text[i:e]))
                        i = k = e
                        continue
                    k += 1
                out.append("".join(ch if ch == "\n" else " " for ch in text[i:k]))
                i = k
                at_line_start = False
                continue
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            e = text.find("*/", i + 2)
            e = n if e < 0 else e + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:e]))
            i = e
            at_line_start = False
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            e = text.find("\n", i)
            e = n if e < 0 else e
            out.append(" " * (e - i))
            i = e
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    break
                j += 1
            j = min(j + 1, n)
            out.append(c + "".join(ch if ch == "\n" else " " for ch in text[i + 1:j - 1]) + (c if j - 1 > i else ""))
            i = j
            at_line_start = False
            continue
        out.append(c)
        at_line_start = c == "\n"
        i += 1
    return "".join(out)


FUNC_HEAD = re.compile(r"([A-Za-z_]\w*)\s*\(([^;{}]*)\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)*$", re.S)
NOT_FUNC = {"if", "for", "while", "switch", "return", "sizeof", "defined"}


def functions(path):
    """(name, start line, end line, body text) of each top-level function definition."""
    text = blank(read(path))
    res = []
    depth = 0
    last_stop = 0  # where the current top-level declaration starts
    open_at = None
    head = None
    for i, c in enumerate(text):
        if c == "{":
            if depth == 0:
                head = text[last_stop:i]
                open_at = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                depth = 0
            if depth == 0 and open_at is not None:
                h = head.rstrip()
                m = FUNC_HEAD.search(h)
                if m and m.group(1) not in NOT_FUNC and "=" not in h[: m.start()].split("\n")[-1] and not re.search(
                        r"\b(struct|union|enum)\s*\w*\s*$", h):
                    start_off = last_stop + m.start(1)
                    start = text.count("\n", 0, start_off) + 1
                    end = text.count("\n", 0, i) + 1
                    res.append((m.group(1), start, end, text[open_at:i + 1]))
                open_at = None
                last_stop = i + 1
        elif c == ";" and depth == 0:
            last_stop = i + 1
    return res


funcs = []  # (lines, name, file, start, end, body)
for f in all_c:
    if f.endswith((".c", ".h")):
        for name, s, e, body in functions(f):
            funcs.append((e - s + 1, name, f, s, e, body))

section("15 largest functions (lines, from the name to the closing brace)")
for ln, name, f, s, e, _ in sorted(funcs, key=lambda x: (-x[0], x[2], x[3]))[:15]:
    print("%5d  %-32s %s:%d-%d" % (ln, name, f, s, e))
print("functions found: %d; over 100 lines: %d; over 200 lines: %d" % (
    len(funcs), sum(1 for x in funcs if x[0] > 100), sum(1 for x in funcs if x[0] > 200)))

# ---- cpu_has_* -----------------------------------------------------------------------------------------------------
section("cpu_has_* call sites (definitions and prototypes left out)")
CALL = re.compile(r"\bcpu_has_\w+\s*\(")
DEF = re.compile(r"^\s*(?:static\s+)?(?:inline\s+)?(?:bool|int|_Bool)\s+(cpu_has_\w+)\s*\(", re.M)
sites = defaultdict(int)
defs = []
for f in all_c:
    t = blank(read(f))
    def_pos = {m.start(1) for m in DEF.finditer(t)}
    for m in DEF.finditer(t):
        defs.append("%s:%s" % (f, m.group(1)))
    for m in CALL.finditer(t):
        if m.start() not in def_pos:
            sites[f] += 1
for f in sorted(sites):
    print("%4d  %s" % (sites[f], f))
print("call sites: %d in %d files; cpu_has_* defined or declared: %d (%s)" % (
    sum(sites.values()), len(sites), len(defs), ", ".join(sorted(set(d.split(":")[1] for d in defs)))))

# ---- forward functions ---------------------------------------------------------------------------------------------
section("functions named *forward*, and every function that runs an encoder pass")
LAYER_LOOP = re.compile(r"\bfor\s*\([^;]*;[^;]*(?:layer|\bLy\b|\bn_layer)", re.I)
ATT = re.compile(r"\b\w*att(?:n|ention|_)\w*", re.I)  # called or handed to a thread pool (attn_task)


LINEAR = re.compile(r"\b\w*(?:linear|gemm|matmul|lin_fwd|lin_forward)\w*\s*\(", re.I)


def loop_body(body, start):
    """The text of the loop whose header starts at start: its braced block."""
    i = body.find("{", start)
    if i < 0:
        return ""
    depth = 0
    for j in range(i, len(body)):
        if body[j] == "{":
            depth += 1
        elif body[j] == "}":
            depth -= 1
            if depth == 0:
                return body[i:j + 1]
    return body[i:]


def encoder_pass(body):
    """A loop over the layers whose block runs attention and a linear layer."""
    for m in LAYER_LOOP.finditer(body):
        b = loop_body(body, m.end())
        if ATT.search(b) and LINEAR.search(b):
            return True
    return False


named = sorted((x for x in funcs if "forward" in x[1].lower()), key=lambda x: (x[2], x[3]))
for ln, name, f, s, e, body in named:
    print("  %-28s %s:%d (%d lines)%s" % (name, f, s, ln, "  [encoder pass]" if encoder_pass(body) else ""))
passes = sorted((x for x in funcs if encoder_pass(x[5])), key=lambda x: (x[2], x[3]))
print("named *forward*: %d, of which encoder passes: %d" % (len(named), sum(1 for x in named if encoder_pass(x[5]))))
print("functions that run an encoder pass (any name; a loop over the layers whose block runs attention and a linear layer): %d" % len(passes))
for ln, name, f, s, e, _ in passes:
    print("  %-28s %s:%d (%d lines)" % (name, f, s, ln))

# ---- the library ---------------------------------------------------------------------------------------------------
section("build/libbertc.so")


def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.stdout
    except OSError:
        return None


so = os.path.join(ROOT, "build", "libbertc.so")
if not os.path.exists(so):
    print("not built (make all)")
else:
    real = os.path.realpath(so)
    sz = os.path.getsize(real)
    print("file: build/%s, %d bytes (%.1f MB)" % (os.path.basename(real), sz, sz / 1e6))
    out = run(["size", "-A", real])
    if out:
        for line in out.splitlines():
            p = line.split()
            if len(p) >= 2 and p[0] in (".text", ".rodata", ".data", ".bss", ".lrodata", ".ldata"):
                print("  section %-9s %12s bytes" % (p[0], p[1]))
    ldd = run(["ldd", real])
    nm = run(["nm", "-D", real])
    if ldd is not None:
        print("ldd lists microhttpd: %s" % ("yes" if "microhttpd" in ldd else "no"))
    if nm is not None:
        syms = [l.split() for l in nm.splitlines() if l.strip()]
        mhd_u = sorted(s[-1] for s in syms if s[-1].startswith("MHD_") and s[-2] in ("U", "w"))
        mhd_d = sorted(s[-1] for s in syms if ("MHD_" in s[-1] or s[-1].startswith("server_")) and s[-2] not in ("U", "w"))
        defined = [s for s in syms if len(s) == 3 and s[1] not in ("U", "w")]
        print("nm -D: %d symbols defined, %d undefined; MHD_* undefined (used): %d; MHD_* / server_* defined: %d%s" % (
            len(defined), len(syms) - len(defined), len(mhd_u), len(mhd_d),
            (" (" + ", ".join(mhd_d[:10]) + (" ..." if len(mhd_d) > 10 else "") + ")") if mhd_d else ""))
        prefixes = defaultdict(int)
        for s in defined:
            prefixes[s[2].split("_")[0] + "_" if "_" in s[2] else s[2]] += 1
        print("defined symbols by prefix: " + ", ".join("%s %d" % (k, prefixes[k]) for k in sorted(prefixes)))
    full = run(["nm", "-S", "--size-sort", "--defined-only", real])
    if full is not None:
        local = [l.split() for l in full.splitlines() if len(l.split()) == 4]
        srv = sorted(set(x[3] for x in local if x[3].startswith(("server_", "MHD_"))))
        print("nm (whole symbol table): server_* / MHD_* symbols inside: %d" % len(srv))
        big = sorted(local, key=lambda x: -int(x[1], 16))[:3]
        print("largest symbols: " + ", ".join("%s %d bytes" % (x[3], int(x[1], 16)) for x in big))
    rd = run(["readelf", "-d", real])
    if rd is not None:
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", rd)
        print("NEEDED (direct): " + " ".join(needed))
    dw = run(["readelf", "--debug-dump=info", real])
    if dw:
        cus, cu = [], False
        for line in dw.splitlines():
            if "DW_TAG_compile_unit" in line:
                cu = True
            elif cu and "DW_AT_name" in line:
                cus.append(line.split()[-1])
                cu = False
        byf = defaultdict(list)
        for c in sorted(set(cus)):
            byf[folder2(c) if "/" in c else "."].append(os.path.basename(c))
        print("compiled in (DWARF compile units, by folder): %d" % len(set(cus)))
        for k in sorted(byf):
            print("  %-22s %2d  %s" % (k, len(byf[k]), " ".join(byf[k])))
    if ldd is not None:
        print("ldd:")
        for line in ldd.splitlines():
            # addresses vary per run: the names and paths only
            print("  " + re.sub(r"\s*\(0x[0-9a-f]+\)", "", line.strip()))
section("pkg-config templates and files")
pcs = sorted(f for f in os.listdir(ROOT) if f.endswith((".pc.in", ".pc")))
if os.path.isdir(os.path.join(ROOT, "build")):
    pcs += sorted(os.path.join("build", f) for f in os.listdir(os.path.join(ROOT, "build")) if f.endswith(".pc"))
for pc in pcs:
    for line in read(pc).splitlines():
        if line.startswith(("Libs", "Requires")):
            print("%s: %s" % (pc, line))
# what make substitutes into them (a dry run of each .pc rule; nothing is written)
mk = os.path.join(ROOT, "Makefile")
if os.path.isfile(mk):
    targets = sorted(set(t.replace("$(BUILD)", "build") for t in re.findall(r"^(\S+\.pc)\s*:", read("Makefile"), re.M)))
    for t in targets:
        out = run(["make", "-C", ROOT, "-n", "-B", "-s", t])
        subs = re.findall(r"s\|@(LIBS\w*|REQUIRES\w*)@\|([^|]*)\|", out or "")
        for k, v in subs:
            print("%s: @%s@ = %s" % (t, k, v.strip()))
