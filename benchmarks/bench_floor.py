"""The floor of a restore in Python: how close to ``tar --zstd -x`` can a process get that has
to start CPython and import the libraries snapkit is required to use (issue 14)?

Run from the project root, with a plain repository holding the snapshot to restore::

    python -m benchmarks.bench_floor --repo R [--snapshot latest] [--runs 15]

It restores the snapshot once with snapkit (the reference tree), packs that tree with
``tar --zstd -cf``, and extracts from the repository, for every file, the stored zstd frames
``snapkit restore`` reads (one blob file and a msgpack index, in the work dir). Then it times,
interleaved, each into an empty directory on tmpfs (``/dev/shm``, else the work dir):

- ``tar --zstd -x`` of the tree;
- the floor: a Python program that imports click, zstandard, msgpack and xxhash (what every
  snapkit command needs) and ``concurrent.futures``, reads the extracted frames, decompresses
  each on two threads and writes each file — no repository, no plan, no checks, no metadata:
  less than any restore in Python with those libraries can do;
- ``snapkit restore -q``;
- ``python -c pass``.

It prints min and median wall time and the ratio of each min to tar's. Checks: the floor's
tree and snapkit's equal the reference byte for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgpack

from benchmarks._common import snapkit_exe, workdir

#: The floor program (run by the same interpreter, in a fresh process).
FLOOR = """
import click, zstandard, msgpack, xxhash, concurrent.futures, os, sys
target, frames_file, index_file = sys.argv[1:4]
index = msgpack.unpackb(open(index_file, "rb").read())
data = open(frames_file, "rb").read()
view = memoryview(data)
def write(item):
    _, path, mode, frames = item
    d = zstandard.ZstdDecompressor()
    fd = os.open(os.path.join(target, path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    chunks = [d.decompress(view[p + 1:p + n], max_output_size=max(raw, 1)) if data[p] == 1
              else view[p + 1:p + n] for p, n, raw in frames]
    for i in range(0, len(chunks), 1024):
        os.writev(fd, chunks[i:i + 1024])
    os.close(fd)
files = []
for item in index:
    if item[0] == "d":
        os.makedirs(os.path.join(target, item[1]), exist_ok=True)
    else:
        files.append(item)
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    list(pool.map(write, files, chunksize=16))
"""


def extract(repo_path: str, snapshot: str, frames: Path, index_file: Path) -> int:
    """The stored frames of every file of the snapshot, as a restore reads them; the count of
    entries."""
    from snapkit.format.model import NODE_DIR, NODE_FILE
    from snapkit.maintain.selection import resolve
    from snapkit.read.treewalk import iter_tree
    from snapkit.store.repository import Repository

    repo = Repository.open(repo_path)
    _, snap = resolve(snapshot, repo.snapshots())
    index: list[list[object]] = []
    pos = 0
    with open(frames, "wb") as out:
        for parts, node, leaving in iter_tree(repo.load_tree, snap.tree):
            if leaving or node.type not in (NODE_DIR, NODE_FILE):
                continue
            entry: list[list[int]] = []
            for blob in node.content:
                e = repo.index.get(blob)
                assert e is not None
                stored = repo.backend.load("packs", e.pack, e.offset, e.length)
                out.write(stored)
                entry.append([pos, len(stored), e.raw_length])
                pos += len(stored)
            index.append(["d" if node.type == NODE_DIR else "f", "/".join(parts), node.mode,
                          entry])
    index_file.write_bytes(msgpack.packb(index))
    return len(index)


def same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(a / d, b / d) for d in cmp.common_dirs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="a plain repository")
    ap.add_argument("--snapshot", default="latest")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPKIT_")}
    with workdir(args.keep) as work:
        scratch = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
        base = Path(scratch, f"snapkit-floor-{os.getpid()}")
        ref = work / "ref"
        restore = [snapkit_exe(), "restore", "-q", "--repo", args.repo, args.snapshot,
                   "--target"]
        subprocess.run([*restore, str(ref)], env=env, check=True, stdout=subprocess.DEVNULL)
        tarball = work / "tree.tar.zst"
        subprocess.run(["tar", "--zstd", "-cf", str(tarball), "-C", str(ref), "."], check=True)
        frames, index_file = work / "frames.bin", work / "index.msgpack"
        entries = extract(args.repo, args.snapshot, frames, index_file)
        stored = frames.stat().st_size
        cases = {
            "tar --zstd -x": ["tar", "--zstd", "-xf", str(tarball), "-C"],
            "Python floor (imports, decompress, write)": [sys.executable, "-c", FLOOR],
            "snapkit restore -q": restore,
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        try:
            for _ in range(args.runs):
                for label, argv in cases.items():
                    shutil.rmtree(base, ignore_errors=True)
                    base.mkdir()
                    if label.startswith("Python floor"):
                        argv = [*argv, str(base), str(frames), str(index_file)]
                    elif label != "python -c pass":
                        argv = [*argv, str(base)]
                    start = time.perf_counter()
                    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    times[label].append(time.perf_counter() - start)
                    if label.startswith(("Python floor", "snapkit")) and not times[label][1:]:
                        assert same_tree(ref, base), f"{label}: not the reference tree"
        finally:
            shutil.rmtree(base, ignore_errors=True)
    tar = min(times["tar --zstd -x"])
    print(f"{entries:,} entries, {stored:,} stored bytes; {args.runs} interleaved runs")
    print("| command | min | median | min ÷ tar's |\n|---|---:|---:|---:|")
    for label, values in times.items():
        print(f"| {label} | {min(values) * 1000:.1f} ms | "
              f"{statistics.median(values) * 1000:.1f} ms | {min(values) / tar:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
