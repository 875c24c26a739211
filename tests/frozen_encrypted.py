"""Writes ``tests/format/repos/v2-encrypted.tar.gz``: the frozen encrypted repository later
versions must open (``tests/format/test_frozen_encrypted.py``). Run once; the archive is
committed and pinned by hash.

One snapshot of a small tree (a compressible text, random bytes of several chunks, an empty
file, a nested file) into a repository encrypted under :data:`PASSPHRASE` with the cheapest
scrypt parameters (the key file records them, so any version derives the same key), then two
key files (the second with :data:`SPARE`), all files with fixed times, packed as a tar with
sorted names.

    python tests/frozen_encrypted.py OUT.tar.gz
"""

from __future__ import annotations

import io
import os
import random
import socket
import sys
import tarfile
import tempfile
from pathlib import Path

from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.store.keys import add_key
from snapkit.store.repository import Repository

PASSPHRASE = b"frozen v2 passphrase"
SPARE = b"the spare key of the frozen repository"
MTIME = 1_768_120_200  # 2026-01-11 08:30 UTC


def tree(root: Path) -> None:
    rng = random.Random(2)
    files = {
        "notes.txt": b"OpenClaw frozen notes\n" * 200,
        "data/random.bin": rng.randbytes(300_000),
        "data/empty": b"",
        "data/deep/inner.json": b'{"agents": {"entries": []}}\n',
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (MTIME, MTIME))
    os.utime(root, (MTIME, MTIME))


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        src = base / "srv" / "frozen"
        src.mkdir(parents=True)
        tree(src)
        repo = Repository.init(base / "repo", passphrase=PASSPHRASE,
                               kdf=KdfParams(MIN_SCRYPT_N, b"frozen-salt-0001"))
        add_key(repo.backend, repo.cipher.key, SPARE,  # type: ignore[attr-defined]
                KdfParams(MIN_SCRYPT_N, b"frozen-salt-0002"))
        create_snapshot(repo, SnapOptions(sources=(str(src),), hostname="frozen",
                                          tags=("v2",)), None)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted((base / "repo").rglob("*")):
                info = tar.gettarinfo(str(path), str(path.relative_to(base)))
                info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
                with (open(path, "rb") if path.is_file() else io.BytesIO()) as f:
                    tar.addfile(info, f if path.is_file() else None)
        Path(out).write_bytes(buf.getvalue())
        print(socket.gethostname(), "wrote", out, "with", repo.snapshot_ids())


if __name__ == "__main__":
    main(sys.argv[1])
