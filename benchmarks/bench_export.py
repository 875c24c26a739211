"""Export: ``snapkit export`` (tar.gz with ISA-L, tar.zst, tar) vs zlib gzip, side by side.

Run from the project root::

    python -m benchmarks.bench_export              # scale 1 (~70 MB selected), ~1 minute
    python -m benchmarks.bench_export --scale 0.1 --runs 1      # smoke test

One snapshot of ``fixtures.openclaw_tree.generate(root, seed=SEED, scale=SCALE)`` is taken in a
fresh ``/tmp/snapkit-bench-*`` directory (removed afterwards unless ``--keep``), then:

1. ``snapkit export latest -o x.tar.gz`` (ISA-L igzip, 2 threads, gzip level 6 -> ISA-L level 2),
   ``-o x.tar.zst`` (zstd 3) and ``-o x.tar`` (no compression: the cost of reading the
   repository and writing the tar stream), each ``--runs`` times: wall time, size, sha256.
   Every run of a format must give byte-identical archives; ``gzip -t`` must accept the
   tar.gz, ``tar -tzf`` must list every entry, ``snapkit verify-archive`` must pass.
2. Compressor alone, on the same in-memory tar bytes (the tar.gz export decompressed): Python's
   zlib ``gzip.compress`` at level 6 (what ``tarfile``/``gzip`` do) and level 1, ISA-L level 2
   single-threaded and with ``igzip_threaded`` (2 threads, as the export), and zstd level 3
   (as tar.zst). Median of ``--runs``; MB/s are uncompressed tar bytes per second.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard
from isal import igzip, igzip_threaded

from benchmarks._common import (
    MB,
    clean_env,
    generate_fixture,
    header,
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
    timed,
    workdir,
)

SEED = 0
FORMATS = (("tar.gz", "tar.gz"), ("tar.zst", "tar.zst"), ("tar", "tar"))


@dataclass
class Export:
    walls: list[float] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    size: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return len(set(self.digests)) == 1


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def isal_threaded(data: bytes) -> bytes:
    buf = io.BytesIO()
    with igzip_threaded.open(buf, "wb", compresslevel=2, threads=2) as gz:
        gz.write(data)
    return buf.getvalue()


def zstd3(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def main(argv: list[str] | None = None) -> int:
    args = parse_args("python -m benchmarks.bench_export", __doc__, argv, seed=SEED, runs=5,
                      runs_help="repeats of each measurement")
    runs = max(1, args.runs)
    t_start = time.perf_counter()
    problems: list[str] = []

    header("snapkit export benchmark", args, runs)

    with workdir(args.keep) as work:
        root, _info = generate_fixture(work, args)
        env = clean_env(work)
        exe = snapkit_exe()
        repo = work / "repo"
        startup = median([run([exe, "--version"], env)[0] for _ in range(runs)])
        _, out = run([exe, "snap", "--json", "--service-policy", "never", root, "--repo", repo],
                     env)
        snap = last_json(out)
        content = int(snap["total_bytes"])
        print(f"snapshot {snap['short_id']}: {snap['total_files']:,} files, {mb(content)}")

        # 1. snapkit export, each format, --runs times.
        exports: dict[str, Export] = {}
        for fmt, ext in FORMATS:
            e = exports[fmt] = Export()
            for i in range(runs):
                path = work / f"export-{i}.{ext}"
                wall, out = run([exe, "export", "latest", "-o", path, "--json", "--repo", repo],
                                env)
                e.walls.append(wall)
                e.summary = last_json(out)
                e.digests.append(sha256(path))
                e.size = path.stat().st_size
                if i:
                    path.unlink()
            if not e.identical:
                problems.append(f"{fmt}: {len(set(e.digests))} different archives from {runs} "
                                "exports of one snapshot")

        gz_path = work / "export-0.tar.gz"
        tar_bytes = igzip.decompress(gz_path.read_bytes())
        plain = (work / "export-0.tar").read_bytes()
        n = len(tar_bytes)

        # Archive checks.
        checks: list[tuple[str, str]] = []
        gz_ok = subprocess.run(["gzip", "-t", str(gz_path)], capture_output=True, check=False)
        checks.append(("gzip -t export.tar.gz", "ok" if gz_ok.returncode == 0
                       else f"FAILED: {gz_ok.stderr.decode().strip()}"))
        if gz_ok.returncode:
            problems.append("gzip -t rejects the tar.gz export")
        listing = subprocess.run(["tar", "-tzf", str(gz_path)], capture_output=True, text=True,
                                 check=False)
        s = exports["tar.gz"].summary
        want = int(s["files"]) + int(s["dirs"]) + int(s["symlinks"])
        got = len(listing.stdout.splitlines())
        checks.append(("tar -tzf export.tar.gz: entries", f"{got:,} (export says {want:,})"))
        if listing.returncode or got != want:
            problems.append(f"tar -tzf lists {got} entries (exit {listing.returncode}), "
                            f"export wrote {want}")
        if shutil.which("zstd"):
            zst_ok = subprocess.run(["zstd", "-t", "-q", str(work / "export-0.tar.zst")],
                                    capture_output=True, check=False)
            checks.append(("zstd -t export.tar.zst", "ok" if zst_ok.returncode == 0
                           else "FAILED"))
            if zst_ok.returncode:
                problems.append("zstd -t rejects the tar.zst export")
        for fmt, ext in FORMATS:
            v_wall, v_out = run([exe, "verify-archive", work / f"export-0.{ext}", "--json",
                                 "--repo", repo], env, ok=(0, 1))
            verdict = last_json(v_out)
            ok = verdict.get("ok", verdict.get("valid"))
            checks.append((f"snapkit verify-archive export.{ext}",
                           f"{'ok' if ok else 'FAILED'} in {secs(v_wall)}"))
            if not ok:
                problems.append(f"verify-archive fails on the {fmt} export: {verdict}")
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
            members = tf.getmembers()
        checks.append(("tar members read back by Python tarfile", f"{len(members):,}"))
        checks.append(("decompressed tar.gz == tar export", "yes" if plain == tar_bytes
                       else f"no (tar export {len(plain):,} B; differs only in metadata?)"))
        for fmt, e in exports.items():
            checks.append((f"{runs} exports of {fmt} byte-identical",
                           f"{'yes' if e.identical else 'NO'} (sha256 {e.digests[0][:16]}…)"))

        # 2. Compressors alone on the same bytes.
        comp: list[tuple[str, Callable[[bytes], bytes]]] = [
            ("zlib level 6 (gzip.compress; tarfile w:gz, openclaw backup)",
             lambda d: gzip.compress(d, compresslevel=6, mtime=0)),
            ("zlib level 1", lambda d: gzip.compress(d, compresslevel=1, mtime=0)),
            ("ISA-L level 2, 1 thread (igzip.compress)",
             lambda d: igzip.compress(d, compresslevel=2, mtime=0)),
            ("ISA-L level 2, igzip_threaded 2 threads (snapkit export)", isal_threaded),
            ("zstd level 3 + checksum, 1 thread (snapkit export tar.zst)", zstd3),
        ]
        results: list[tuple[str, float, int]] = []
        for label, fn in comp:
            times: list[float] = []
            size = 0
            outs: set[str] = set()
            for _ in range(runs):
                t, data = timed(lambda fn=fn: fn(tar_bytes))
                times.append(t)
                size = len(data)
                outs.add(hashlib.sha256(data).hexdigest())
            if len(outs) != 1:
                problems.append(f"{label}: not deterministic in memory")
            results.append((label, median(times), size))
        zlib6 = results[0][1]
        isal_thr = results[3][1]

        # ------------------------------------------------------------- report
        print(f"\ntar stream: {n:,} B ({mb(n)}) for {mb(content)} of file content")
        table(
            f"snapkit export latest -o FILE (median of {runs}; range in brackets)",
            ["format", "wall time", "MB/s (tar bytes)", "size", "ratio", "vs tar.gz size"],
            [
                [fmt, spread(e.walls), f"{n / MB / median(e.walls):.0f}", mb(e.size),
                 f"{n / e.size:.2f}", f"{e.size / exports['tar.gz'].size:.2f}"]
                for fmt, e in exports.items()
            ],
        )
        gz_t = median(exports["tar.gz"].walls)
        tar_t = median(exports["tar"].walls)
        zst_t = median(exports["tar.zst"].walls)
        table(
            f"Compressor alone on the same {mb(n)} tar (median of {runs})",
            ["compressor", "time", "MB/s", "size", "ratio", "speed vs zlib 6"],
            [
                [label, secs(t), f"{n / MB / t:.0f}", mb(size), f"{n / size:.2f}",
                 f"{zlib6 / t:.1f}x"]
                for label, t, size in results
            ],
        )
        table("Archive checks", ["check", "result"], checks)
        table(
            "Where the export time goes",
            ["quantity", "value"],
            [
                ["tar.gz export − tar export (compression inside the export)",
                 secs(gz_t - tar_t)],
                ["ISA-L threaded alone on the same bytes", secs(isal_thr)],
                ["tar.zst export − tar export", secs(zst_t - tar_t)],
                ["zstd 3 alone on the same bytes", secs(results[4][1])],
                ["tar export (read repo, decompress chunks, verify, write tar)", secs(tar_t)],
                ["  of which CLI start-up (snapkit --version)", secs(startup)],
                ["tar.gz export if compressed with zlib 6 instead (estimate)",
                 secs(tar_t + zlib6)],
                ["ISA-L speed-up over zlib 6 (compressor alone, threaded / 1 thread)",
                 f"{zlib6 / isal_thr:.1f}x / {zlib6 / results[2][1]:.1f}x"],
            ],
        )
        return report_problems(problems, "none", t_start)


if __name__ == "__main__":
    sys.exit(main())
