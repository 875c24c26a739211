"""Snapshot speed against its floor, and before/after a change (issue 14).

On a copy of the interpreter's standard library (``--tree stdlib``, site-packages left out) or
a generated tree of small files (``--tree small --files N``; ``--source DIR`` takes any
tree), runs ``snapkit snap`` (the CLI in a subprocess, ``--service-policy never``, the isolated
environment of ``benchmarks/_common.py``) first into an empty repository, then again with
nothing changed. The floor is a bare in-process ``os.scandir``/lstat walk of the same tree
plus the start of a bare interpreter; the unchanged target is 2x that walk plus the start.

``--before DIR`` runs the same commands with the snapkit of ``DIR`` (a git worktree of an
older commit: ``git worktree add /tmp/wt-snap REV``) on ``PYTHONPATH``, interleaved round by
round with the current code (or ``--after DIR``, a worktree holding only the change
measured), so each speed-up is a before/after ratio from one run. Each run also records the
peak RSS and the CPU time (user + system) of the CLI process (``os.wait4``; on a shared
machine CPU time is steadier than wall time), the repository size after the first snapshot, and
the source's tree id: both versions must store the same tree (checked). ``--unchanged N``
runs the unchanged snapshot N times a round (each on the previous one); in a round the
versions take turns at each step (first, then each unchanged run).

    python -m benchmarks.bench_snap_speed --tree small --files 100000 --runs 3 --before /tmp/wt-snap
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._common import clean_env, du, last_json, mb, median, table, workdir

VARIANTS = ("before", "after")


def make_small(root: Path, files: int) -> None:
    """``files`` small files (17 B to ~1 kB), 100 per directory, 10 directories per group."""
    per_dir, dirs_per_group = 100, 10
    n = 0
    for a in range((files + per_dir * dirs_per_group - 1) // (per_dir * dirs_per_group)):
        for b in range(dirs_per_group):
            d = root / f"d{a:04d}" / f"e{b}"
            d.mkdir(parents=True)
            for c in range(per_dir):
                if n == files:
                    return
                line = f"file {a} {b} {c}\n".encode()
                (d / f"f{c:03d}.txt").write_bytes(line * (1 + (a * 7 + b * 3 + c) % 50))
                n += 1


def make_stdlib(root: Path) -> None:
    stdlib = sysconfig.get_paths()["stdlib"]
    shutil.copytree(stdlib, root, symlinks=True,
                    ignore=lambda d, names: ["site-packages"] if d == stdlib else [])


def walk_floor(root: Path) -> float:
    """Seconds of a bare in-process scandir + lstat walk of ``root``."""
    t0 = time.perf_counter()
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                st = os.lstat(e.path)
                if e.is_dir(follow_symlinks=False) and st.st_nlink:
                    stack.append(e.path)
    return time.perf_counter() - t0


def run_cli(args: Sequence[str], env: dict[str, str]) -> str:
    """Run a command untimed in ``/`` (so that no checkout in the working directory shadows
    ``PYTHONPATH``); its stdout. Fail loudly if it fails."""
    proc = subprocess.run(list(args), env=env, capture_output=True, check=False, cwd="/")
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n"
                         f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode()


def run_measured(args: Sequence[str], env: dict[str, str]) -> tuple[float, int, str, float]:
    """Run a command in ``/`` (as :func:`run_cli`): (wall seconds, the process's own peak RSS
    in bytes (``os.wait4``), stdout, its CPU seconds: user + system)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd="/")
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n"
                         f"{err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss * 1024, out.decode(), usage.ru_utime + usage.ru_stime


def source_tree(repo: Path, source: Path) -> str:
    """The tree id of ``source`` in the repository's latest snapshot (current code)."""
    from snapkit.read.treewalk import find_node
    from snapkit.store.repository import Repository

    r = Repository.open(repo)
    snap = r.snapshots()[-1][1]
    node = find_node(r.load_tree, snap.tree, tuple(p for p in str(source).split("/") if p))
    assert node is not None and node.subtree is not None
    return node.subtree


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", choices=("stdlib", "small"), default="stdlib")
    ap.add_argument("--files", type=int, default=100_000, help="files of --tree small")
    ap.add_argument("--source", type=Path, help="snapshot this tree instead (not copied)")
    ap.add_argument("--runs", type=int, default=3, help="rounds (each: first, unchanged)")
    ap.add_argument("--unchanged", type=int, default=1, metavar="N",
                    help="unchanged runs after the first in each round [default: 1]")
    ap.add_argument("--before", type=Path, help="a checkout of the older snapkit to compare")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="the checkout measured as 'after' [default: this one]")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)
    with workdir(args.keep) as work:
        env = clean_env(work)
        src = args.source.resolve() if args.source else work / "src"
        if args.source is None:
            t0 = time.perf_counter()
            (make_stdlib if args.tree == "stdlib" else lambda r: make_small(r, args.files))(src)
            print(f"built {src} in {time.perf_counter() - t0:.1f} s")
        envs = {"after": dict(env, PYTHONPATH=str(args.after.resolve()))}
        if args.before is not None:
            envs["before"] = dict(env, PYTHONPATH=str(args.before.resolve()),
                                  PYTHONPYCACHEPREFIX=str(work / "pycache-before"))
        return _measure(work, src, envs, args.runs, args.unchanged)


def _measure(work: Path, src: Path, envs: dict[str, dict[str, str]], runs: int,
             unchanged: int) -> int:
    exe = [sys.executable, "-m", "snapkit"]
    names = [v for v in VARIANTS if v in envs]
    times: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}  # user + system seconds
    rss: dict[tuple[str, str], list[int]] = {}
    sizes: dict[str, int] = {}
    trees: dict[str, set[str]] = {v: set() for v in names}
    walks, starts = [], []
    for v in names:  # compile the bytecode of each version once, untimed; say which it is
        run_cli([*exe, "--version"], envs[v])
        where = run_cli([sys.executable, "-c", "import snapkit; print(snapkit.__file__)"],
                        envs[v]).strip()
        print(f"{v}: {where}")
    for rnd in range(runs):
        walks.append(walk_floor(src))
        starts.append(run_measured([sys.executable, "-c", "pass"], envs["after"])[0])
        order = names if rnd % 2 == 0 else names[::-1]
        for v in order:
            shutil.rmtree(work / f"repo-{v}", ignore_errors=True)
        for kind in ("first", *["unchanged"] * unchanged):  # both versions, one after the other
            for v in order:
                repo = work / f"repo-{v}"
                cmd = [*exe, "snap", "--json", "--service-policy", "never", str(src),
                       "--repo", str(repo)]
                t, peak, out, cpu = run_measured(cmd, envs[v])
                times.setdefault((v, kind), []).append(t)
                cpus.setdefault((v, kind), []).append(cpu)
                rss.setdefault((v, kind), []).append(peak)
                summary = last_json(out)
                if kind == "unchanged" and summary["files_new"] + summary["files_changed"]:
                    raise SystemExit(f"{v}: the unchanged run read files: {summary}")
                trees[v].add(source_tree(repo, src))
                sizes[v] = du(repo)[0] if kind == "first" else sizes[v]
    return _report(names, (times, cpus), rss, sizes, trees, walks, starts)


def _report(names: list[str], measured: tuple[dict[tuple[str, str], list[float]], ...],
            rss: dict[tuple[str, str], list[int]], sizes: dict[str, int],
            trees: dict[str, set[str]], walks: list[float], starts: list[float]) -> int:
    times, cpus = measured
    floor = 2 * min(walks) + min(starts)
    print(f"\nfloor: walk {min(walks):.3f} s (median {median(walks):.3f}), interpreter start "
          f"{min(starts):.3f} s; unchanged target 2 x walk + start = {floor:.3f} s\n")
    rows = []
    for kind in ("first", "unchanged"):
        for v in names:
            ts, peak = times[(v, kind)], max(rss[(v, kind)])
            cs = cpus[(v, kind)]
            rows.append([f"{kind}, {v}", f"{min(ts):.3f}", f"{median(ts):.3f}",
                         f"{min(cs):.3f}", f"{median(cs):.3f}", f"{peak / 2**20:.0f} MiB",
                         mb(sizes[v]) if kind == "first" else "",
                         f"{min(ts) / floor:.2f}" if kind == "unchanged" else ""])
    table("snapkit snap (wall time of the CLI process, seconds)",
          ["run", "min", "median", "CPU min", "CPU median", "peak RSS", "repo size",
           "min / target"], rows)
    if len(names) == 2:
        ratios = []
        for kind in ("first", "unchanged"):
            row = [kind]
            for got in (times, cpus):
                b, a = got[("before", kind)], got[("after", kind)]
                row += [f"{min(b) / min(a):.2f}x", f"{median(b) / median(a):.2f}x"]
            ratios.append(row)
        table("before / after (speed-up)", ["run", "min", "median", "CPU min", "CPU median"],
              ratios)
    problems = [f"{v}: the source's tree id varies between runs: {sorted(t)}"
                for v, t in trees.items() if len(t) != 1]
    if len(names) == 2 and trees["before"] != trees["after"]:
        problems.append(f"before and after stored different trees: {trees}")
    print("\n" + ("\n".join(problems) if problems else
                  f"same source tree id in every run: {next(iter(trees[names[0]]))}"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
