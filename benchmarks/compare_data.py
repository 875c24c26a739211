"""The data sets of ``benchmarks.compare``, built once under ``/tmp/snapkit-compare/data``
(``--base`` chooses another directory).

Each data set is built into its directory and marked done (``<name>.done``); a later run
reuses it (``--rebuild`` builds it again). The OpenClaw fixture is generated in the 2026.9
layout (the only one the real ``openclaw backup create`` 2026.9.6 accepts) where it is used
(``<name>/home/.openclaw``, its workspace in ``.openclaw-outside``) and copied to
``pristine/<name>``: the fixture embeds its own absolute paths, and the scenario that changes
it (``mutate``) marks it dirty (``<name>.dirty``), so that the next run copies the pristine
tree back first. The real OpenClaw, which writes to the state dir it backs up, is given a copy
(:func:`openclaw_view`).

* ``fixture-s<scale>``: ``fixtures.openclaw_tree.generate(root, seed=0, scale=...)``;
* ``stdlib``: a copy of this interpreter's standard library without ``site-packages``;
* ``files-<N>``: N small files (100 per directory, 256 B to 5.6 kB of text-like bytes, each a
  different slice of one 8 MiB pool, so every file is distinct and compresses about 3x);
* ``bigfile-<size>``: one file of random blocks of 64 MiB (4 MiB with ``--quick``), each block
  appearing twice (the first half of the blocks, then the same blocks again).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from fixtures.openclaw_tree import generate

#: Where the data sets and the work dir live (``--base``).
BASE = Path("/tmp/snapkit-compare")
MiB = 2**20
_base = [BASE]


def use_base(path: Path) -> None:
    """Build and find the data sets below ``path`` from now on."""
    _base[0] = path


def base() -> Path:
    return _base[0]


@dataclass(frozen=True)
class DataSet:
    """A built data set: what the tools back up (``roots``, or the OpenClaw installation in
    ``home``) and, for the fixture, the selection the peers are given (``files``, one absolute
    path a line: exactly what ``snapkit snap --dry-run --list`` takes)."""

    name: str
    roots: tuple[Path, ...]
    files: int
    bytes: int
    home: Path | None = None
    selection: Path | None = None
    selected: str = ""  # what the selection holds

    def describe(self) -> str:
        return f"{self.name}: {self.files:,} files, {self.bytes / 1e6:,.0f} MB"


def data_dir() -> Path:
    path = base() / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _count(roots: tuple[Path, ...]) -> tuple[int, int]:
    """Regular files and their bytes below ``roots`` (symlinks not followed)."""
    files = size = 0
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                st = os.lstat(os.path.join(dirpath, name))
                if st.st_mode & 0o170000 == 0o100000:
                    files += 1
                    size += st.st_size
    return files, size


def _build_once(name: str, rebuild: bool, build: Callable[[Path], None]) -> Path:
    """``data/<name>``, built by ``build`` unless a finished build is there."""
    path = data_dir() / name
    done = data_dir() / f"{name}.done"
    if rebuild or not done.exists():
        done.unlink(missing_ok=True)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        print(f"building {name} ...", flush=True)
        build(path)
        done.write_text("ok\n")
    return path


def stdlib(rebuild: bool, quick: bool) -> DataSet:
    """A copy of the standard library (``--quick``: only ``json``, ``email`` and ``asyncio``)."""
    src = Path(sysconfig.get_paths()["stdlib"])

    def build(path: Path) -> None:
        dst = path / "python3"
        if quick:
            dst.mkdir()
            for sub in ("json", "email", "asyncio"):
                shutil.copytree(src / sub, dst / sub, symlinks=True)
        else:
            shutil.copytree(src, dst, symlinks=True,
                            ignore=shutil.ignore_patterns("site-packages"))

    root = _build_once("stdlib-quick" if quick else "stdlib", rebuild, build) / "python3"
    files, size = _count((root,))
    return DataSet("stdlib" + (" (json, email, asyncio)" if quick else ""), (root,), files, size)


def small_files(count: int, rebuild: bool) -> DataSet:
    """``count`` small files, 100 per directory (see the module docstring)."""

    def build(path: Path) -> None:
        rng = random.Random(f"small-files-{count}")
        words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
                 for _ in range(4000)]
        pool = b" ".join(rng.choices(words, k=8 * MiB // 6))[: 8 * MiB]
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        for i in range(count):
            if i % 100 == 0:
                leaf = path / f"d{i // 10000:03d}" / f"d{i // 100 % 100:02d}"
                leaf.mkdir(parents=True)
            size = rng.randint(256, 5600)
            off = rng.randrange(len(pool) - size)
            fd = os.open(leaf / f"f{i % 100:02d}.txt", flags, 0o644)
            try:
                os.write(fd, pool[off:off + size])
            finally:
                os.close(fd)

    root = _build_once(f"files-{count}", rebuild, build)
    files, size = _count((root,))
    return DataSet(f"{count:,} small files", (root,), files, size)


def big_file(quick: bool, rebuild: bool) -> DataSet:
    """One file of random blocks, each appearing twice: 2 GiB of 64 MiB blocks (``--quick``:
    32 MiB of 4 MiB blocks)."""
    block, blocks = (4 * MiB, 8) if quick else (64 * MiB, 32)
    total = block * blocks

    def build(path: Path) -> None:
        with open(path / "big.bin", "wb") as f:
            for _ in range(2):
                for b in range(blocks // 2):
                    f.write(random.Random(f"big-file-{block}-{b}").randbytes(block))

    root = _build_once(f"bigfile-{total // MiB}M", rebuild, build)
    files, size = _count((root,))
    label = f"{total / 2**30:g} GiB file" if total >= 2**30 else f"{total // MiB} MiB file"
    return DataSet(f"{label} ({block // MiB} MiB blocks, each twice)", (root,), files, size)


def fixture(scale: float, rebuild: bool) -> DataSet:
    """The OpenClaw fixture (2026.9 layout, seed 0) at ``scale``, pristine (see above)."""
    name = f"fixture-s{scale:g}"
    pristine = data_dir() / "pristine" / name
    dirty = data_dir() / f"{name}.dirty"

    def build(path: Path) -> None:
        generate(path / "home" / ".openclaw", seed=0, scale=scale, layout="2026.9")
        shutil.rmtree(pristine, ignore_errors=True)
        pristine.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(path), str(pristine)], check=True)

    was_done = (data_dir() / f"{name}.done").exists()
    path = _build_once(name, rebuild, build)
    if was_done and not rebuild and dirty.exists():
        print(f"restoring {name} from its pristine copy ...", flush=True)
        shutil.rmtree(path)
        subprocess.run(["cp", "-a", str(pristine), str(path)], check=True)
    dirty.unlink(missing_ok=True)
    home = path / "home"
    roots = (home / ".openclaw", home / ".openclaw-outside")
    files, size = _count(roots)
    return DataSet(f"OpenClaw fixture, scale {scale:g}", roots, files, size, home=home)


def openclaw_view(data: DataSet) -> DataSet:
    """A fresh copy of the fixture's home for the real OpenClaw, which writes to the state dir
    it backs up (it checkpoints its state database: the fixture's ``mutate`` and the next
    "unchanged" snapshot need the tree as it was). The copy is ``<fixture>/occp`` (as long as
    ``home``, so that ``openclaw.json``, the one file naming absolute paths, is rewritten to
    point into the copy at the same size); OpenClaw's own ``~/.cache`` in it is kept."""
    assert data.home is not None
    copy = data.home.parent / "occp"
    copy.mkdir(exist_ok=True)
    for entry in copy.iterdir():
        if entry.name != ".cache":
            shutil.rmtree(entry)
    for entry in data.home.iterdir():
        subprocess.run(["cp", "-a", str(entry), str(copy)], check=True)
    config = copy / ".openclaw" / "openclaw.json"
    st = config.stat()
    config.write_text(config.read_text().replace(str(data.home), str(copy)))
    os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns))
    return replace(data, home=copy, roots=tuple(copy / r.name for r in data.roots))


def mark_dirty(data: DataSet) -> None:
    """Note that ``data`` (a fixture) was changed: the next run restores the pristine copy."""
    if data.home is not None:
        (data_dir() / f"{data.home.parent.name}.dirty").write_text("changed\n")


def remove_large() -> list[str]:
    """Delete the large data sets (small-file trees of 100,000 files or more, the big files);
    they can be rebuilt. Returns what was deleted."""
    gone = []
    for path in sorted(data_dir().iterdir()):
        big = path.name.startswith("bigfile-") or (
            path.name.startswith("files-") and path.is_dir()
            and int(path.name.split("-")[1].split(".")[0]) >= 100_000)
        if big and path.is_dir():
            shutil.rmtree(path)
            (data_dir() / f"{path.name}.done").unlink(missing_ok=True)
            gone.append(path.name)
    return gone
