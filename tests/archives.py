"""Helpers shared by the export and import tests: the in-process CLI, the external archivers
(skipped with a clear reason when missing), and building tar archives member by member."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import CliResult, invoke_main


class Out(CliResult):
    """A :class:`~helpers.CliResult` whose ``stdout`` stays bytes (``export -o -``); ``text``
    is it decoded."""

    @property
    def stdout(self) -> bytes:  # type: ignore[override]
        return self.stdout_bytes


def invoke(args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> Out:
    """Run the real entry point ``main()`` in-process (error boundary and exit codes as the
    console script has them); stdout is kept as bytes (``export -o -``)."""
    r = invoke_main(args, env, cwd=cwd)
    return Out(r.code, r.stdout_bytes, r.stderr)


def ok(out: Out) -> Out:
    assert out.code == 0, (out.code, out.stderr)
    return out


# --------------------------------------------------------------------------- external tools


def gnu_tar() -> str:
    path = shutil.which("tar")
    if path is None:
        pytest.skip("GNU tar is not installed (apt-get install tar); .ci/run installs it")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    if "GNU tar" not in version:
        pytest.skip(f"`tar` is not GNU tar ({version.splitlines()[:1]}); install GNU tar")
    return path


def bsdtar() -> str:
    path = shutil.which("bsdtar")
    if path is None:
        pytest.skip("bsdtar is not installed (apt-get install libarchive-tools); .ci/run "
                    "installs it")
    return path


def zstd() -> str:
    path = shutil.which("zstd")
    if path is None:
        pytest.skip("zstd is not installed (apt-get install zstd); .ci/run installs it")
    return path


def run_tool(args: Sequence[str], *, stdin: bytes | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run an external tool; assert it succeeded with an EMPTY stderr."""
    env = {**os.environ, "LC_ALL": "C.UTF-8"}  # names printed as UTF-8, not escaped
    p = subprocess.run(list(args), input=stdin, capture_output=True, cwd=cwd, timeout=60,
                       check=False, env=env)
    assert p.returncode == 0, (args, p.returncode, p.stderr.decode(errors="replace"))
    assert p.stderr == b"", (args, p.stderr.decode(errors="replace"))
    return p


# --------------------------------------------------------------------------- building tars


class TarBuilder:
    """Write a tar member by member, including entries no sane archiver would produce."""

    def __init__(self, fmt: int = tarfile.PAX_FORMAT) -> None:
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=fmt)  # noqa: SIM115

    def _info(self, name: str, kind: bytes, mode: int, mtime: float,
              pax: dict[str, str] | None) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.mtime = mtime
        info.uid, info.gid, info.uname, info.gname = 1000, 1000, "alice", "staff"
        if pax:
            info.pax_headers = dict(pax)
        return info

    def file(self, name: str, data: bytes, mode: int = 0o644, mtime: float = 1_700_000_000,
             pax: dict[str, str] | None = None) -> TarBuilder:
        info = self._info(name, tarfile.REGTYPE, mode, mtime, pax)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))
        return self

    def dir(self, name: str, mode: int = 0o755, mtime: float = 1_700_000_000) -> TarBuilder:
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, mtime, None))
        return self

    def symlink(self, name: str, target: str) -> TarBuilder:
        info = self._info(name, tarfile.SYMTYPE, 0o777, 1_700_000_000, None)
        info.linkname = target
        self.tar.addfile(info)
        return self

    def hardlink(self, name: str, target: str) -> TarBuilder:
        info = self._info(name, tarfile.LNKTYPE, 0o644, 1_700_000_000, None)
        info.linkname = target
        self.tar.addfile(info)
        return self

    def special(self, name: str, kind: bytes, major: int = 0, minor: int = 0) -> TarBuilder:
        info = self._info(name, kind, 0o644, 1_700_000_000, None)
        info.devmajor, info.devminor = major, minor
        self.tar.addfile(info)
        return self

    def truncated_member(self, name: str, declared: int, present: bytes) -> bytes:
        """The archive so far plus a last member that declares ``declared`` bytes but holds
        only ``present`` (and no end-of-archive blocks)."""
        info = self._info(name, tarfile.REGTYPE, 0o644, 1_700_000_000, None)
        info.size = declared
        head = self.buf.getvalue()[: self.tar.offset]
        return head + info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + present

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
