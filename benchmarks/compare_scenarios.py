"""The scenarios of ``benchmarks.compare``: each runs snapkit and every available peer
interleaved (run k: snapkit, restic, borg, openclaw, then the floor) and returns
:class:`~benchmarks.compare_report.Result` s.

* ``snapshots``: per run fresh repositories, a first snapshot, then an unchanged one. Floors: a
  Python process reading every file once (first), a Python process doing a bare ``lstat`` walk
  (unchanged: interpreter start included). On the fixture the real ``openclaw backup create``
  runs in both phases (a full archive every time) on a fresh copy of the installation
  (``compare_data.openclaw_view``: it writes its state database, which would change the tree).
* ``restore``: the newest snapshot into an empty directory (on tmpfs ``/dev/shm`` when it has
  room); floor ``tar --zstd -xf`` of the same files.
* ``export``: ``snapkit export`` as tar.zst and tar.gz against ``tar --zstd -cf`` and
  ``tar czf`` of the same files.
* ``history``: ten days of the fixture (day 0 the first snapshot, then ``mutate(seed=day)``
  and a snapshot per day): the daily runs' times and the repository sizes at the end, against
  one ``openclaw backup create`` archive per day.
* ``startup``: ``snapkit --help`` against the peers' ``--help`` (``restic version``) and a bare
  ``python -c pass``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks._common import du, snapkit_exe
from benchmarks.compare_data import DataSet, mark_dirty, openclaw_view
from benchmarks.compare_peers import Command, Peer, Repo, Sample, measure, quiet
from benchmarks.compare_report import Result, Row
from fixtures.openclaw_tree import mutate

#: The floors' Python: read every file once, or lstat every entry (``@LIST`` or roots).
FLOOR = r"""
import os, sys
buf = bytearray(1 << 20)
def read(path):
    with open(path, "rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass
def walk(top, on_file):
    stack = [top]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                e.stat(follow_symlinks=False)
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif on_file and e.is_file(follow_symlinks=False):
                    on_file(e.path)
mode, args = sys.argv[1], sys.argv[2:]
if args[0].startswith("@"):
    dirs = set()
    with open(args[0][1:]) as listing:
        for line in listing:
            path = line.rstrip("\n")
            if mode == "read":
                read(path)
                continue
            os.lstat(path)
            parent = os.path.dirname(path)
            while parent not in dirs and parent != "/":
                dirs.add(parent)
                os.lstat(parent)
                parent = os.path.dirname(parent)
else:
    for a in args:
        walk(a, read if mode == "read" else None)
"""


@dataclass(frozen=True)
class Bench:
    """What every scenario needs: the work dir, the tools, the number of runs, the log."""

    work: Path
    peers: tuple[Peer, ...]
    runs: int
    log: Path
    restore_root: Path

    def tools(self, *names: str) -> list[Peer]:
        return [p for p in self.peers if p.name in names]


class Rows:
    """Samples collected per tool (in the order tools were first seen)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Sample]] = {}
        self.stored: dict[str, int] = {}
        self.floors: set[str] = set()

    def add(self, tool: str, sample: Sample, *, floor: bool = False) -> None:
        self.samples.setdefault(tool, []).append(sample)
        if floor:
            self.floors.add(tool)

    def rows(self, peers: list[Peer], notes: dict[str, str] | None = None) -> tuple[Row, ...]:
        out = [Row(p.name, missing=p.version) for p in peers if not p.available]
        for tool, samples in self.samples.items():
            out.append(Row(tool, tuple(samples), self.stored.get(tool),
                           (notes or {}).get(tool, ""), floor=tool in self.floors))
        order = {"snapkit": 0, "restic": 1, "borg": 2, "openclaw": 3}
        return tuple(sorted(out, key=lambda r: (r.floor, order.get(r.tool, 4))))


def floor_cmd(mode: str, data: DataSet) -> Command:
    """The floor: read every file once, or lstat-walk the tree; on the fixture (a selection)
    read or lstat every selected file (and lstat each directory above it) instead."""
    args = [f"@{data.selection}"] if data.selection else [str(r) for r in data.roots]
    return Command((sys.executable, "-c", FLOOR, mode, *args), {"PATH": "/usr/bin:/bin"})


def selection(bench: Bench, data: DataSet) -> DataSet:
    """``data`` with the list of files snapkit selects (for the peers), if it is a fixture."""
    if data.home is None:
        return data
    snapkit = bench.tools("snapkit")[0]
    out = quiet([snapkit_exe(), "snap", "--dry-run", "--list", "--json", "--service-policy",
                 "never"],
                {**snapkit.env, "HOME": str(data.home)}, data.home)
    dry = json.loads(out.strip().splitlines()[-1])
    listing = bench.work / f"selection-{data.home.parent.name}.txt"
    # snapkit copies a live SQLite database through the backup API (its -wal included); a
    # tool that copies files needs the -wal next to it to have the same transactions
    wals = [f"{p}-wal" for p in dry["paths"] if os.path.isfile(f"{p}-wal")]
    listing.write_text("".join(p + "\n" for p in [*dry["paths"], *wals]))
    size = dry["included"]
    return replace(data, selection=listing, selected=f"snapkit's selection, given to the "
                   f"peers as a list: {size['files']:,} files, {size['bytes'] / 1e6:,.0f} MB "
                   f"(plus the {len(wals)} live databases' -wal files)")


def _stored(path: Path) -> int:
    return du(path)[0]


def snapshots(bench: Bench, key: str, data: DataSet) -> tuple[list[Result], dict[str, Repo]]:
    """First and unchanged snapshots, ``bench.runs`` times with fresh repositories; the last
    run's repositories are returned for the scenarios that read them."""
    data = selection(bench, data)
    tools = bench.tools("snapkit", "restic", "borg")
    oc_all = bench.tools("openclaw") if data.home is not None else []
    oc = [p for p in oc_all if p.available]
    first, unchanged = Rows(), Rows()
    repos: dict[str, Repo] = {}
    measure(floor_cmd("read", data), bench.log)  # untimed: the page cache holds the data
    for k in range(bench.runs):
        for old in repos.values():
            shutil.rmtree(old.path, ignore_errors=True)
        repos = {p.name: p.init(bench.work / f"{key}-{p.name}") for p in tools if p.available}
        for rows, mode in ((first, "read"), (unchanged, "walk")):
            for p in tools:
                if p.available:
                    rows.add(p.name, measure(p.backup(repos[p.name], data), bench.log))
                    rows.stored[p.name] = _stored(repos[p.name].path)
            for p in oc:
                repo = p.init(bench.work / f"{key}-openclaw-{k}-{mode}")
                rows.add(p.name, measure(p.backup(repo, openclaw_view(data)), bench.log))
                rows.stored[p.name] = _stored(repo.path)
                shutil.rmtree(repo.path)
            rows.add(f"python {mode}", measure(floor_cmd(mode, data), bench.log), floor=True)
    notes = {"python read": "every selected file read once, in-process",
             "python walk": "bare lstat walk, interpreter start included"
             + (": the selected files and their directories" if data.selection else ""),
             "openclaw": "a full archive every run"}
    peers = tools + oc_all
    return [Result(f"{key}/first", f"{data.name}: first snapshot", first.rows(peers, notes),
                   data.selected),
            Result(f"{key}/unchanged", f"{data.name}: unchanged re-snapshot",
                   unchanged.rows(peers, notes), data.selected)], repos


def _tar_floor(bench: Bench, data: DataSet, out: Path, flag: str) -> Command:
    src = ["-T", str(data.selection)] if data.selection else [str(r) for r in data.roots]
    return Command(("tar", flag, "-cf", str(out), "-P", *src), {"PATH": "/usr/bin:/bin"})


def restore(bench: Bench, key: str, data: DataSet, repos: dict[str, Repo]) -> Result:
    """Restore the newest snapshot of each repository; floor ``tar --zstd -x``."""
    data = selection(bench, data)
    archive = bench.work / f"{key}-floor.tar.zst"
    measure(_tar_floor(bench, data, archive, "--zstd"), bench.log)
    tools = bench.tools("snapkit", "restic", "borg")
    rows = Rows()
    target = bench.restore_root / "target"
    counts: dict[str, str] = {}
    tar = Command(("tar", "--zstd", "-xf", str(archive), "-C", str(target)),
                  {"PATH": "/usr/bin:/bin"})
    for _ in range(bench.runs):
        for name, cmd, floor in [*((p.name, p.restore(repos[p.name], target), False)
                                   for p in tools if p.available),
                                 ("tar --zstd -xf", tar, True)]:
            _fresh(target)
            rows.add(name, measure(cmd, bench.log), floor=floor)
            counts[name] = f"{_files(target):,} files"
    shutil.rmtree(target, ignore_errors=True)
    archive.unlink()
    where = "tmpfs" if str(bench.restore_root).startswith("/dev/shm") else "disk"
    return Result(f"{key}/restore", f"{data.name}: restore into an empty directory ({where})",
                  rows.rows(tools, counts))


def _files(top: Path) -> int:
    """Regular files below ``top`` (what a restore wrote)."""
    return sum(len([n for n in names if os.path.isfile(os.path.join(d, n))])
               for d, _dirs, names in os.walk(top))


def _fresh(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def export(bench: Bench, key: str, data: DataSet, repo: Repo) -> list[Result]:
    """``snapkit export`` tar.zst / tar.gz against GNU tar of the same files."""
    data = selection(bench, data)
    snapkit = bench.tools("snapkit")[0]
    results = []
    for ext, flag in (("tar.zst", "--zstd"), ("tar.gz", "--gzip")):
        rows = Rows()
        out = bench.work / f"export.{ext}"
        for _ in range(bench.runs):
            cmd = Command((snapkit_exe(), "export", "-q", "latest", "-o", str(out),
                           "--repo", str(repo.path)), snapkit.env)
            peer = (f"tar {flag} -cf", _tar_floor(bench, data, out, flag))
            for tool, c in (("snapkit", cmd), peer):
                rows.add(tool, measure(c, bench.log))
                rows.stored[tool] = out.stat().st_size if out.exists() else 0
                out.unlink(missing_ok=True)
        results.append(Result(f"{key}/export-{ext}", f"{data.name}: export {ext}",
                              rows.rows([snapkit]),
                              note=f"The peer is GNU `tar {flag} -cf` of the same files."))
    return results


def history(bench: Bench, key: str, data: DataSet, days: int) -> Result:
    """Day 0 a first snapshot, then ``mutate(seed=day)`` and a snapshot per day; the daily
    runs' times and the repository sizes after ``days`` days (one openclaw archive a day)."""
    tools = [p for p in bench.peers if p.available]
    repos = {p.name: p.init(bench.work / f"{key}-history-{p.name}") for p in tools}
    rows = Rows()
    mark_dirty(data)
    for day in range(days):
        if day:
            mutate(data.roots[0], seed=day)
        day_data = selection(bench, data)
        for p in tools:
            seen = openclaw_view(day_data) if p.name == "openclaw" else day_data
            sample = measure(p.backup(repos[p.name], seen), bench.log)
            if day:
                rows.add(p.name, sample)
    for p in tools:
        rows.stored[p.name] = _stored(repos[p.name].path)
        shutil.rmtree(repos[p.name].path)
    return Result(f"{key}/history", f"{data.name}: a day of use (`mutate`), {days} days",
                  rows.rows(list(bench.peers), {"openclaw": "full archive every day"}),
                  note=f"Times: the {days - 1} daily runs after the first snapshot. Stored: "
                       f"the repository after {days} snapshots (openclaw: its {days} archives).")


def startup(bench: Bench, runs: int) -> Result:
    """Start-up: ``snapkit --help`` vs the peers' and a bare interpreter."""
    rows = Rows()
    bare = Command((sys.executable, "-c", "pass"), bench.peers[0].env)
    for _ in range(runs):
        for p in bench.peers:
            if p.available:
                rows.add(p.name, measure(p.startup(), bench.log))
        rows.add("python -c pass", measure(bare, bench.log), floor=True)
    return Result("startup", "start-up: `snapkit --help`, `restic version`, "
                  "`borg --help`, `openclaw --help`", rows.rows(list(bench.peers)))

