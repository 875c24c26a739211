"""End-to-end: snapkit snapshots vs the naive full tar.gz, on a generated OpenClaw state dir.

Run from the project root::

    python -m benchmarks.bench_snapshot              # scale 1: ~13,400 files / 256 MB, ~3 min
    python -m benchmarks.bench_snapshot --scale 0.1 --runs 1 --days 2   # smoke test

The input is ``fixtures.openclaw_tree.generate(root, seed=SEED, scale=SCALE)`` (byte-identical
for a given seed and scale) and ``mutate(root, seed=day)`` for each "day" of use; everything
happens in a fresh ``/tmp/snapkit-bench-*`` directory that is removed afterwards (``--keep``
keeps it). All runs are with a warm page cache (the tree was just written).

Measured, side by side in one run:

a. naive baseline = what ``openclaw backup create`` does today: a fresh tar.gz of the whole
   state dir (Python ``tarfile`` + zlib gzip level 6), no exclusions, symlinks skipped;
b. the same tar.gz of only the files snapkit selects by default
   (``snapkit snap --dry-run --list --json``);
c. ``snapkit snap`` into an empty repository (median of ``--runs`` fresh repositories);
d. ``snapkit snap`` again with nothing changed (only live SQLite databases -- those with a
   ``-wal`` -- may be read: they are always re-copied through the backup API);
e/f. ``mutate`` then ``snapkit snap``, for ``--days`` days, with the repository size
   (``du``) against one naive tar.gz per day;
g. ``snapkit restore latest`` into an empty directory (median of ``--runs``), checked against
   the source.

Every snapshot's ``bytes_read`` is checked against what it should have read (the files the
mutation changed plus the live databases); a mismatch is reported as a problem.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import stat
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import (
    clean_env,
    du,
    generate_fixture,
    header,
    json_lines,
    last_json,
    mb,
    median,
    parse_args,
    report_problems,
    run,
    secs,
    snapkit_exe,
    spread,
    table,
    workdir,
)
from fixtures.openclaw_tree import mutate

SEED = 0


# ------------------------------------------------------------------ naive tar.gz baseline


def _walk_naive(top: Path) -> Iterator[tuple[Path, bool]]:
    """(path, is_dir) of every directory and regular file below ``top``, sorted, depth-first.

    Symlinks (to files or directories) are skipped, never followed; so are sockets, FIFOs and
    devices -- as ``openclaw backup create`` does.
    """
    with os.scandir(top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.is_symlink():
            continue
        if e.is_dir(follow_symlinks=False):
            yield Path(e.path), True
            yield from _walk_naive(Path(e.path))
        elif e.is_file(follow_symlinks=False):
            yield Path(e.path), False


def targz(root: Path, out: Path, paths: Sequence[str] | None = None) -> tuple[float, int, int]:
    """Write a tar.gz (zlib level 6) of ``root`` (or only ``paths``); (seconds, size, files).

    Entry names are ``<root name>/<relative path>``, like ``tar -czf out -C parent root``.
    """
    base = root.parent
    files = 0
    t0 = time.perf_counter()
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(root, arcname=root.name, recursive=False)
        if paths is None:
            for path, is_dir in _walk_naive(root):
                tar.add(path, arcname=str(path.relative_to(base)), recursive=False)
                files += not is_dir
        else:
            for p in paths:
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode):
                    tar.add(p, arcname=str(Path(p).relative_to(base)), recursive=False)
                    files += 1
    elapsed = time.perf_counter() - t0
    return elapsed, out.stat().st_size, files


# ------------------------------------------------------------------ snapkit runs


@dataclass
class Snap:
    wall: float
    summary: dict[str, Any]

    @property
    def s(self) -> dict[str, Any]:
        return self.summary


class Bench:
    def __init__(self, work: Path, root: Path) -> None:
        self.work = work
        self.root = root
        self.env = clean_env(work)
        self.exe = snapkit_exe()
        self.repo = work / "repo"
        self.problems: list[str] = []

    def cli(self, *args: str | os.PathLike[str], repo: Path | None = None,
            ok: Sequence[int] = (0,)) -> tuple[float, str]:
        return run([self.exe, *args, "--repo", repo or self.repo], self.env, ok)

    def snap(self, repo: Path | None = None) -> Snap:
        wall, out = self.cli("snap", "--json", "--service-policy", "never", self.root, repo=repo)
        summary = last_json(out)
        if not summary.get("complete", False):
            self.problems.append(f"snapshot incomplete: {summary.get('warnings')}")
        return Snap(wall, summary)

    def selected(self) -> tuple[list[str], dict[str, Any], float]:
        wall, out = self.cli("snap", "--dry-run", "--list", "--json", "--service-policy",
                             "never", self.root)
        report = last_json(out)
        return list(report["paths"]), report, wall

    def file_sizes(self, snap: str = "latest") -> dict[str, int]:
        """Size of every regular file of a snapshot, as stored (SQLite: the captured copy)."""
        _, out = self.cli("ls", snap, "-R", "-l", "--json")
        return {e["path"]: int(e["size"]) for e in json_lines(out) if e.get("type") == "file"}

    def sqlite_paths(self, snap: str = "latest") -> list[str]:
        _, out = self.cli("show", snap, "--json")
        return list(last_json(out).get("sqlite", []))

    def live_dbs(self, sqlite: Sequence[str]) -> list[str]:
        """Databases with a ``-wal`` next to them: re-copied by every snapshot by design."""
        return [p for p in sqlite if os.path.lexists(p + "-wal")]

    def check_read(self, label: str, snap: Snap, changed: Sequence[str]) -> tuple[int, int]:
        """Expected ``bytes_read``: changed selected files + live DBs. Records any mismatch."""
        sizes = self.file_sizes()
        live = self.live_dbs(self.sqlite_paths())
        must = {str(self.root / rel) for rel in changed} | set(live)
        expected = sum(size for path, size in sizes.items() if path in must)
        got = int(snap.s["bytes_read"])
        if got != expected:
            self.problems.append(
                f"{label}: bytes_read {got:,} but expected {expected:,} "
                f"(changed selected files + {len(live)} live SQLite DBs)"
            )
        return expected, len(live)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "n/a"


def main(argv: list[str] | None = None) -> int:
    def days_option(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--days", type=int, default=5, help="days of mutate + snap")

    args = parse_args("python -m benchmarks.bench_snapshot", __doc__, argv, seed=SEED, runs=3,
                      runs_help="repeats of the repeatable steps", extra=days_option)
    runs = max(1, args.runs)
    t_start = time.perf_counter()

    header("snapkit snapshot benchmark", args, runs, f", days={args.days}")

    with workdir(args.keep) as work:
        root, info = generate_fixture(work, args)
        b = Bench(work, root)
        tars = work / "tars"
        tars.mkdir()

        # CLI start-up, for scale: every snapkit time below includes it once.
        startup = [run([b.exe, "--version"], b.env)[0] for _ in range(runs)]

        # Selection (dry run).
        dry_walls: list[float] = []
        for _ in range(runs):
            paths, report, wall = b.selected()
            dry_walls.append(wall)
        sel_files = int(report["included"]["files"])
        sel_bytes = int(report["included"]["bytes"])

        # (a) naive tar.gz of everything, (b) tar.gz of the selection.
        naive = [targz(root, tars / f"naive-day0-{i}.tar.gz") for i in range(runs)]
        excl = [targz(root, tars / f"selected-day0-{i}.tar.gz", paths) for i in range(runs)]
        naive_size, naive_files = naive[0][1], naive[0][2]
        excl_size = excl[0][1]
        for p in tars.glob("*-day0-[1-9]*.tar.gz"):
            p.unlink()

        # (c) first snapshot, each into a fresh repository; the last one is kept.
        firsts: list[Snap] = []
        first_du: tuple[int, int] = (0, 0)
        for i in range(runs):
            repo = b.repo if i == runs - 1 else work / f"repo-first-{i}"
            firsts.append(b.snap(repo))
            first_du = du(repo)
            if repo != b.repo:
                shutil.rmtree(repo)
        first = firsts[-1]
        sqlite = b.sqlite_paths()
        if first.s["bytes_read"] != first.s["total_bytes"]:
            b.problems.append(f"first snapshot read {first.s['bytes_read']:,} of "
                              f"{first.s['total_bytes']:,} bytes")

        # (d) no change.
        nochange: list[Snap] = []
        expected_nochange = live_nochange = 0
        for i in range(runs):
            s = b.snap()
            nochange.append(s)
            expected_nochange, live_nochange = b.check_read(f"no-change run {i + 1}", s, ())
            if s.s["files_new"] or s.s["files_changed"]:
                b.problems.append(f"no-change run {i + 1}: {s.s['files_new']} new, "
                                  f"{s.s['files_changed']} changed files")
        nochange_du = du(b.repo)

        # (e)/(f) days of use.
        days: list[dict[str, Any]] = [{
            "day": 0, "snap": first, "expected": first.s["total_bytes"], "repo": nochange_du,
            "naive": naive_size, "excl": excl_size, "naive_t": naive[-1][0],
            "excl_t": excl[-1][0], "changed": info.files,
        }]
        for day in range(1, args.days + 1):
            m = mutate(root, seed=day)
            s = b.snap()
            expected, _ = b.check_read(f"day {day}", s, m.changed)
            repo_du = du(b.repo)
            day_paths, _, _ = b.selected()
            nt, ns, _ = targz(root, tars / f"naive-day{day}.tar.gz")
            et, es, _ = targz(root, tars / f"selected-day{day}.tar.gz", day_paths)
            days.append({"day": day, "snap": s, "expected": expected, "repo": repo_du,
                         "naive": ns, "excl": es, "naive_t": nt, "excl_t": et,
                         "changed": len(m.changed)})

        # (g) restore latest into an empty dir.
        restores: list[float] = []
        latest_files = int(days[-1]["snap"].s["total_files"])
        for i in range(runs):
            target = work / f"restore-{i}"
            wall, out = b.cli("restore", "latest", "--target", target, "--json")
            restores.append(wall)
            r = last_json(out)
            if r.get("files") != latest_files:
                b.problems.append(f"restore {i + 1}: {r.get('files')} files, "
                                  f"snapshot has {latest_files}")
            if i == 0:
                day_paths, _, _ = b.selected()
                skip = set(sqlite)
                bad = [
                    p for p in day_paths
                    if p not in skip and not filecmp.cmp(p, str(target) + p, shallow=False)
                ]
                if bad:
                    b.problems.append(f"restore differs from the source for {len(bad)} "
                                      f"files, e.g. {bad[0]}")
            shutil.rmtree(target)

        # ------------------------------------------------------------- report
        table(
            f"Inputs (scale {args.scale}, seed {args.seed})",
            ["tree", "files", "bytes"],
            [
                ["naive: every regular file, symlinks skipped", f"{naive_files:,}",
                 mb(info.bytes)],
                ["snapkit default selection (OpenClaw rules, full mode)", f"{sel_files:,}",
                 mb(sel_bytes)],
                ["selected / naive", f"{sel_files / naive_files:.1%}",
                 f"{sel_bytes / info.bytes:.1%}"],
            ],
        )
        excluded = sorted(report["excluded"], key=lambda r: -int(r["bytes"]))[:8]
        table(
            "Largest exclusions (day 0)",
            ["rule", "files", "bytes"],
            [[r["rule"], f"{r['files']:,}", mb(r["bytes"])] for r in excluded],
        )

        f = first.s
        table(
            f"One backup of the day-0 tree (median of {runs}; range in brackets)",
            ["method", "wall time", "files", "read", "output size", "vs naive size"],
            [
                ["(a) naive tar.gz, zlib 6 (openclaw backup create)",
                 spread([t for t, _, _ in naive]), f"{naive_files:,}", mb(info.bytes),
                 mb(naive_size), "1.00"],
                ["(b) tar.gz of snapkit's selection, zlib 6",
                 spread([t for t, _, _ in excl]), f"{sel_files:,}", mb(sel_bytes),
                 mb(excl_size), f"{excl_size / naive_size:.2f}"],
                ["(c) snapkit snap, first (empty repo)", spread([s.wall for s in firsts]),
                 f"{f['total_files']:,}", mb(f["bytes_read"]),
                 f"{mb(first_du[0])} repo", f"{first_du[0] / naive_size:.2f}"],
                ["(d) snapkit snap, nothing changed", spread([s.wall for s in nochange]),
                 f"{nochange[-1].s['total_files']:,}", mb(nochange[-1].s["bytes_read"]),
                 f"+{mb(nochange[-1].s['bytes_added_stored'])}", ""],
                ["    snapkit snap --dry-run (walk + rules only)", spread(dry_walls),
                 f"{sel_files:,}", "0", "", ""],
                ["    snapkit --version (CLI start-up)", spread(startup), "", "", "", ""],
            ],
        )
        print(f"\nfirst snapshot: {mb(f['bytes_added_raw'])} of chunks, "
              f"{mb(f['bytes_added_stored'])} stored; repo du -sb {mb(first_du[0])}, "
              f"du -sk {mb(first_du[1])}; snapkit's own duration_s "
              f"{median([s.s['duration_s'] for s in firsts]):.2f} s")
        print(f"no-change run: read {nochange[-1].s['bytes_read']:,} B "
              f"(expected {expected_nochange:,} B = {live_nochange} live SQLite DBs "
              f"as copied), snapkit's own duration_s "
              f"{median([s.s['duration_s'] for s in nochange]):.2f} s")

        rows = []
        cum_naive = cum_excl = 0
        for d in days:
            s = d["snap"].s
            cum_naive += d["naive"]
            cum_excl += d["excl"]
            prev_repo = days[d["day"] - 1]["repo"][0] if d["day"] else 0
            rows.append([
                "0 (first)" if d["day"] == 0 else str(d["day"]),
                secs(d["snap"].wall),
                secs(s["duration_s"]),
                f"{s['files_new']}/{s['files_changed']}",
                mb(s["bytes_read"]),
                mb(d["expected"]),
                mb(s["bytes_added_stored"]),
                mb(d["repo"][0] - prev_repo) if d["day"] else mb(d["repo"][0]),
                mb(d["repo"][0]),
                f"{mb(d['naive'])} / {secs(d['naive_t'])}",
                mb(cum_naive),
                mb(cum_excl),
                f"{cum_naive / d['repo'][0]:.1f}x",
            ])
        table(
            "Day by day: mutate (a day of use), then snapkit snap; one naive tar.gz per day",
            ["day", "snap time", "of which in snapkit", "new/chg files", "read", "expected read",
             "added (stored)", "repo growth", "repo (du -sb)", "naive tar.gz / time", "6-day naive",
             "6-day selected tar.gz", "naive / repo"],
            rows,
        )
        print("(snap time = wall time of the CLI; 'of which in snapkit' = the summary's "
              "duration_s, without interpreter start-up and imports. Day 0's repository "
              "already holds the no-change snapshots of step (d). 'expected read' = files the "
              "mutation changed that are selected + live DBs.)")

        incr = [d["snap"] for d in days[1:]]
        if incr:
            incr_t = median([s.wall for s in incr])
            incr_read = median([s.s["bytes_read"] for s in incr])
            incr_added = median([s.s["bytes_added_stored"] for s in incr])
            first_t = median([s.wall for s in firsts])
            incr_own = median([s.s["duration_s"] for s in incr])
            first_own = median([s.s["duration_s"] for s in firsts])
            repo_final = days[-1]["repo"][0]
            ndays = len(days)
            total_naive = sum(d["naive"] for d in days)
            total_excl = sum(d["excl"] for d in days)
            naive_t = median([t for t, _, _ in naive])
            table(
                "Ratios",
                ["comparison", "value"],
                [
                    ["incremental snap (median of days) vs first snap, time",
                     f"{secs(incr_t)} vs {secs(first_t)}: {_ratio(first_t, incr_t)} faster"],
                    ["incremental vs first, snapkit's own duration_s (no start-up)",
                     f"{secs(incr_own)} vs {secs(first_own)}: "
                     f"{_ratio(first_own, incr_own)} faster"],
                    ["incremental snap vs naive tar.gz, time",
                     f"{secs(incr_t)} vs {secs(naive_t)}: {_ratio(naive_t, incr_t)} faster"],
                    ["first snap vs naive tar.gz, time",
                     f"{secs(first_t)} vs {secs(naive_t)}: {_ratio(naive_t, first_t)} faster"],
                    ["incremental vs first, bytes read",
                     f"{mb(incr_read)} vs {mb(f['bytes_read'])}: "
                     f"{_ratio(f['bytes_read'], incr_read)} less"],
                    ["incremental vs first, bytes stored",
                     f"{mb(incr_added)} vs {mb(f['bytes_added_stored'])}: "
                     f"{_ratio(f['bytes_added_stored'], incr_added)} less"],
                    [f"repo after {ndays} snapshots vs {ndays} naive tar.gz",
                     f"{mb(repo_final)} vs {mb(total_naive)}: "
                     f"{_ratio(total_naive, repo_final)} smaller"],
                    [f"repo after {ndays} snapshots vs {ndays} tar.gz of the selection",
                     f"{mb(repo_final)} vs {mb(total_excl)}: "
                     f"{_ratio(total_excl, repo_final)} smaller"],
                    ["snapkit selection vs naive tree, bytes",
                     f"{mb(sel_bytes)} vs {mb(info.bytes)}: {sel_bytes / info.bytes:.1%}"],
                    ["snapkit selection vs naive tree, files",
                     f"{sel_files:,} vs {naive_files:,}: {sel_files / naive_files:.1%}"],
                    ["one naive tar.gz vs first repo",
                     f"{mb(naive_size)} vs {mb(first_du[0])}: "
                     f"{_ratio(naive_size, first_du[0])}"],
                ],
            )
        table(
            f"Restore latest into an empty dir (median of {runs})",
            ["command", "wall time", "files", "bytes"],
            [["snapkit restore latest --target DIR", spread(restores), f"{latest_files:,}",
              mb(days[-1]["snap"].s["total_bytes"])]],
        )

        return report_problems(
            b.problems,
            "none: every run read exactly the expected bytes; restore matches the source",
            t_start,
        )


if __name__ == "__main__":
    sys.exit(main())
