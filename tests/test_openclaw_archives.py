"""OpenClaw-compatible archives both ways, against the real OpenClaw 2026.9.6.

* ``openclaw backup create`` (full, ``--only-config``, ``--no-include-workspace``) →
  ``snapkit import`` → ``snapkit restore``: every payload member comes back byte for byte, at
  its original path, with the mode the archive recorded; ``--only-config`` is a config-only
  snapshot.
* ``snapkit snap`` → ``snapkit export --layout openclaw`` → the real ``openclaw backup verify``
  passes and ``openclaw backup restore`` writes exactly the snapshot's files (the SQLite state
  opens with ``integrity_check`` ok, the second agent's workspace is there); config-only
  snapshots and ``--mode``/``--include``/``--exclude`` exports too; tar.zst and tar as well.
* hostile names in a hand-built OpenClaw-layout archive never write outside the repository
  or the restore target.

One install is onboarded for the module (``openclaw backup create`` writes its state database,
so the session's ``real_openclaw`` is left alone); snapkit runs as a subprocess with the
install's environment, as its user would run it.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from archives import TarBuilder, bsdtar, gnu_tar, invoke, run_tool, write
from helpers import (
    REPO_ROOT,
    assert_trees_equal,
    init_repo,
    restored,
    verify_repository,
)
from helpers import (
    test_secrets as mode_secrets,  # (not collected as a test)
)
from openclaw_real import API_KEY, RealInstall, onboard

PAYLOAD = "/payload/posix/"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> RealInstall:
    """A real install of this module's own: the default agent and ``work`` (``~/work-ws``)."""
    home = tmp_path_factory.mktemp("oc-archives") / "home"
    return onboard(home, agents=[("work", home / "work-ws")])


def snapkit_env(install: RealInstall, tmp: Path) -> dict[str, str]:
    """The install's environment and a repository of this test's own (outside the install's
    home: made as by `snapkit init`)."""
    if not (tmp / "repo").exists():
        init_repo(tmp / "repo")
    return install.env(SNAPKIT_REPO=str(tmp / "repo"), XDG_CONFIG_HOME=str(tmp / "xdg-config"),
                       XDG_DATA_HOME=str(tmp / "xdg-data"), PYTHONPATH=str(REPO_ROOT),
                       PYTHONDONTWRITEBYTECODE="1", **mode_secrets())


def snapkit(args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)
            ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "snapkit", *args], env=env, cwd=env["HOME"],
                            capture_output=True, text=True, timeout=300, check=False,
                            stdin=subprocess.DEVNULL)
    assert result.returncode in ok, (result.returncode, result.stdout, result.stderr)
    return result


def last_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return lines[-1]  # type: ignore[no-any-return]


def members(archive: Path) -> tuple[str, dict[str, tarfile.TarInfo], dict[str, bytes],
                                    dict[str, Any]]:
    """An OpenClaw-layout tar.gz: its root, payload members by original absolute path, their
    file contents, and the manifest."""
    infos: dict[str, tarfile.TarInfo] = {}
    data: dict[str, bytes] = {}
    manifest: dict[str, Any] = {}
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        root = names[-1].split("/")[0]
        assert names[-1] == f"{root}/manifest.json"  # last, as OpenClaw writes it
        for m in tar.getmembers():
            if m.name == f"{root}/manifest.json":
                manifest = json.loads(tar.extractfile(m).read())  # type: ignore[union-attr]
                continue
            assert (m.name + "/").startswith(root + "/"), m.name
            if not m.name.startswith(root + PAYLOAD):
                continue
            path = "/" + m.name[len(root + PAYLOAD):].rstrip("/")
            infos[path] = m
            if m.isreg():
                data[path] = tar.extractfile(m).read()  # type: ignore[union-attr]
    return root, infos, data, manifest


def damage_member(archive: Path, out: Path, suffix: str) -> Path:
    """A copy of ``archive`` with 64 bytes of the third page of the member ending in
    ``suffix`` overwritten."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz",
                                                   format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            f = src.extractfile(m) if m.isreg() else None
            if f is not None and m.name.endswith(suffix):
                data = bytearray(f.read())
                data[8192:8256] = b"\xff" * 64
                f = io.BytesIO(bytes(data))
            dst.addfile(m, f)
    return out


def is_sqlite(data: bytes) -> bool:
    return data[:16] == b"SQLite format 3\x00"


def api_key_in(db: Path) -> bool:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT value_json FROM config_machine_state "
                            "WHERE state_key = 'authProfiles.store'").fetchall()
    return any(API_KEY in str(value) for (value,) in rows)


def files_below(root: Path) -> dict[str, Path]:
    """Files and links below ``root`` by their path relative to it."""
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
            if p.is_symlink() or not p.is_dir()}


# --------------------------------------------------------------------------- openclaw → snapkit


@pytest.mark.parametrize(("flags", "mode"), [
    ((), "full"),
    (("--only-config",), "config-only"),
    (("--no-include-workspace",), "full"),
], ids=["full", "only-config", "no-include-workspace"])
def test_openclaw_backup_imports_and_restores_byte_exact(
        install: RealInstall, tmp_path: Path, flags: tuple[str, ...], mode: str) -> None:
    archive = tmp_path / "oc-backup.tar.gz"
    install.run("backup", "create", "--output", str(archive), *flags)
    _, infos, data, manifest = members(archive)
    state, work = str(install.state_dir), str(install.home / "work-ws")
    assert manifest["options"]["onlyConfig"] is (mode == "config-only")

    env = snapkit_env(install, tmp_path)
    info = last_json(snapkit(["import", str(archive), "--json"], env))
    assert info["layout"] == "openclaw" and info["complete"] and info["warnings"] == []
    assert info["mode"] == mode
    assert info["time_ns"] // 1_000_000 == _ms(manifest["createdAt"])
    assert info["sources"] == ([state, work] if not flags else [state])
    listed = json.loads(snapkit(["snapshots", "--json"], env).stdout)
    assert [s["mode"] for s in listed] == [mode]
    refused = snapkit(["verify-archive", str(archive)], env, ok=(2,))
    assert "is an `openclaw backup create` archive" in refused.stderr

    target = tmp_path / "r"
    snapkit(["restore", "latest", "--target", str(target)], env)
    got = {"/" + rel for rel in files_below(target)}
    want = {p for p, m in infos.items() if not m.isdir()}
    assert got == want
    for path, m in infos.items():
        out = target / path.lstrip("/")
        if m.isreg():
            assert out.read_bytes() == data[path], path  # byte for byte
            assert stat.S_IMODE(out.lstat().st_mode) == m.mode & 0o7777, path
            assert int(out.lstat().st_mtime) == int(m.mtime), path
            live = Path(path)
            if not is_sqlite(data[path]):  # OpenClaw stores a vacuumed copy of its databases
                assert live.read_bytes() == data[path], path
        elif m.issym():
            assert os.readlink(out) == m.linkname
    config = restored(target, install.config_path)
    assert config.read_bytes() == install.config_path.read_bytes()
    db = restored(target, install.state_dir / "state" / "openclaw.sqlite")
    if mode == "config-only":
        assert want == {str(install.config_path)}  # OpenClaw's --only-config: the file alone
    else:
        assert api_key_in(db)
    assert restored(target, install.home / "work-ws" / "AGENTS.md").exists() is (not flags)
    assert restored(target, install.state_dir / "workspace" / "AGENTS.md").exists() is (
        not flags)
    verify_repository(tmp_path / "repo")


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


OC_ROOT = "2026-11-20T09-00-00.000+00-00-openclaw-backup"


def test_payload_relative_maps_by_the_manifest_assets(install: RealInstall,
                                                      tmp_path: Path) -> None:
    """``payload/relative/<p>`` holds a source path OpenClaw could not make absolute; it was
    relative to the working directory of ``openclaw backup create``, which no archive records.
    An asset that records its absolute ``sourcePath`` maps exactly; the rest goes below
    ``/imported/<archive>``, with a warning."""
    manifest = {
        "schemaVersion": 1, "createdAt": "2026-11-20T09:00:00.000Z", "archiveRoot": OC_ROOT,
        "options": {"includeWorkspace": True, "onlyConfig": False},
        "assets": [
            {"kind": "workspace", "sourcePath": "/home/alice/ws",
             "archivePath": f"{OC_ROOT}/payload/relative/ws"},
            {"kind": "workspace", "sourcePath": "loose",
             "archivePath": f"{OC_ROOT}/payload/relative/loose"},
        ],
    }
    b = TarBuilder()
    b.dir(f"{OC_ROOT}/payload/relative/ws", mode=0o700)
    b.file(f"{OC_ROOT}/payload/relative/ws/AGENTS.md", b"# ws\n", mode=0o600)
    b.file(f"{OC_ROOT}/payload/relative/loose/notes.md", b"notes\n")
    b.file(f"{OC_ROOT}/manifest.json", json.dumps(manifest).encode())
    archive = write(tmp_path / "rel.tar", b.bytes())
    # A genuine OpenClaw archive by OpenClaw's own rules:
    assert "Backup archive OK" in install.run("backup", "verify", str(archive)).stdout

    env = snapkit_env(install, tmp_path)
    info = last_json(snapkit(["import", str(archive), "--json"], env))
    assert info["layout"] == "openclaw" and info["mode"] == "full"
    assert info["sources"] == ["/home/alice/ws", "/imported/rel"]
    assert len(info["warnings"]) == 1 and "payload/relative" in info["warnings"][0]
    target = tmp_path / "r"
    snapkit(["restore", "latest", "--target", str(target)], env)
    assert set(files_below(target)) == {"home/alice/ws/AGENTS.md", "imported/rel/loose/notes.md"}
    assert (target / "home/alice/ws/AGENTS.md").read_bytes() == b"# ws\n"
    assert stat.S_IMODE((target / "home/alice/ws").stat().st_mode) == 0o700


# --------------------------------------------------------------------------- snapkit → openclaw


@pytest.fixture(scope="module")
def full(install: RealInstall, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A full ``snapkit snap --symlinks record`` of the install (with a link inside the work
    workspace and one leaving it, removed again afterwards) exported ``--layout openclaw``."""
    tmp = tmp_path_factory.mktemp("full")
    env = snapkit_env(install, tmp)
    ws = install.home / "work-ws"
    (ws / "notes").symlink_to("AGENTS.md")
    (ws / "python").symlink_to("/usr/bin/python3")
    try:
        info = last_json(snapkit(["snap", "--symlinks", "record", "--json"], env))
    finally:
        (ws / "notes").unlink()
        (ws / "python").unlink()
    archive = tmp / "export.tar.gz"
    snapkit(["export", "latest", "--layout", "openclaw", "-o", str(archive)], env)
    return {"tmp": tmp, "env": env, "snap": info, "archive": archive}


def test_export_openclaw_layout_passes_openclaw_verify_and_restore(
        install: RealInstall, full: dict[str, Any], tmp_path: Path) -> None:
    archive: Path = full["archive"]
    state, work = install.state_dir, install.home / "work-ws"
    assert full["snap"]["sources"] == [str(state), str(work)]  # discovery of agents.entries
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    verified = json.loads(install.run("backup", "verify", str(archive), "--json").stdout)
    assert verified["ok"] is True and verified["assetCount"] == 2
    assert verified["symlinkCount"] == 2
    root, _, _, manifest = members(archive)
    assert verified["archiveRoot"] == root
    assert [(a["kind"], a["sourcePath"]) for a in manifest["assets"]] == [
        ("state", str(state)), ("workspace", str(work))]
    assert manifest["paths"]["stateDir"] == str(state)
    assert manifest["options"] == {"includeWorkspace": True, "onlyConfig": False}
    # OpenClaw's "external": leaving the state asset — both links of the workspace outside it
    # (verify compared this list with its own reckoning and found it exact).
    assert manifest["externalSymbolicLinks"] == [
        {"entryPath": f"{root}{PAYLOAD}{str(work / name).lstrip('/')}", "linkpath": target}
        for name, target in (("notes", "AGENTS.md"), ("python", "/usr/bin/python3"))]
    assert manifest["snapkit"]["snapshot"] == full["snap"]["snapshot_id"]
    # ... and that verdict covered the database: the same archive with one page of
    # state/openclaw.sqlite damaged fails OpenClaw's integrity check.
    damaged = damage_member(archive, tmp_path / "damaged.tar.gz", "state/openclaw.sqlite")
    refused = install.run("backup", "verify", str(damaged), check=False)
    assert refused.returncode != 0
    assert "SQLite snapshot failed verification" in refused.stdout + refused.stderr

    staged = tmp_path / "staged"
    result = json.loads(install.run("backup", "restore", str(archive), "--target", str(staged),
                                    "--json").stdout)
    assert result["archiveRoot"] == root
    mine = tmp_path / "mine"
    snapkit(["restore", full["snap"]["snapshot_id"], "--target", str(mine)], full["env"])
    payload = staged / root / "payload" / "posix"
    # The same files, bytes, modes and link targets as snapkit's own restore.
    assert_trees_equal(restored(mine, install.home), restored(payload, install.home),
                       check_mtime=False, check_root=False)
    assert os.readlink(restored(payload, work / "python")) == "/usr/bin/python3"
    assert os.readlink(restored(payload, work / "notes")) == "AGENTS.md"
    assert restored(payload, work / "AGENTS.md").read_bytes() == (work / "AGENTS.md").read_bytes()
    assert api_key_in(restored(payload, state / "state" / "openclaw.sqlite"))
    assert (staged / root / "manifest.json").is_file()


def test_openclaw_layout_is_reproducible_and_plain_tar_reads_it(
        install: RealInstall, full: dict[str, Any], tmp_path: Path) -> None:
    archive: Path = full["archive"]
    again = tmp_path / "again.tar.gz"
    snapkit(["export", full["snap"]["snapshot_id"], "--layout", "openclaw", "-o", str(again)],
            full["env"])
    assert again.read_bytes() == archive.read_bytes()
    for tool in (gnu_tar(), bsdtar()):
        out = tmp_path / Path(tool).name
        out.mkdir()
        run_tool([tool, "-xzf", str(archive), "-C", str(out)])
        (root,) = os.listdir(out)
        assert stat.S_IMODE((out / root).stat().st_mode) == 0o700
        assert (restored(out / root / "payload" / "posix", install.config_path)
                .read_bytes() == install.config_path.read_bytes())
    check = snapkit(["verify-archive", str(archive)], full["env"])
    assert "OK:" in check.stdout and "(OpenClaw layout)" in check.stdout
    # OpenClaw 2026.9.6 reads tar.zst and plain tar too (its tar library finds the compression).
    for fmt in ("tar.zst", "tar"):
        other = tmp_path / f"export.{fmt}"
        snapkit(["export", full["snap"]["snapshot_id"], "--layout", "openclaw", "-o", str(other)],
                full["env"])
        assert "Backup archive OK" in install.run("backup", "verify", str(other)).stdout


def test_openclaw_layout_export_imports_back_exactly(full: dict[str, Any],
                                                     tmp_path: Path) -> None:
    env = {**full["env"], "SNAPKIT_REPO": str(init_repo(tmp_path / "repo2").backend.location)}
    info = last_json(snapkit(["import", str(full["archive"]), "--json"], env))
    assert info["layout"] == "openclaw" and info["complete"]
    (warning,) = info["warnings"]  # the import's usual note on an absolute link, nothing else
    assert "work-ws/python: symlink to the absolute path /usr/bin/python3" in warning
    assert info["origin_snapshot"] == full["snap"]["snapshot_id"]
    assert info["sources"] == full["snap"]["sources"] and info["mode"] == "full"
    a, b = tmp_path / "a", tmp_path / "b"
    snapkit(["restore", "latest", "--target", str(a)], env)
    snapkit(["restore", full["snap"]["snapshot_id"], "--target", str(b)], full["env"])
    assert_trees_equal(b, a, check_root=False)  # all but the two targets themselves
    verify_repository(tmp_path / "repo2")


def test_config_only_snapshot_exports_as_only_config(install: RealInstall,
                                                     tmp_path: Path) -> None:
    env = snapkit_env(install, tmp_path)
    snap = last_json(snapkit(["snap", "--mode", "config-only", "--json"], env))
    archive = tmp_path / "cfg.tar.gz"
    snapkit(["export", "latest", "--layout", "openclaw", "-o", str(archive)], env)
    root, infos, data, manifest = members(archive)
    assert manifest["options"] == {"includeWorkspace": False, "onlyConfig": True}
    assert manifest["snapkit"]["mode"] == "config-only"
    assert [a["kind"] for a in manifest["assets"]] == ["state"]
    assert json.loads(install.run("backup", "verify", str(archive), "--json").stdout)["ok"]
    staged = tmp_path / "staged"
    install.run("backup", "restore", str(archive), "--target", str(staged))
    mine = tmp_path / "mine"
    snapkit(["restore", snap["snapshot_id"], "--target", str(mine)], env)
    assert_trees_equal(restored(mine, install.home),
                       restored(staged / root / "payload" / "posix", install.home),
                       check_mtime=False, check_root=False)
    assert str(install.config_path) in data
    assert not any(p.startswith(str(install.home / "work-ws")) for p in infos)



def test_config_only_subset_of_a_full_snapshot(install: RealInstall, full: dict[str, Any],
                                                tmp_path: Path) -> None:
    """``export --mode config-only`` of a full snapshot: onlyConfig, and back as config-only."""
    subset = tmp_path / "subset.tar.gz"
    snapkit(["export", full["snap"]["snapshot_id"], "--mode", "config-only", "--layout",
             "openclaw", "-o", str(subset)], full["env"])
    manifest = members(subset)[3]
    assert manifest["options"]["onlyConfig"] is True
    assert manifest["snapkit"] == {**manifest["snapkit"], "snapshotMode": "full",
                                   "mode": "config-only"}
    assert "Backup archive OK" in install.run("backup", "verify", str(subset)).stdout
    back = {**full["env"], "SNAPKIT_REPO": str(init_repo(tmp_path / "repo2").backend.location)}
    assert last_json(snapkit(["import", str(subset), "--json"], back))["mode"] == "config-only"


def test_include_and_exclude_keep_the_archive_valid(install: RealInstall, full: dict[str, Any],
                                                    tmp_path: Path) -> None:
    env, sid = full["env"], full["snap"]["snapshot_id"]
    no_ws = tmp_path / "no-ws.tar.gz"
    snapkit(["export", sid, "--layout", "openclaw", "--exclude", "work-ws/", "-o", str(no_ws)],
            env)
    _, infos, _, manifest = members(no_ws)
    assert [a["kind"] for a in manifest["assets"]] == ["state"]
    assert not any("/work-ws" in p for p in infos)
    assert "Backup archive OK" in install.run("backup", "verify", str(no_ws)).stdout

    only = tmp_path / "only.tar.gz"
    snapkit(["export", sid, "--layout", "openclaw", "--include", "**/AGENTS.md", "-o", str(only)],
            env)
    _, infos, data, manifest = members(only)
    assert {Path(p).name for p in data} == {"AGENTS.md"}
    assert [a["kind"] for a in manifest["assets"]] == ["state", "workspace"]
    assert "Backup archive OK" in install.run("backup", "verify", str(only)).stdout


# --------------------------------------------------------------------------- hostile archives


def test_hostile_openclaw_archive_never_writes_outside(install: RealInstall,
                                                       tmp_path: Path) -> None:
    p = f"{OC_ROOT}/payload"
    manifest = {
        "schemaVersion": 1, "createdAt": "2026-11-20T09:00:00.000Z", "archiveRoot": OC_ROOT,
        "assets": [
            {"kind": "workspace", "sourcePath": "/../../escape",
             "archivePath": f"{p}/relative/ws"},
            {"kind": "workspace", "sourcePath": "/home/alice/x",
             "archivePath": f"{p}/relative/../../x"},
        ],
    }
    b = TarBuilder()
    b.file(f"{p}/relative/../../outside-rel", b"evil\n")
    b.file(f"{p}/posix/../../../../outside-posix", b"evil\n")
    b.file(f"/{p}/posix/home/alice/abs.txt", b"abs\n")
    b.file(f"{p}/relative/ws/ok.md", b"ok\n")
    b.symlink(f"{p}/posix/home/alice/etc", "/etc")
    b.file(f"{p}/posix/home/alice/etc/passwd", b"root::0:0::/:/bin/sh\n")
    b.symlink(f"{p}/posix/home/alice/up", "../../../../../../../../outside-link")
    b.file(f"{p}/posix/home/alice/up/written", b"evil\n")
    b.file(f"{OC_ROOT}/manifest.json", json.dumps(manifest).encode())
    archive = write(tmp_path / "hostile.tar", b.bytes())
    refused = install.run("backup", "verify", str(archive), check=False)
    assert refused.returncode != 0 and "traversal" in refused.stderr + refused.stdout

    before = set(os.listdir(tmp_path))
    env = snapkit_env(install, tmp_path)
    info = last_json(snapkit(["import", str(archive), "--json"], env))
    assert info["layout"] == "openclaw"
    assert sorted(info["sources"]) == ["/home/alice", "/imported/hostile"]
    target = tmp_path / "target"
    snapkit(["restore", "latest", "--target", str(target)], env)
    assert {"repo", "target"} <= set(os.listdir(tmp_path)) - before <= {
        "repo", "target", "xdg-config", "xdg-data"}
    found = files_below(target)
    assert set(found) == {"home/alice/abs.txt", "home/alice/etc", "home/alice/up",
                          "imported/hostile/ws/ok.md"}
    for path in found.values():  # every entry is inside the target; links are links
        assert os.path.realpath(path.parent).startswith(str(target.resolve()) + os.sep)
    assert os.readlink(target / "home/alice/etc") == "/etc"
    assert not (tmp_path / "outside-link").exists() and not (tmp_path / "outside-rel").exists()
    text = "\n".join(info["warnings"])
    for needle in ("'..'", "absolute name", "/etc", "escapes", "is a symlink"):
        assert needle in text, needle


# --------------------------------------------------------------------------- refusals


def test_names_openclaw_refuses_are_refused_at_export(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Notes.md").write_text("a")
    (src / "notes.md").write_text("b")
    (tmp_path / "other").mkdir()
    (src / "out").symlink_to(tmp_path / "other")
    env = {"SNAPKIT_REPO": str(tmp_path / "repo"), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert invoke(["snap", str(src), "--symlinks", "record"], env).code == 0
    out = invoke(["export", "latest", "--layout", "openclaw", "-o", str(tmp_path / "a.tgz")],
                 env)
    assert out.code == 2 and "portable path collision" in out.stderr
    out = invoke(["export", "latest", "--layout", "openclaw", "--exclude", "Notes.md",
                  "-o", str(tmp_path / "a.tgz")], env)
    assert out.code == 2 and "outside the exported sources" in out.stderr
    out = invoke(["export", "latest", "--layout", "openclaw", "--paths", "relative",
                  "-o", str(tmp_path / "a.tgz")], env)
    assert out.code == 2 and "--paths relative" in out.stderr
    ok = invoke(["export", "latest", "--layout", "openclaw", "--exclude", "Notes.md",
                 "--exclude", "out", "-o", str(tmp_path / "a.tgz")], env)
    assert ok.code == 0, ok.stderr
    _, _, data, manifest = members(tmp_path / "a.tgz")
    assert list(data) == [f"{src}/notes.md"]
    assert manifest["assets"] == [{"kind": "directory", "sourcePath": str(src),
                                   "archivePath": f"{manifest['archiveRoot']}{PAYLOAD}"
                                                  f"{str(src).lstrip('/')}"}]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]  # refusals left nothing
