"""Export on a damaged repository (issue 13): what cannot be read is left out and listed,
never written as a member that lies; the archive extracts (GNU tar, bsdtar) to exactly the
intact files, names the omitted entries in a final record that ``verify-archive`` and
``import`` understand, and the exit code is 1. ``--fail-fast`` writes no archive."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from helpers import env_for, invoke_main
from test_restore_damage import DAMAGES, blob_of, damage, damaged_repo, source_files

from snapkit.format.errors import IntegrityError
from snapkit.format.model import Node
from snapkit.read.tar_sink import read_verified
from snapkit.store.repository import Repository

TARS = [t for t in ("tar", "bsdtar") if shutil.which(t)]


def sk(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out = invoke_main(list(args), env_for(tmp_path))
    return out.code, out.stdout, out.stderr


def extracted(archive: Path, tool: str, into: Path, src: Path) -> dict[str, bytes]:
    into.mkdir()
    subprocess.run([tool, "-xf", str(archive), "-C", str(into)], check=True,
                   capture_output=True)
    root = into / str(src).lstrip("/")
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def partials(directory: Path) -> list[str]:
    return [n for n in os.listdir(directory) if n.startswith(".snapkit-export-")]


@pytest.mark.parametrize("how", DAMAGES)
def test_unreadable_file_is_left_out_and_listed(tmp_path: Path, how: str) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), how)
    archive = tmp_path / "out.tar"
    code, _, stderr = sk(tmp_path, "export", sid, "-o", str(archive))
    assert code == 1, stderr
    victim = f"{str(src).lstrip('/')}/dir1/victim.bin"
    assert f"snapkit: could not export {victim}: " in stderr
    assert "exported 6 files; 1 file could not be read and was left out of" in stderr
    assert "snapkit check" in stderr and "snapkit repair" in stderr
    want = source_files(src)
    del want["dir1/victim.bin"]
    for tool in TARS:
        assert extracted(archive, tool, tmp_path / f"x-{tool}", src) == want, tool
    with tarfile.open(archive) as tar:  # Python's tarfile reads it to the end too
        assert victim not in tar.getnames() and len(tar.getmembers()) > 6
    code, stdout, _ = sk(tmp_path, "verify-archive", str(archive))
    assert code == 1
    assert f"OMITTED  {victim}: " in stdout and "MISSING" not in stdout
    assert "MISMATCH" not in stdout and "INCOMPLETE: 6 files checked" in stdout
    assert partials(tmp_path) == []


def test_json_lists_what_was_left_out(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "flip")
    archive = tmp_path / "out.tar.zst"
    code, stdout, _ = sk(tmp_path, "--json", "export", sid, "-o", str(archive))
    assert code == 1
    *progress, out = [json.loads(line) for line in stdout.splitlines()]
    assert out["event"] == "summary" and {e["event"] for e in progress} <= {"progress"}
    assert out["files"] == 6
    [left] = out["omitted"]
    assert left["path"].endswith("/dir1/victim.bin") and left["type"] == "file"
    code, stdout, _ = sk(tmp_path, "--json", "verify-archive", str(archive))
    report = json.loads(stdout)
    assert code == 1 and report["ok"] is False and report["missing"] == []
    assert report["checked"] == 6 and report["mismatched"] == []
    assert [o["name"] for o in report["omitted"]] == [left["path"]]


def test_damaged_tree_leaves_out_its_directory(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir2/sub", tree=True), "flip")
    archive = tmp_path / "out.tar.gz"
    code, _, stderr = sk(tmp_path, "export", sid, "-o", str(archive))
    assert code == 1, stderr
    sub = f"{str(src).lstrip('/')}/dir2/sub"
    assert f"snapkit: could not export {sub}: directory left out" in stderr
    want = {k: v for k, v in source_files(src).items() if not k.startswith("dir2/sub/")}
    for tool in TARS:
        got = extracted(archive, tool, tmp_path / f"x-{tool}", src)
        assert got == want, tool
        assert not (tmp_path / f"x-{tool}" / sub).exists()
    code, stdout, _ = sk(tmp_path, "verify-archive", str(archive))
    assert code == 1 and f"OMITTED  {sub}/: directory left out" in stdout
    assert "MISSING" not in stdout


def test_fail_fast_leaves_no_archive(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "flip")
    archive = tmp_path / "out.tar.gz"
    code, _, stderr = sk(tmp_path, "export", sid, "-o", str(archive), "--fail-fast")
    assert code == 1 and "snapkit: error:" in stderr and "could not export" not in stderr
    assert not archive.exists() and partials(tmp_path) == []


def test_fail_fast_stops_at_a_damaged_tree(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir2/sub", tree=True), "delete")
    archive = tmp_path / "out.tar"
    code, _, stderr = sk(tmp_path, "export", sid, "-o", str(archive), "--fail-fast")
    assert code == 1 and "snapkit: error:" in stderr
    assert not archive.exists() and partials(tmp_path) == []


def test_a_clean_export_is_unchanged_and_streams_the_same_bytes(tmp_path: Path) -> None:
    _, sid, _ = damaged_repo(tmp_path)
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    code, _, stderr = sk(tmp_path, "export", sid, "-o", str(a))
    assert code == 0 and "could not" not in stderr
    assert sk(tmp_path, "export", sid, "-o", str(b), "--fail-fast")[0] == 0
    assert a.read_bytes() == b.read_bytes()
    code, stdout, _ = sk(tmp_path, "verify-archive", str(a))
    assert code == 0 and stdout.startswith("OK: 7 files checked")


def test_an_archive_with_omissions_imports_the_rest(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "delete")
    archive = tmp_path / "out.tar"
    assert sk(tmp_path, "export", sid, "-o", str(archive))[0] == 1
    other = tmp_path / "other"
    env = env_for(other)
    assert invoke_main(["init"], env).code == 0
    out = invoke_main(["import", str(archive)], env)
    assert out.code == 3, out.stderr  # written, but incomplete: what was left out is named
    assert "1 entries were left out of the archive" in out.stderr
    (_, imported), = Repository.open(other / "repo").snapshots()
    (skipped,) = imported.skipped
    assert skipped.reason == "omitted" and skipped.path.endswith("dir1/victim.bin")
    assert str(src).lstrip("/") in skipped.path
    target = tmp_path / "t"
    assert invoke_main(["restore", "latest", "--target", str(target)], env).code == 0
    root = target / str(src).lstrip("/")
    got = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    want = source_files(src)
    del want["dir1/victim.bin"]
    assert got == want


def test_openclaw_layout_with_omissions_still_ends_on_its_manifest(tmp_path: Path) -> None:
    src, sid, snap = damaged_repo(tmp_path)
    damage(tmp_path, blob_of(tmp_path, snap, src / "dir1/victim.bin"), "flip")
    archive = tmp_path / "oc.tar.gz"
    code, _, stderr = sk(tmp_path, "export", sid, "--layout", "openclaw", "-o", str(archive))
    assert code == 1, stderr
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[-1].endswith("/manifest.json")
    assert not any(n.endswith("/dir1/victim.bin") for n in names)
    assert "/payload/posix/" in stderr and "victim.bin" in stderr


def test_content_beyond_the_memory_limit_spills_to_a_temp_file() -> None:
    data = random.Random(5).randbytes(300_000)
    chunks = [data[i:i + 50_000] for i in range(0, len(data), 50_000)]
    from snapkit.format.model import file_hasher

    h = file_hasher()
    h.update(data)
    node = Node("f", "file", 0o644, 0, size=len(data), hash=h.hexdigest())
    before = set(os.listdir(tempfile.gettempdir()))
    spool = read_verified(iter(chunks), node, "f", limit=120_000)
    assert spool.file is not None and spool.chunks == []
    assert spool.reader().read() == data
    spool.close()
    assert set(os.listdir(tempfile.gettempdir())) - before == set()
    small = read_verified(iter(chunks[:1]), Node("g", "file", 0o644, 0, size=50_000), "g")
    assert small.file is None and small.reader().read() == chunks[0]

    def broken() -> object:
        yield chunks[0]
        raise IntegrityError("blob unreadable")

    with pytest.raises(IntegrityError):
        read_verified(broken(), node, "f", limit=10)  # type: ignore[arg-type]
    assert set(os.listdir(tempfile.gettempdir())) - before == set()
