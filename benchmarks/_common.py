"""Helpers shared by the benchmarks (the end-to-end ``bench_snapshot`` and ``bench_export``;
``table`` also serves ``bench_params``).

Every benchmark works in its own ``tempfile.mkdtemp(prefix="snapkit-bench-")`` directory and
runs the real ``snapkit`` CLI in a subprocess with an environment of its own: no ``SNAPKIT_*``
or ``OPENCLAW_*`` variable of the caller leaks in, and ``XDG_CONFIG_HOME`` / ``XDG_DATA_HOME``
/ ``XDG_CACHE_HOME`` point into the work dir, so no user config or repository is ever read or
written. Bytecode goes to the work dir (``PYTHONPYCACHEPREFIX``) and every timed command is run
once untimed first, so the CLI starts like an installed tool (pip compiles bytecode) even when
``PYTHONDONTWRITEBYTECODE`` is set, and nothing is written into the checkout. Wall times are
``time.perf_counter`` around the whole subprocess (interpreter start-up included, as a user
sees it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from fixtures.openclaw_tree import FixtureInfo, generate

MB = 1e6
T = TypeVar("T")


def parse_args(
    prog: str,
    doc: str | None,
    argv: Sequence[str] | None,
    *,
    seed: int,
    runs: int,
    runs_help: str,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The end-to-end benchmarks' options: ``--scale``, ``--seed``, ``--runs`` (then what
    ``extra`` adds) and ``--keep``; the description is the first line of ``doc``."""
    ap = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0] if doc else None)
    ap.add_argument("--scale", type=float, default=1.0, help="fixture scale (1 = ~256 MB)")
    ap.add_argument("--seed", type=int, default=seed, help="fixture seed")
    ap.add_argument("--runs", type=int, default=runs, help=runs_help)
    if extra is not None:
        extra(ap)
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    return ap.parse_args(argv)


def header(title: str, args: argparse.Namespace, runs: int, more: str = "") -> None:
    """The report's title, the machine and the fixture parameters."""
    print(f"# {title}\n")
    print(f"machine: {machine()}")
    print(f"fixture: fixtures.openclaw_tree seed={args.seed} scale={args.scale}; "
          f"runs={runs}{more}")


def generate_fixture(work: Path, args: argparse.Namespace) -> tuple[Path, FixtureInfo]:
    """Generate the OpenClaw state dir at ``work/home/.openclaw``; print what it holds."""
    root = work / "home" / ".openclaw"
    t_gen, info = timed(lambda: generate(root, seed=args.seed, scale=args.scale))
    print(f"generated {info.files:,} files, {mb(info.bytes)} in {secs(t_gen)}")
    return root, info


def report_problems(problems: Sequence[str], none: str, t_start: float) -> int:
    """Print the problems section and the total time; the exit code (1 if any problem)."""
    print("\n### Problems\n")
    if problems:
        for p in problems:
            print(f"- {p}")
    else:
        print(none)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 1 if problems else 0


def snapkit_exe() -> str:
    """The ``snapkit`` entry point next to this interpreter, else the one on ``PATH``."""
    here = Path(sys.executable).parent / "snapkit"
    if here.exists():
        return str(here)
    found = shutil.which("snapkit")
    if found is None:
        raise SystemExit("snapkit CLI not found (pip install -e . into this interpreter's env)")
    return found


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    """A fresh ``/tmp/snapkit-bench-*`` directory, removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix="snapkit-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"\n(work dir kept: {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


def clean_env(work: Path) -> dict[str, str]:
    """The environment for snapkit subprocesses: isolated config, data and cache dirs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SNAPKIT_", "OPENCLAW_", "CLAWDBOT_"))
    }
    for var, sub in (
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_DATA_HOME", "xdg-data"),
        ("XDG_CACHE_HOME", "xdg-cache"),
    ):
        (work / sub).mkdir(exist_ok=True)
        env[var] = str(work / sub)
    env["TERM"] = "dumb"
    # Like an installed tool (pip compiles bytecode), but without writing into the checkout:
    # bytecode goes to the work dir, compiled once up front.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    _warm_up(work, env)
    return env


def _warm_up(work: Path, env: dict[str, str]) -> None:
    """Run every command the benchmarks time once, untimed, on a tiny tree.

    With ``PYTHONPYCACHEPREFIX`` every module (stdlib and site-packages included) is looked up
    in the prefix, so the first run of each command compiles what it imports; this pays that
    once, before anything is measured.
    """
    warm = work / "warm-up"
    src = warm / "src"
    src.mkdir(parents=True)
    (src / "openclaw.json").write_text('{"agents": {}}\n')
    (src / "notes.md").write_text("warm-up\n" * 100)
    db = sqlite3.connect(src / "w.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t(x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    exe = snapkit_exe()
    repo = ["--repo", str(warm / "repo")]
    run([exe, "--version"], env)
    run([exe, "init", "--encryption", "none", *repo], env)  # plain, as the benchmarks' are
    run([exe, "snap", "--dry-run", "--list", "--json", "--service-policy", "never", str(src)],
        env)
    run([exe, "snap", "--json", "--service-policy", "never", str(src), *repo], env)
    db.close()
    run([exe, "ls", "latest", "-R", "-l", "--json", *repo], env)
    run([exe, "show", "latest", "--json", *repo], env)
    run([exe, "restore", "latest", "--target", str(warm / "r"), "--json", *repo], env)
    for ext in ("tar.gz", "tar.zst", "tar"):
        out = warm / f"x.{ext}"
        run([exe, "export", "latest", "-o", str(out), "--json", *repo], env)
        run([exe, "verify-archive", str(out), "--json", *repo], env)
    shutil.rmtree(warm)


def run(
    args: Sequence[str | os.PathLike[str]], env: dict[str, str], ok: Iterable[int] = (0,)
) -> tuple[float, str]:
    """Run a command; return (wall seconds, stdout). Fails loudly on an unexpected exit code."""
    cmd = [os.fspath(a) for a in args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in tuple(ok):
        raise SystemExit(
            f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    return elapsed, proc.stdout


def last_json(stdout: str) -> dict[str, Any]:
    """The last JSON line of a ``--json`` output (the summary)."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        raise SystemExit("expected JSON output, got nothing")
    obj = json.loads(lines[-1])
    if not isinstance(obj, dict):
        raise SystemExit(f"expected a JSON object, got {lines[-1][:200]}")
    return obj


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in stdout.splitlines() if ln.strip()]


def du(path: Path) -> tuple[int, int]:
    """``du -sb`` (apparent bytes) and ``du -sk`` x 1024 (allocated on disk) of ``path``."""
    apparent = int(subprocess.run(
        ["du", "-sb", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()[0])
    allocated = int(subprocess.run(
        ["du", "-sk", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()[0]) * 1024
    return apparent, allocated


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def mb(n: float) -> str:
    """Bytes as decimal MB with sensible precision."""
    v = n / MB
    if v >= 100:
        return f"{v:.0f} MB"
    if v >= 1:
        return f"{v:.1f} MB"
    if v >= 0.01:
        return f"{v:.2f} MB"
    return f"{n / 1e3:.1f} kB"


def secs(t: float) -> str:
    return f"{t:.2f} s" if t < 10 else f"{t:.1f} s"


def spread(xs: Sequence[float]) -> str:
    """``median s`` plus the range when there was more than one run."""
    if len(xs) == 1:
        return secs(xs[0])
    return f"{secs(median(xs))} ({min(xs):.2f}–{max(xs):.2f})"


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a Markdown table (first column left-aligned, the others right-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n### {title}\n")

    def line(r: Sequence[str]) -> str:
        parts = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)]
        return "| " + " | ".join(parts) + " |"

    print(line(cells[0]))
    print(
        "|"
        + "|".join(("-" * (wd + 1) + ":") if i else ("-" * (wd + 2)) for i, wd in enumerate(widths))
        + "|"
    )
    for r in cells[1:]:
        print(line(r))
    sys.stdout.flush()


def machine() -> str:
    """One paragraph describing the machine and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        ram = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    versions = [f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    try:
        import zstandard

        zstd = ".".join(map(str, zstandard.ZSTD_VERSION))
        versions.append(f"zstd {zstd} (python-zstandard {zstandard.__version__})")
    except ImportError:
        pass
    try:
        import isal

        versions.append(f"python-isal {isal.__version__}")
    except ImportError:
        pass
    import snapkit

    versions.append(f"snapkit {snapkit.__version__}")
    return (
        f"{os.cpu_count()} CPUs ({cpu}, {platform.machine()}){ram}, "
        f"{platform.system()} {platform.release()}; " + ", ".join(versions)
    )
