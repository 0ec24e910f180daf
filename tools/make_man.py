#!/usr/bin/env python3
"""Writes the man page's OPTIONS OF EACH COMMAND section (docs/bertc.1, between its two marker comments) from each
command's `bertc COMMAND --help`, verbatim, so the man page has every command's options and says what --help says.
The suite's cli/man_page_options test fails when a command's help names an option the section lacks (rerun this).
  python3 tools/make_man.py [build/bertc] [docs/bertc.1]
"""
import subprocess
import sys

COMMANDS = ["classify", "zero-shot", "ner", "qa", "fill-mask", "embed", "tokenize", "info", "eval", "metrics",
            "bias", "compare", "serve", "train", "distill", "pull", "cache"]
BEGIN = '.\\" BEGIN OPTIONS OF EACH COMMAND (tools/make_man.py writes this part from each --help)'
END = '.\\" END OPTIONS OF EACH COMMAND'


def roff_line(line: str) -> str:
    line = line.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + line if line.startswith((".", "'")) else line


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/bertc"
    page = sys.argv[2] if len(sys.argv) > 2 else "docs/bertc.1"
    text = open(page, encoding="utf-8").read()
    if BEGIN not in text or END not in text:
        sys.exit(f"{page}: the marker lines are missing")
    out = [BEGIN, ".SH OPTIONS OF EACH COMMAND",
           "What\n.B bertc\n.I command\n.B \\-\\-help\nprints, for each command."]
    for cmd in COMMANDS:
        r = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True, check=True)
        out += [f".SS {cmd}", ".nf", ".ft CR"] + [roff_line(l) for l in r.stdout.rstrip("\n").split("\n")]
        out += [".ft R", ".fi"]
    out.append(END)
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    open(page, "w", encoding="utf-8").write(head + "\n".join(out) + tail)


if __name__ == "__main__":
    main()
