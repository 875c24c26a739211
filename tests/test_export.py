"""``snapkit export`` and ``verify-archive`` against real clients: GNU tar, bsdtar, zstd, gzip
and Python's tarfile. The extracted tree must equal ``snapkit restore`` of the same snapshot,
``tar --compare`` must find no difference with the source, and exports are reproducible."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import socket
import stat
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard
from archives import Out, bsdtar, gnu_tar, invoke, ok, run_tool, zstd
from helpers import (
    Dir,
    File,
    Symlink,
    assert_trees_equal,
    cli_env,
    make_tree,
    run_snapkit,
    without_export_note,
)

T0 = 1_700_000_000_000_000_000  # 2023-11-14: in the past, after 1970 (no extractor warnings)


def _source(root: Path) -> Path:
    rng = random.Random(6)
    return make_tree(root, {
        "openclaw.json": File(b'{"gateway": {"port": 18789}}\n', mode=0o600,
                              mtime_ns=T0 + 123_456_789),
        "agents/main/sessions/s1.jsonl": File(rng.randbytes(300_000), mtime_ns=T0 + 1),
        "agents/main/sessions/": Dir(mode=0o700, mtime_ns=T0 + 5),
        "agents/": Dir(mode=0o755, mtime_ns=T0 + 6_000_000_001),
        "workspace/notes and spaces.md": File(b"# notes\n" * 100, mtime_ns=T0 + 999_999_999),
        "workspace/ünïcödé.txt": File("grüße\n".encode(), mode=0o640, mtime_ns=T0 + 10),
        "workspace/": Dir(mode=0o750, mtime_ns=T0 + 11),
        "bin/run.sh": File(b"#!/bin/sh\necho hi\n", mode=0o755, mtime_ns=T0 + 7),
        "empty": File(b"", mtime_ns=T0),
        "emptydir/": Dir(mode=0o700, mtime_ns=T0 + 3),
        "link-to-notes": Symlink("workspace/notes and spaces.md"),
    })


def snap_id(out: Out) -> str:
    lines = [json.loads(ln) for ln in out.text.splitlines() if ln.strip()]
    return str(lines[-1]["snapshot_id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One source tree, snapshotted once (symlinks recorded), shared by the read-only tests."""
    base = tmp_path_factory.mktemp("export")
    src = _source(base / "src")
    env = cli_env(base, SNAPKIT_REPO=str(base / "repo"))
    sid = snap_id(ok(invoke(["snap", str(src), "--symlinks", "record", "--tag", "first",
                             "--json"], env)))
    restored = base / "restored"
    ok(invoke(["restore", sid, "--target", str(restored)], env))
    return {"src": src, "env": env, "sid": sid, "restored": restored}


def export(world: dict[str, Any], *args: str, cwd: Path | None = None) -> Out:
    return ok(invoke(["export", world["sid"], *args], world["env"], cwd))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_tar(path: Path) -> tarfile.TarFile:
    """Python's tarfile on any export (3.11 has no zstd: decompress it with zstandard)."""
    if path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd":
        raw = zstandard.ZstdDecompressor().stream_reader(path.read_bytes()).read()
        return tarfile.open(fileobj=io.BytesIO(raw))
    return tarfile.open(path)


def members(path: Path) -> list[tarfile.TarInfo]:
    with open_tar(path) as tar:
        return tar.getmembers()


# --------------------------------------------------------------------------- real extractors


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.zst"])
def test_gnu_tar_and_bsdtar_extract_what_restore_writes(
    tmp_path: Path, world: dict[str, Any], fmt: str
) -> None:
    tar, bsd = gnu_tar(), bsdtar()
    archive = tmp_path / f"a.{fmt}"
    export(world, "-o", str(archive))
    gnu_dir, bsd_dir = tmp_path / "gnu", tmp_path / "bsd"
    gnu_dir.mkdir()
    bsd_dir.mkdir()
    if fmt == "tar.gz":
        listed = run_tool([tar, "-tzf", str(archive)]).stdout
        run_tool([tar, "-xpzf", str(archive), "-C", str(gnu_dir)])
    else:
        listed = run_tool([tar, "--zstd", "-tf", str(archive)]).stdout
        raw = run_tool([zstd(), "-dc", str(archive)]).stdout  # the pipe form works too
        run_tool([tar, "-xpf", "-", "-C", str(gnu_dir)], stdin=raw)
    bsd_listed = run_tool([bsd, "-tf", str(archive)]).stdout
    run_tool([bsd, "-xpf", str(archive), "-C", str(bsd_dir)])
    # Both list exactly the members Python sees (no PaxHeader or metadata entries).
    want = [m.name + "/" if m.isdir() else m.name for m in members(archive)]
    assert os.fsdecode(listed).splitlines() == want
    assert os.fsdecode(bsd_listed).splitlines() == want
    # The extracted trees equal restore: content, modes, ns mtimes (dirs too), symlinks.
    assert_trees_equal(world["restored"], gnu_dir, check_root=False)
    assert_trees_equal(world["restored"], bsd_dir, check_root=False)
    rel = str(world["src"]).lstrip("/")
    for out in (gnu_dir, bsd_dir):
        link = out / rel / "link-to-notes"
        assert link.is_symlink() and os.readlink(link) == "workspace/notes and spaces.md"
        assert (out / rel / "openclaw.json").stat().st_mtime_ns == T0 + 123_456_789


def test_gnu_tar_compare_against_the_source(tmp_path: Path, world: dict[str, Any]) -> None:
    tar = gnu_tar()
    archive = tmp_path / "a.tar.gz"
    export(world, "-o", str(archive))
    p = run_tool([tar, "--compare", "-zf", str(archive), "-C", "/"])
    assert p.stdout == b""
    # And it would notice a difference.
    victim = world["src"] / "workspace" / "ünïcödé.txt"
    saved = victim.read_bytes(), victim.stat().st_mtime_ns
    try:
        victim.write_bytes(b"changed\n")
        os.utime(victim, ns=(saved[1], saved[1]))
        bad = subprocess.run([tar, "--compare", "-zf", str(archive), "-C", "/"],
                             capture_output=True, check=False)
        assert bad.returncode == 1 and b"Contents differ" in bad.stdout
    finally:
        victim.write_bytes(saved[0])
        os.utime(victim, ns=(saved[1], saved[1]))


# --------------------------------------------------------------------------- formats, bytes


def test_readable_by_tarfile_gzip_and_zstd_and_reproducible(
    tmp_path: Path, world: dict[str, Any]
) -> None:
    digests: dict[str, str] = {}
    for fmt in ("tar.gz", "tar.zst", "tar"):
        a, b = tmp_path / f"1.{fmt}", tmp_path / f"2.{fmt}"
        export(world, "-o", str(a))
        time.sleep(0.01)
        export(world, "-o", str(b))
        assert sha256(a) == sha256(b), fmt
        digests[fmt] = sha256(a)
        with open_tar(a) as tar:  # Python reads every member's content
            for m in tar:
                if m.isreg():
                    f = tar.extractfile(m)
                    assert f is not None and len(f.read()) == m.size
    run_tool([zstd(), "-q", "-t", str(tmp_path / "1.tar.zst")])
    # Another snapshot of the same content changes nothing in a repeated export.
    ok(invoke(["snap", str(world["src"]), "--symlinks", "record", "--force"], world["env"]))
    for fmt in ("tar.gz", "tar.zst"):
        again = tmp_path / f"3.{fmt}"
        export(world, "-o", str(again))
        assert sha256(again) == digests[fmt], fmt
    gzip = shutil.which("gzip")
    if gzip is None:
        pytest.skip("gzip is not installed (apt-get install gzip)")
    run_tool([gzip, "-t", str(tmp_path / "1.tar.gz")])


def test_format_inferred_from_the_file_name(tmp_path: Path, world: dict[str, Any]) -> None:
    magic = {"x.tar.zst": b"\x28\xb5\x2f\xfd", "x.tgz": b"\x1f\x8b", "x.tar.gz": b"\x1f\x8b"}
    for name, head in magic.items():
        export(world, "-o", str(tmp_path / name))
        assert (tmp_path / name).read_bytes()[:4].startswith(head), name
    export(world, "-o", str(tmp_path / "x.tar"))
    assert (tmp_path / "x.tar").read_bytes()[257:262] == b"ustar"


def test_stdout(tmp_path: Path, world: dict[str, Any]) -> None:
    export(world, "-o", str(tmp_path / "f.tar.gz"))
    out = export(world, "-o", "-")
    assert out.stdout == (tmp_path / "f.tar.gz").read_bytes()
    assert without_export_note(out.stderr) == ""  # (the encrypted test mode: its note)
    zst = export(world, "-o", "-", "--format", "tar.zst")
    assert zst.stdout[:4] == b"\x28\xb5\x2f\xfd"


def test_default_name_mode_0600_and_no_overwrite(tmp_path: Path, world: dict[str, Any]) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    export(world, cwd=cwd)
    (name,) = os.listdir(cwd)
    host = re.escape(socket.gethostname())
    assert re.fullmatch(rf"{host}-\d{{8}}-\d{{6}}-{world['sid'][:8]}\.tar\.gz", name), name
    path = cwd / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = sha256(path)
    again = invoke(["export", world["sid"]], world["env"], cwd)
    assert again.code == 2, again.stderr
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and "--force" in lines[0]
    assert sha256(path) == before
    export(world, "--force", cwd=cwd)
    assert os.listdir(cwd) == [name]  # replaced in place; no temp file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_stray_metadata_file_at_the_root(tmp_path: Path, world: dict[str, Any]) -> None:
    archive = tmp_path / "a.tar"
    export(world, "-o", str(archive))
    with tarfile.open(archive) as tar:
        ms = tar.getmembers()
        meta = json.loads(tar.pax_headers["comment"])["snapkit"]
    src_parts = str(world["src"]).strip("/").split("/")
    # The first entries are the directories of the source's path, in order.
    assert [m.name for m in ms[: len(src_parts)]] == [
        "/".join(src_parts[: i + 1]) for i in range(len(src_parts))]
    assert all(m.isdir() for m in ms[: len(src_parts)])
    assert not [m.name for m in ms if "/" not in m.name and not m.isdir()]
    assert meta["snapshot"] == world["sid"] and meta["sources"] == [str(world["src"])]
    files = {m.name for m in ms if m.isreg()}
    assert set(meta["files"]) == files


# --------------------------------------------------------------------------- verify-archive


def test_verify_archive_ok_then_failed_after_a_flipped_byte(
    tmp_path: Path, world: dict[str, Any]
) -> None:
    archive = tmp_path / "a.tar"
    export(world, "-o", str(archive))
    out = ok(invoke(["verify-archive", str(archive)], world["env"]))
    assert out.text.startswith("OK: ")
    with tarfile.open(archive) as tar:
        target = next(m for m in tar.getmembers() if m.name.endswith("openclaw.json"))
    data = bytearray(archive.read_bytes())
    data[target.offset_data + 3] ^= 0x01
    archive.write_bytes(bytes(data))
    bad = invoke(["verify-archive", str(archive)], world["env"])
    assert bad.code == 1
    assert f"MISMATCH {target.name}" in bad.text and "FAILED" in bad.text
    js = invoke(["verify-archive", str(archive), "--json"], world["env"])
    assert js.code == 1 and js.json()["mismatched"] == [target.name]


# --------------------------------------------------------------------------- selection, naming


def test_paths_relative(tmp_path: Path, world: dict[str, Any]) -> None:
    tar = gnu_tar()
    archive = tmp_path / "r.tar.gz"
    export(world, "-o", str(archive), "--paths", "relative")
    src: Path = world["src"]
    assert all(m.name.split("/")[0] == src.name for m in members(archive))
    out = tmp_path / "out"
    out.mkdir()
    run_tool([tar, "-xpzf", str(archive), "-C", str(out)])
    assert os.listdir(out) == [src.name]
    assert_trees_equal(src, out / src.name)


def test_config_only_subset_of_a_full_openclaw_snapshot(tmp_path: Path) -> None:
    from fixtures.openclaw_tree import generate

    root = generate(tmp_path / "oc" / ".openclaw", scale=0.02).root
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    sid = snap_id(ok(invoke(["snap", str(root), "--json"], env)))
    full, cfg = tmp_path / "full.tar", tmp_path / "cfg.tar"
    ok(invoke(["export", sid, "-o", str(full)], env))
    ok(invoke(["export", sid, "--mode", "config-only", "-o", str(cfg)], env))
    prefix = str(root).lstrip("/") + "/"
    full_files = {m.name for m in members(full) if not m.isdir()}
    cfg_members = members(cfg)
    cfg_files = {m.name[len(prefix):] for m in cfg_members if not m.isdir()}
    assert all(m.name.startswith(prefix) or prefix.startswith(m.name + "/")
               for m in cfg_members)

    def config_only(rel: str) -> bool:
        return (rel in {"openclaw.json", ".env", "secrets.json", "cron/jobs.json",
                        "exec-approvals.json"}
                or rel.startswith(("credentials/", "devices/", "identity/", "skills/"))
                or re.fullmatch(r"agents/[^/]+/agent/(auth-profiles|auth|models)\.json", rel)
                is not None)

    assert "openclaw.json" in cfg_files
    assert any(r.startswith("credentials/") for r in cfg_files)
    bad = sorted(r for r in cfg_files if not config_only(r))
    assert not bad, bad[:10]
    assert {prefix + r for r in cfg_files} <= full_files
    assert len(cfg_files) < len(full_files) / 3
    # Directories are only those leading to selected entries.
    entries = {m.name for m in cfg_members}
    for m in cfg_members:
        if m.isdir():
            assert any(e.startswith(m.name + "/") for e in entries), m.name
    with tarfile.open(cfg) as tar:
        assert json.loads(tar.pax_headers["comment"])["snapkit"]["mode"] == "config-only"


def test_pre_1970_subsecond_mtime_is_a_signed_decimal(tmp_path: Path) -> None:
    """PAX times are signed decimals: -1.5 s is "-1.5", not "-2.5" (floor seconds + fraction),
    which GNU tar and Python read as a full second earlier. (Regression: export wrote that.)"""
    tar = gnu_tar()
    src = make_tree(tmp_path / "old", {"f": File(b"x", mtime_ns=-1_500_000_000)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    sid = snap_id(ok(invoke(["snap", str(src), "--json"], env)))
    archive = tmp_path / "old.tar"
    ok(invoke(["export", sid, "-o", str(archive)], env))
    (f,) = [m for m in members(archive) if m.isreg()]
    assert f.pax_headers["mtime"] == "-1.5" and f.mtime == -1.5
    out = tmp_path / "out"
    out.mkdir()
    # GNU tar warns "implausibly old time stamp" for any pre-1970 time, so stderr is not empty.
    subprocess.run([tar, "-xf", str(archive), "-C", str(out)], check=True, capture_output=True)
    assert (out / str(src).lstrip("/") / "f").stat().st_mtime_ns == -1_500_000_000


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.zst", "tar"])
def test_verify_archive_names_a_truncated_archive_and_exits_1(tmp_path: Path, fmt: str) -> None:
    """A cut-off copy is what verify-archive exists to find: it says so (it used to say
    "interrupted" and exit 130 for tar.gz, or fail with an internal error), exit 1."""
    src = make_tree(tmp_path / "src", {"a.bin": random.Random(3).randbytes(2_000_000),
                                       "b.txt": b"b\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    archive = tmp_path / f"x.{fmt}"
    assert run_snapkit(["export", "latest", "-o", str(archive)], env).returncode == 0
    with open(archive, "r+b") as f:
        f.truncate(archive.stat().st_size // 2)
    result = run_snapkit(["verify-archive", str(archive)], env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "truncated or damaged at " in result.stdout and "a.bin" in result.stdout
    assert "FAILED" in result.stdout and "interrupted" not in result.stderr
    out = json.loads(run_snapkit(["verify-archive", "--json", str(archive)], env).stdout)
    assert out["ok"] is False and "truncated" in out["damaged"]
