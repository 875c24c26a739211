"""Reading a snapshot's content: one read per blob vs ``Repository.read_blobs`` (pack by pack).

Run from the project root::

    python -m benchmarks.bench_read                 # the Python standard library, ~1 minute
    python -m benchmarks.bench_read --source DIR    # any tree

One snapshot of ``--source`` (default: this interpreter's standard library, ~7,700 files) is
taken in-process in a fresh ``/tmp/snapkit-bench-*`` repository, then export (plain tar, to a
null sink: no compression, so the reading shows) and restore (into a fresh directory) run
``--runs`` times each way, interleaved, in this process (restores go to a tmpfs, ``/dev/shm``,
where there is one):

- **reopen**: the reader before this change — ``Repository.load_blob`` for each blob, and the
  local backend opening the pack (through ``pathlib``), seeking and reading for each blob;
- **per blob**: ``load_blob`` for each blob, the pack descriptors kept open (``pread``);
- **read_blobs**: ``Repository.read_blobs`` — a window of blobs at a time, one
  ``Backend.load_ranges`` per pack in pack order, descriptors kept open.

Prints min and median wall times and the ratio; the restored trees are compared to the source
once each way.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from snapkit.capture.chunker import Chunker
from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.read.export import ExportOptions, export_snapshot
from snapkit.read.restore import RestoreOptions, restore_snapshot
from snapkit.store.backend import LocalBackend
from snapkit.store.repository import Repository


class _Null(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        return len(memoryview(b))  # type: ignore[arg-type]


class _Reopening(LocalBackend):
    """The local backend's pack reads as they were: open, seek, read, close for each."""

    def load(self, kind: str, name: str, offset: int = 0, length: int | None = None) -> bytes:
        path = self._path(kind, name)
        with open(path, "rb") as f:
            if offset:
                f.seek(offset)
            return f.read() if length is None else f.read(length)


def _per_blob(repo: Repository) -> Callable[[Sequence[str]], Iterator[bytes]]:
    def read(ids: Sequence[str]) -> Iterator[bytes]:
        for blob_id in ids:
            yield repo.load_blob(blob_id)

    return read


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--source", default=sysconfig.get_paths()["stdlib"])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="snapkit-bench-"))
    try:
        repo = Repository.init(work / "repo")
        source = os.path.abspath(args.source)
        sid, snap = create_snapshot(repo, SnapOptions(sources=(source,)), None, None)
        total = snap.summary.total_bytes
        print(f"source {source}: {snap.summary.total_files:,} files, {total / 1e6:.1f} MB")
        ways = ("reopen", "per blob", "read_blobs")
        # Restore into memory where there is a tmpfs, so the disk's writeback does not drown
        # the reading being measured.
        shm = Path("/dev/shm")
        targets = Path(tempfile.mkdtemp(prefix="snapkit-bench-", dir=shm)) if shm.is_dir() \
            else work
        times: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs):
            for name in ways:
                repo = Repository.open(work / "repo")  # no warm tree cache between ways
                if name == "reopen":
                    repo.backend = _Reopening(work / "repo")
                reader = repo.read_blobs if name == "read_blobs" else _per_blob(repo)
                start = time.perf_counter()
                export_snapshot(repo.load_tree, reader, sid, snap, _Null(),  # type: ignore[arg-type]
                                ExportOptions(format="tar"))
                times.setdefault(("export tar", name), []).append(time.perf_counter() - start)
                target = targets / f"r-{run}-{name.replace(' ', '-')}"
                start = time.perf_counter()
                restore_snapshot(repo.load_tree, reader, snap,
                                 RestoreOptions(target=str(target)), Chunker(repo.config.chunker))
                times.setdefault(("restore", name), []).append(time.perf_counter() - start)
                shutil.rmtree(target)
        print()
        print("| operation | " + " | ".join(f"{w}: min (median)" for w in ways)
              + " | reopen / read_blobs |")
        print("|---|---|---|---|---|")
        for op in ("export tar", "restore"):
            cells = [f"{min(t):.3f} s ({statistics.median(t):.3f})"
                     for t in (times[(op, w)] for w in ways)]
            ratio = min(times[(op, "reopen")]) / min(times[(op, "read_blobs")])
            print(f"| {op} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if "targets" in locals() and targets != work:
            shutil.rmtree(targets, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
