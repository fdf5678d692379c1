"""Benchmark: how long the book takes to build, cold and after editing one chapter's text.

    .venv/bin/python bench/book.py [--chapter 04-nonlinearity-and-pooling] [--npm] [--keep]

Method. The repository's files (what a clone with the current changes holds: tracked files and
untracked files that git does not ignore) are copied into a temporary folder, so the real
execution cache and build folders are never touched. There:

1. cold: ``python -m autograder book`` with no execution cache and no previous Sphinx build: every
   page is executed (two at a time on two cores) and the whole book is built;
2. warm: one sentence is added to a paragraph of one chapter's source (``--chapter``), and the
   same command runs again: what an author waits for after editing prose.

The JavaScript packages (``vendor/node_modules``) are linked from the repository, since their
download is not part of the build's speed (it happens once per clone); ``--npm`` runs ``npm ci``
in the copy instead, and counts it in the cold build. The machine's load is printed before each
build, since the machine may be shared.

The last line printed is JSON: both durations, the targets (cold under 10 minutes and warm
under 60 s on 2 cores) and whether they were met.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"cold_s": 600, "warm_s": 60}


def copy_repository(target: Path) -> int:
    """Copy tracked and untracked-but-not-ignored files; return how many."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    count = 0
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        count += 1
    return count


def run_build(workdir: Path, label: str) -> dict:
    load = os.getloadavg()
    print(f"[{label}] load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    env = dict(os.environ, PYTHONPATH=str(workdir))  # Sphinx and the kernels import the copy's package
    env.pop("CI", None)
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "autograder", "book"], cwd=workdir, env=env,
                               capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        print(output[-4000:], file=sys.stderr)
        raise SystemExit(f"error: the {label} build failed (exit {completed.returncode})")
    cache = next((line for line in output.splitlines() if line.startswith("execution cache:")), "")
    executed = re.findall(r"^executed (\S+) in ([\d.]+) s", output, re.MULTILINE)
    print(f"[{label}] {seconds:.1f} s; {cache}", flush=True)
    for stem, took in executed:
        print(f"[{label}]   executed {stem} in {took} s", flush=True)
    return {"seconds": round(seconds, 1), "executed": [stem for stem, _ in executed], "load_before": load[0]}


def edit_prose(workdir: Path, stem: str) -> str:
    """Add a sentence to the first ordinary paragraph after the learning objectives."""
    path = workdir / "solutions" / f"{stem}.md"
    text = path.read_text()
    start = text.index("## Learning objectives")
    match = re.search(r"\n\n([A-Z][^\n`#*|>:-][^\n]*)\n", text[start:])
    if match is None:
        raise SystemExit(f"error: no paragraph to edit in {path}")
    at = start + match.end(1)
    path.write_text(text[:at] + " (An edit to time the warm rebuild.)" + text[at:])
    return match.group(1)[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="04-nonlinearity-and-pooling", help="the chapter whose text is edited")
    parser.add_argument("--npm", action="store_true", help="run npm ci in the copy (counted in the cold build)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="book-bench-"))
    try:
        files = copy_repository(workdir)
        modules = ROOT / "vendor" / "node_modules"
        if not args.npm and modules.is_dir():
            (workdir / "vendor" / "node_modules").symlink_to(modules)
        print(f"copied {files} files into {workdir}; cores: {os.cpu_count()}", flush=True)
        cold = run_build(workdir, "cold")
        edited = edit_prose(workdir, args.chapter)
        print(f"[warm] edited {args.chapter}: {edited!r}...", flush=True)
        warm = run_build(workdir, "warm")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "cold_s": cold["seconds"], "warm_s": warm["seconds"],
        "cold_executed_pages": len(cold["executed"]), "warm_executed_pages": len(warm["executed"]),
        "load_before": {"cold": cold["load_before"], "warm": warm["load_before"]},
        "cores": os.cpu_count(), "npm_in_cold": args.npm, "edited_chapter": args.chapter,
        "targets": TARGETS,
        "cold_ok": cold["seconds"] < TARGETS["cold_s"], "warm_ok": warm["seconds"] < TARGETS["warm_s"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
