"""Run the README's examples as a new user would, and compare (or rewrite) the output they show.

The README's ``console`` blocks are run in order in one shell, as a user following the README in one terminal:
``cd`` and ``export`` carry on from one block to the next. A line starting with ``$ `` is a command (a line ending
in ``\\`` continues on the next); the lines after it, up to the next command or the end of the block, are what it
prints, standard output and standard error together as a terminal shows them. The ``python`` blocks run after
them, each in a fresh interpreter from the same folder, and must finish without an error.

They run in a sandbox laid out like a fresh clone with the shared data beside it::

    <tmp>/marketwire/              the repository (its files linked), where every block starts
    <tmp>/marketwire/.marketwire   the lake `make run` builds (tools/load_reference.sh), or a copy of --lake
    <tmp>/marketwire/.venv         the Python environment running this script (`make` creates .venv)
    <tmp>/shared/data              the shared data (MARKETWIRE_DATA, else ../shared/data)

Usage::

    python tools/readme.py                 # run, print the differences, exit 1 if any
    python tools/readme.py --update        # run and rewrite the outputs shown in README.md
    python tools/readme.py --lake DIR      # use a copy of a lake built as `make run` builds it (from a repository
                                           # root, MARKETWIRE_DATA=../shared/data), instead of building one

Only what must vary is normalised (:data:`NORMALISE`): times of day and durations.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "@@readme-step@@"
#: (pattern, replacement) applied to both the shown and the actual output: what varies from run to run
NORMALISE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?"), "<time>"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms)\b"), "<duration>"),
]
#: the folder the examples' repository is linked from, files that are never linked into the sandbox
SKIP = {".git", ".marketwire", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".hypothesis"}


@dataclass
class Step:
    command: str  # as written, continuation lines joined with newlines
    shown: list[str]  # the output lines the README shows
    line: int  # README line of the command
    actual: list[str] = field(default_factory=list)


@dataclass
class Block:
    lang: str  # console or python
    start: int  # README line of the opening fence (0-based index of its first content line)
    end: int  # index of the closing fence
    steps: list[Step] = field(default_factory=list)
    code: str = ""


def parse(text: str) -> list[Block]:
    """The console and python blocks of a Markdown text, with their commands and shown output."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = re.fullmatch(r"```(console|python)\s*", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        block = Block(m.group(1), i + 1, j)
        body = lines[i + 1:j]
        if block.lang == "python":
            block.code = "\n".join(body) + "\n"
        else:
            k = 0
            while k < len(body):
                if body[k].startswith("$ "):
                    cmd = [body[k][2:]]
                    start = k
                    while cmd[-1].endswith("\\") and k + 1 < len(body):
                        k += 1
                        cmd.append(body[k])
                    block.steps.append(Step("\n".join(cmd), [], i + 2 + start))
                elif block.steps:
                    block.steps[-1].shown.append(body[k])
                else:
                    raise ValueError(f"README line {i + 2 + k}: a console block starts with a command (`$ `)")
                k += 1
        blocks.append(block)
        i = j + 1
    return blocks


def normalise(lines: list[str]) -> list[str]:
    out = []
    for ln in lines:
        ln = ln.rstrip()
        for pat, rep in NORMALISE:
            ln = pat.sub(rep, ln)
        out.append(ln)
    while out and not out[-1]:
        out.pop()
    return out


def sandbox(tmp: Path, data: Path, lake: Path | None) -> Path:
    """The fresh-clone layout under ``tmp``; returns the repository folder (the lake built or copied in)."""
    repo = tmp / "marketwire"
    repo.mkdir(parents=True)
    for p in ROOT.iterdir():
        if p.name not in SKIP:
            (repo / p.name).symlink_to(p)
    (repo / ".venv").symlink_to(Path(sys.prefix))
    (tmp / "shared").mkdir()
    (tmp / "shared" / "data").symlink_to(data.resolve())
    home = repo / ".marketwire"
    if lake is not None:
        shutil.copytree(lake, home, symlinks=True)
    else:
        env = environment(repo)
        # as `make run` does it: from the repository root, the data as ../shared/data, the lake in ./.marketwire
        env.update(MW=str(Path(sys.prefix) / "bin" / "marketwire"), MARKETWIRE_HOME=".marketwire",
                   MARKETWIRE_DATA="../shared/data")
        r = subprocess.run(["bash", str(ROOT / "tools" / "load_reference.sh")], cwd=repo, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode:
            raise RuntimeError(f"tools/load_reference.sh failed ({r.returncode}):\n{r.stdout[-3000:]}")
    return repo


def environment(repo: Path) -> dict[str, str]:
    """The user's environment, minus what would point the examples elsewhere; this tree's code on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETWIRE_") and k != "VIRTUAL_ENV"}
    env["PYTHONPATH"] = str(ROOT / "src")
    env["NO_COLOR"] = "1"
    env["LC_ALL"] = env.get("LC_ALL", "C.UTF-8")
    return env


def run(blocks: list[Block], repo: Path, timeout: float = 1800) -> None:
    """Run every console block in one shell (filling ``Step.actual``), then every python block."""
    steps = [s for b in blocks if b.lang == "console" for s in b.steps]
    script = ["exec 2>&1", f"cd {shlex_quote(str(repo))}"]
    for n, s in enumerate(steps):
        script.append(f"echo '{MARKER} {n}'")
        script.append(s.command)
    script.append(f"echo '{MARKER} end'")
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=repo, env=environment(repo), text=True,
                          stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    current = None
    for ln in proc.stdout.split("\n"):
        if ln.startswith(MARKER):
            tag = ln.split()[1]
            current = None if tag == "end" else steps[int(tag)]
        elif current is not None:
            current.actual.append(ln)
    for s in steps:
        while s.actual and not s.actual[-1]:
            s.actual.pop()
    for b in blocks:
        if b.lang == "python":
            r = subprocess.run([sys.executable, "-c", b.code], cwd=repo, env=environment(repo), text=True,
                               capture_output=True, timeout=timeout)
            if r.returncode:
                raise AssertionError(f"README python block at line {b.start}:\n{b.code}\nfailed:\n{r.stderr}")


def differences(blocks: list[Block]) -> list[str]:
    out = []
    for b in blocks:
        for s in b.steps:
            want, got = normalise(s.shown), normalise(s.actual)
            if want != got:
                diff = difflib.unified_diff(want, got, "README", "actual", lineterm="", n=1)
                out.append(f"README line {s.line}: $ {s.command}\n" + "\n".join(diff))
    return out


def updated(text: str, blocks: list[Block]) -> str:
    """``text`` with the output under every command replaced by what it printed."""
    lines = text.split("\n")
    for b in reversed(blocks):
        if b.lang != "console":
            continue
        body: list[str] = []
        for s in b.steps:
            body += ["$ " + s.command.split("\n")[0], *s.command.split("\n")[1:]]
            same = normalise(s.shown) == normalise(s.actual)  # only what must vary differs: keep it as shown
            body += s.shown if same else [ln.rstrip() for ln in s.actual]
        lines[b.start:b.end] = body
    return "\n".join(lines)


def shlex_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def data_folder() -> Path | None:
    env = os.environ.get("MARKETWIRE_DATA")
    for p in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if (p / "securities_master").is_dir():
            return p
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update", action="store_true", help="rewrite the outputs shown in README.md")
    ap.add_argument("--lake", type=Path, default=None, help="copy this lake (built by tools/load_reference.sh)")
    args = ap.parse_args()
    data = data_folder()
    if data is None:
        print("no shared data: set MARKETWIRE_DATA or put it at ../shared/data", file=sys.stderr)
        return 2
    text = README.read_text(encoding="utf-8")
    blocks = parse(text)
    with tempfile.TemporaryDirectory(prefix="mw-readme-") as tmp:
        repo = sandbox(Path(tmp), data, args.lake)
        run(blocks, repo)
    if args.update:
        new = updated(text, blocks)
        if new != text:
            README.write_text(new, encoding="utf-8")
            print(f"README.md: outputs of {len(differences(blocks))} command(s) rewritten")
        else:
            print("README.md: every output already as shown")
        return 0
    diffs = differences(blocks)
    for d in diffs:
        print(d + "\n")
    print(f"{len(diffs)} of {sum(len(b.steps) for b in blocks)} command(s) print something else than README.md shows")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
