"""Start-up: ``snapkit --help``, ``snapkit snapshots`` and an unchanged ``snapkit snap`` against a
bare interpreter (issue 14).

Run from the project root::

    python -m benchmarks.bench_startup                      # this checkout, ~30 s
    git worktree add /tmp/wt-before <rev>
    python -m benchmarks.bench_startup --before /tmp/wt-before   # before/after in one run

Each command runs as the ``snapkit`` console script in a subprocess, its code taken from
``PYTHONPATH`` (this checkout, and with ``--before PATH`` that checkout too), timed by
``time.perf_counter`` around the whole process. The floors run the same way:
``python -S -c pass`` (no ``site``), ``python -c pass`` (the interpreter with its ``site``, as
every console script starts) and ``python -c "import click"`` (what any click program pays).
The commands:

- ``--help``;
- ``snapshots`` on a repository holding three snapshots of a small tree;
- ``snap``, no paths, of an unchanged OpenClaw state dir (``fixtures.openclaw_tree`` at
  ``--scale``, 0.01 = ~275 files / 6.6 MB, in ``$HOME/.openclaw``), ``--service-policy never``,
  into a repository that already holds a snapshot of it.

Every run of every command and floor is interleaved (``--runs`` rounds, each in a shuffled
order); the table gives min and median wall time in ms, the least CPU time (user + system:
steadier than wall time on a shared machine), the ratio of the min to the bare interpreter's
min (with and without ``site``), and how many modules the command imports (``-X importtime``,
snapkit's in brackets). The environment is isolated as in the other benchmarks (no
``SNAPKIT_*`` / ``OPENCLAW_*``, XDG dirs and ``HOME`` in a fresh work dir, bytecode compiled
once into the work dir). Checks: every command exits 0, and ``--help`` prints the same text
before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import machine, snapkit_exe, table, workdir
from fixtures.openclaw_tree import generate

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, eq=False)  # keyed by identity: the env is a dict
class Case:
    """One timed command line: ``label`` in the table, ``code`` the checkout it runs."""

    label: str
    code: str
    argv: tuple[str, ...]
    env: dict[str, str]


def _env(work: Path, code: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SNAPKIT_", "OPENCLAW_", "CLAWDBOT_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(HOME=str(work / "home"), TERM="dumb", PYTHONPATH=str(code),
               PYTHONPYCACHEPREFIX=str(work / "pycache"), XDG_CONFIG_HOME=str(work / "xdg-config"),
               XDG_DATA_HOME=str(work / "xdg-data"), XDG_CACHE_HOME=str(work / "xdg-cache"))
    return env


def _run(argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"exit {proc.returncode}: {' '.join(argv)}\n{proc.stderr.strip()}")
    return proc


def _cases(work: Path, name: str, code: Path) -> list[Case]:
    """The three commands run by the code at ``code``, each with its repositories ready."""
    env = _env(work, code)
    exe = snapkit_exe()
    listed, snapped = work / f"repo-list-{name}", work / f"repo-snap-{name}"
    small = work / "small"
    small.mkdir(exist_ok=True)
    for i in range(3):
        (small / f"f{i}.txt").write_text(f"round {i}\n" * 100)
        _run([exe, "snap", "-q", "--repo", str(listed), "--tag", f"t{i}", str(small)], env)
    snap = (exe, "snap", "-q", "--service-policy", "never", "--repo", str(snapped))
    _run(snap, env)  # the first snapshot; the timed ones find it unchanged
    return [Case("snapkit --help", name, (exe, "--help"), env),
            Case("snapkit snapshots", name, (exe, "snapshots", "--repo", str(listed)), env),
            Case("snapkit snap (unchanged OpenClaw)", name, snap, env)]


def _floors(env: dict[str, str]) -> list[Case]:
    py = sys.executable
    return [Case("python -S -c pass", "", (py, "-S", "-c", "pass"), env),
            Case("python -c pass", "", (py, "-c", "pass"), env),
            Case('python -c "import click"', "", (py, "-c", "import click"), env)]


def _modules(case: Case) -> str:
    """How many modules the command imports (snapkit's in brackets)."""
    argv = case.argv if case.argv[0] == sys.executable else (sys.executable, *case.argv)
    err = _run([argv[0], "-X", "importtime", *argv[1:]], case.env).stderr
    names = [ln.rsplit("|", 1)[1].strip() for ln in err.splitlines()
             if ln.startswith("import time:") and "|" in ln and "imported package" not in ln]
    ours = sum(1 for n in names if n == "snapkit" or n.startswith("snapkit."))
    return f"{len(names)} ({ours})"


@dataclass
class Times:
    """One case's wall times and CPU times (user + system of the process), in seconds."""

    wall: list[float]
    cpu: list[float]


def _time(cases: Sequence[Case], runs: int) -> dict[Case, Times]:
    """``runs`` rounds, each running every case once in a shuffled order."""
    times = {c: Times([], []) for c in cases}
    order = list(cases)
    rng = random.Random(14)
    for _ in range(runs):
        rng.shuffle(order)
        for case in order:
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            _run(case.argv, case.env)
            times[case].wall.append(time.perf_counter() - start)
            now = resource.getrusage(resource.RUSAGE_CHILDREN)
            times[case].cpu.append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=20, help="interleaved rounds [20]")
    ap.add_argument("--scale", type=float, default=0.01, help="OpenClaw fixture scale [0.01]")
    ap.add_argument("--before", metavar="PATH", type=Path,
                    help="a checkout of the code before (a git worktree) to time alongside")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)
    print("# Start-up\n")
    print(f"machine: {machine()} (shared: other jobs may run)")
    with workdir(args.keep) as work:
        info = generate(work / "home" / ".openclaw", seed=0, scale=args.scale)
        print(f"OpenClaw state dir: {info.files:,} files, {info.bytes / 1e6:.1f} MB "
              f"(scale {args.scale}); runs={args.runs}, interleaved")
        codes = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
        cases = _floors(_env(work, ROOT))
        for name, code in codes:
            cases += _cases(work, name, code)
        problems = []
        if args.before:
            helps = {c.code: _run(c.argv, c.env).stdout for c in cases
                     if c.argv[1:] == ("--help",)}
            if helps["before"] != helps["after"]:
                problems.append("`snapkit --help` prints different text before and after")
        times = _time(cases, args.runs)
        _report(cases, times, bool(args.before))
    for p in problems:
        print(f"\nproblem: {p}")
    return 1 if problems else 0


def _report(cases: Sequence[Case], times: dict[Case, Times], before: bool) -> None:
    bare = min(times[next(c for c in cases if c.label == "python -c pass")].wall)
    bare_s = min(times[cases[0]].wall)
    rows = []
    for c in sorted(cases, key=lambda c: (c.code != "", c.label, c.code)):
        t = times[c]
        rows.append((c.label, c.code or "-", f"{min(t.wall) * 1e3:.1f}",
                     f"{statistics.median(t.wall) * 1e3:.1f}", f"{min(t.cpu) * 1e3:.0f}",
                     f"{min(t.wall) / bare:.2f}x", f"{min(t.wall) / bare_s:.2f}x", _modules(c)))
    table("Per process: wall time min, median and CPU time min (ms); ratios of the min wall time",
          ("command", "code", "min", "median", "CPU", "x python -c pass", "x python -S",
           "modules (snapkit)"), rows)
    if not before:
        return
    ratios = []
    for label in dict.fromkeys(c.label for c in cases if c.code):
        b, a = (times[next(c for c in cases if c.label == label and c.code == k)]
                for k in ("before", "after"))
        ratios.append((label, f"{min(a.wall) / min(b.wall):.2f}",
                       f"{statistics.median(a.wall) / statistics.median(b.wall):.2f}",
                       f"{min(a.cpu) / min(b.cpu):.2f}", f"{min(b.wall) / min(a.wall):.2f}x"))
    table("After / before", ("command", "min", "median", "CPU min", "speed-up (min)"), ratios)


if __name__ == "__main__":
    raise SystemExit(main())
