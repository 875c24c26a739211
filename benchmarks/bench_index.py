"""Opening a repository's index: ``Index.load`` of N blobs, time and peak memory.

Every command that opens a repository reads every index file into memory first; at a million
blobs (a million small files) this is seconds and hundreds of MiB. This builds index files as a
snapshot of ``--blobs`` small chunks would (3,200 blobs a pack, 8 packs an index file), then
loads them in a fresh interpreter ``--runs`` times, interleaved with ``--before PATH`` (a git
worktree of an earlier commit: ``git worktree add /tmp/wt-before <rev>``), and prints min and
median wall time and the peak RSS of the child.

    python -m benchmarks.bench_index [--blobs 1000000] [--runs 5] [--before /tmp/wt-before]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOBS_PER_PACK = 3200
PACKS_PER_INDEX = 8

_LOAD = """
import sys, time
from snapkit.store.backend import LocalBackend
from snapkit.store.index import Index
t = time.perf_counter()
from pathlib import Path
index = Index.load(LocalBackend(Path(sys.argv[1])))
print(time.perf_counter() - t, len(index), __import__("snapkit").__file__)
"""


def build(root: Path, blobs: int) -> None:
    """Index files listing ``blobs`` made-up blobs (no packs: loading reads the index only)."""
    from snapkit.format.model import KIND_DATA, BlobEntry
    from snapkit.store.backend import LocalBackend
    from snapkit.store.index import write_index

    backend = LocalBackend(root)
    backend.create()
    entries: list[BlobEntry] = []
    for n in range(blobs):
        pack = n // BLOBS_PER_PACK
        entries.append(BlobEntry(os.urandom(16).hex(), KIND_DATA, f"{pack:032x}",
                                 8 + (n % BLOBS_PER_PACK) * 5000, 5000, 6000))
        if len(entries) == BLOBS_PER_PACK * PACKS_PER_INDEX:
            write_index(backend, entries)
            entries = []
    if entries:
        write_index(backend, entries)


def load_once(root: Path, code: str | None) -> tuple[float, float, str]:
    """(seconds inside Index.load, the child's peak RSS in MiB, which snapkit it loaded)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = code
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", _LOAD, str(root)], env=env, cwd="/",
                         capture_output=True, text=True, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, _count, where = out.stdout.split()
    return float(seconds), max(peak, before) / 1024, where


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blobs", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", metavar="PATH", help="a checkout of an earlier commit")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="snapkit-bench-index-"))
    try:
        started = time.perf_counter()
        build(work / "repo", args.blobs)
        print(f"built an index of {args.blobs:,} blobs in {time.perf_counter() - started:.1f} s")
        versions: list[tuple[str, str | None]] = [("after", None)]
        if args.before:
            versions.insert(0, ("before", args.before))
        times: dict[str, list[float]] = {name: [] for name, _ in versions}
        rss: dict[str, float] = {}
        where: dict[str, str] = {}
        for _ in range(args.runs):
            for name, code in versions:
                seconds, peak, loaded = load_once(work / "repo", code)
                times[name].append(seconds)
                rss[name] = peak  # RUSAGE_CHILDREN's max only grows: see the note below
                where[name] = loaded
        print()
        print("| version | min | median | snapkit loaded from |")
        print("|---|---|---|---|")
        for name, _ in versions:
            print(f"| {name} | {min(times[name]):.3f} s | {statistics.median(times[name]):.3f} s "
                  f"| {where[name]} |")
        if args.before:
            ratio = min(times["before"]) / min(times["after"])
            print(f"\nbefore / after (min): {ratio:.2f}x")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
