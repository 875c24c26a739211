"""Tests of the OpenClaw state-dir generator in ``fixtures.openclaw_tree``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

# The repo root holds the ``fixtures`` package; make it importable under a bare ``pytest`` too.
_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from fixtures.openclaw_tree import (  # noqa: E402
    AGENTS,
    SQLITE_DATABASES,
    FixtureInfo,
    generate,
    main,
    make_wal_database,
    mutate,
)

Manifest = dict[str, tuple[str, int, str, int, int]]

SMALL = 0.02


def manifest(base: Path, outside: Path | None = None) -> Manifest:
    """relpath -> (kind, size, sha256 or link target, mtime_ns, mode) per entry, links unfollowed.

    Absolute link targets into ``outside`` are written as ``<outside>/...`` so that trees generated
    in different places compare equal.
    """
    out: Manifest = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(base).as_posix()
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(path)
                if outside is not None and target.startswith(str(outside)):
                    target = "<outside>" + target[len(str(outside)) :]
                out[rel] = ("link", 0, target, st.st_mtime_ns, 0)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", 0, "", st.st_mtime_ns, stat.S_IMODE(st.st_mode))
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[rel] = ("file", st.st_size, digest, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    st = base.lstat()
    out["."] = ("dir", 0, "", st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    return out


def count_files(base: Path) -> tuple[int, int]:
    files = size = 0
    for kind, n, *_ in manifest(base).values():
        if kind == "file":
            files += 1
            size += n
    return files, size


def count_rows(db: Path, tmp: Path, *, with_wal: bool = True) -> int:
    """Rows of ``memories`` in a copy of ``db`` (with or without its -wal), leaving db untouched."""
    tmp.mkdir(parents=True, exist_ok=True)
    copy = tmp / db.name
    shutil.copyfile(db, copy)
    if with_wal:
        for suffix in ("-wal", "-shm"):
            shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
    con = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
    try:
        (n,) = con.execute("SELECT count(*) FROM memories").fetchone()
    finally:
        con.close()
    assert isinstance(n, int)
    return n


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> FixtureInfo:
    """One scale-0.02 tree shared by the read-only tests of this module."""
    return generate(tmp_path_factory.mktemp("small") / "state", seed=0, scale=SMALL)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_tree(tmp_path: Path) -> None:
    a = generate(tmp_path / "a" / ".openclaw", seed=7, scale=0.03)
    b = generate(tmp_path / "b" / ".openclaw", seed=7, scale=0.03)
    assert (a.files, a.bytes) == (b.files, b.bytes)
    ma, mb = manifest(a.root, a.outside), manifest(b.root, b.outside)
    assert ma.keys() == mb.keys()
    diff = [rel for rel in ma if ma[rel] != mb[rel]]
    assert diff == []  # names, sizes, contents (SQLite included), link targets and mtimes
    assert manifest(a.outside) == manifest(b.outside)


def test_other_seed_other_tree(tmp_path: Path, small: FixtureInfo) -> None:
    other = generate(tmp_path / "state", seed=1, scale=SMALL)
    assert manifest(other.root, other.outside) != manifest(small.root, small.outside)


def test_info_matches_a_naive_walk(small: FixtureInfo) -> None:
    assert small.root.is_absolute() and small.outside.is_absolute()
    assert small.outside == small.root.parent / "state-outside"
    assert (small.files, small.bytes) == count_files(small.root)
    assert 150 < small.files < 1000
    assert 2e6 < small.bytes < 30e6


def test_scales_up(tmp_path: Path, small: FixtureInfo) -> None:
    bigger = generate(tmp_path / "state", scale=0.06)
    assert bigger.files > small.files * 1.5
    assert bigger.bytes > small.bytes * 1.3


def test_refuses_non_empty_root(tmp_path: Path) -> None:
    root = tmp_path / "state"
    root.mkdir()
    (root / "x").write_text("x")
    with pytest.raises(FileExistsError):
        generate(root, scale=SMALL)


# --------------------------------------------------------------------------- every category


PERSONA = ("AGENTS", "SOUL", "USER", "IDENTITY", "TOOLS", "HEARTBEAT", "BOOT", "MEMORY")

FILES = [
    "openclaw.json",
    "openclaw.json.bak",
    "openclaw.json.bak.1",
    ".env",
    "secrets.json",
    "exec-approvals.json",
    "credentials/oauth.json",
    "credentials/whatsapp/default/creds.json",
    "credentials/telegram-pairing.json",
    "cron/jobs.json",
    "cron/jobs-state.json",
    "devices/paired.json",
    "devices/pending.json",
    "identity/device.json",
    "identity/device-auth.json",
    "browser/default/user-data/Default/Preferences",
    "logs/gateway.log",
    "logs/gateway.err.log",
    "gateway.pid",
    "workspace/canvas/index.html",
    "workspace/.git/HEAD",
    "workspace/.git/config",
    "workspace/.venv/pyvenv.cfg",
    "workspace/scripts/__pycache__/helpers.cpython-311.pyc",
    *(f"workspace/{name}.md" for name in PERSONA),
    *(
        f"agents/{agent}/{rel}"
        for agent in AGENTS
        for rel in (
            "agent/auth-profiles.json",
            "agent/auth.json",
            "agent/models.json",
            "sessions/sessions.json",
        )
    ),
]

GLOBS = {
    "cron/runs/*.jsonl": 1,
    "skills/*/SKILL.md": 1,
    "skills-backup/*/*/SKILL.md": 1,
    "extensions/*/package.json": 3,
    "extensions/*/dist/index.js": 3,
    "delivery-queue/*.json": 1,
    "tmp/*": 1,
    "media/inbound/*.jpg": 1,
    "browser/default/user-data/Default/Cache/Cache_Data/*_0": 1,
    "workspace/memory/????-??-??.md": 1,
    "workspace/skills/*/SKILL.md": 1,
    "workspace/.git/objects/??/*": 5,
    "workspace/.venv/lib/python3.11/site-packages/*/*.py": 1,
    "**/.DS_Store": 1,
    "**/Thumbs.db": 1,
    "**/*.tmp": 1,
    "**/.*.swp": 1,
    "**/*.pid": 1,
}


def test_every_category_exists(small: FixtureInfo) -> None:
    root = small.root
    missing = [rel for rel in FILES if not (root / rel).is_file()]
    assert missing == []
    for pattern, minimum in GLOBS.items():
        found = [p for p in root.glob(pattern) if p.is_file()]
        assert len(found) >= minimum, pattern
    for agent in AGENTS:
        sessions = root / "agents" / agent / "sessions"
        transcripts = list(sessions.glob("*.jsonl"))
        assert len(transcripts) >= 2
        assert list(sessions.glob("*.jsonl.lock"))
        assert list(sessions.glob("*.jsonl.bak-*-*"))
        sizes = sorted(p.stat().st_size for p in transcripts)
        assert sizes[-1] > 1_000_000  # at least one big transcript
        index = json.loads((sessions / "sessions.json").read_text())
        assert {v["sessionId"] for v in index.values()} <= {p.stem for p in transcripts}
    node_modules = [p for p in root.glob("extensions/*/node_modules/**/*") if p.is_file()]
    assert len(node_modules) > 100


def test_file_formats(small: FixtureInfo) -> None:
    root = small.root
    config = (root / "openclaw.json").read_text()
    assert config.startswith("//") and config.rstrip().endswith(",\n}")
    assert '"workspace": "~/.openclaw/workspace"' in config
    transcript = next((root / "agents/main/sessions").glob("*.jsonl"))
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["id"] == transcript.stem
    assert any(line.get("message", {}).get("role") == "user" for line in lines)
    jobs = json.loads((root / "cron/jobs.json").read_text())["jobs"]
    assert {f"{job['id']}.jsonl" for job in jobs} == {p.name for p in root.glob("cron/runs/*")}
    log = (root / "logs/gateway.log").read_text()
    assert log.startswith("2026-") and log.endswith("\n") and log.count("\n") > 50
    for md in root.glob("skills/*/SKILL.md"):
        assert md.read_text().startswith("---\nname: ")


def test_secrets_are_fake_and_private(small: FixtureInfo) -> None:
    root = small.root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for rel in (".env", "credentials/oauth.json", "agents/main/agent/auth-profiles.json"):
        assert stat.S_IMODE((root / rel).stat().st_mode) == 0o600, rel
    assert stat.S_IMODE((root / "workspace/.venv/bin/pip").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "workspace/AGENTS.md").stat().st_mode) == 0o644
    env = (small.root / ".env").read_text()
    assert "FIXTURE" in env
    profiles = (small.root / "agents/main/agent/auth-profiles.json").read_text()
    assert "FIXTURE" in profiles


def test_symlinks(small: FixtureInfo) -> None:
    root, outside = small.root, small.outside
    linked = [p for p in (root / "skills").iterdir() if p.is_symlink()]
    assert linked
    for link in linked:
        target = os.readlink(link)
        assert os.path.isabs(target)
        assert target == str(outside / "agents-skills" / link.name)
        assert (link / "SKILL.md").is_file()
    ud = root / "browser/default/user-data"
    for name in ("SingletonLock", "SingletonSocket", "SingletonCookie"):
        link = ud / name
        assert link.is_symlink(), name
        target = os.readlink(link)
        assert target.startswith("/tmp/.org.chromium.Chromium.")
        assert not link.exists()  # dangling
    python3 = root / "workspace/.venv/bin/python3"
    assert python3.is_symlink() and os.readlink(python3) == "/usr/bin/python3"
    projects = root / "workspace/projects"
    assert projects.is_symlink() and os.readlink(projects) == str(outside / "projects")
    assert sum(1 for p in projects.rglob("*") if p.is_file()) >= 5
    loop = root / "workspace/loop"
    assert os.readlink(loop / "a") == "b" and os.readlink(loop / "b") == "a"
    with pytest.raises(OSError):
        (loop / "a").stat()
    assert os.readlink(loop / "up") == "../loop"
    assert (loop / "up" / "up" / "a").is_symlink()  # a directory cycle


def test_live_wal_databases(small: FixtureInfo, tmp_path: Path) -> None:
    for i, rel in enumerate(SQLITE_DATABASES):
        db = small.root / rel
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert db.is_file() and wal.is_file() and shm.is_file(), rel
        assert wal.stat().st_size > 0 and shm.stat().st_size > 0
        with_wal = count_rows(db, tmp_path / f"w{i}")
        without = count_rows(db, tmp_path / f"m{i}", with_wal=False)
        assert with_wal > without >= 1, rel  # committed rows that live only in the -wal


def test_make_wal_database(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "x.sqlite", tmp_path / "b" / "x.sqlite"
    make_wal_database(a, 40, wal_rows=9, seed=3)
    make_wal_database(b, 40, wal_rows=9, seed=3)
    for suffix in ("", "-wal", "-shm"):
        assert Path(f"{a}{suffix}").read_bytes() == Path(f"{b}{suffix}").read_bytes(), suffix
    assert Path(f"{a}-wal").stat().st_size > 0
    assert count_rows(a, tmp_path / "c") == 49
    assert count_rows(a, tmp_path / "d", with_wal=False) == 40
    # opening the original in place (read-only) also sees every row and keeps the -wal
    con = sqlite3.connect(f"{a.as_uri()}?mode=ro", uri=True)
    try:
        assert con.execute("SELECT count(*) FROM memories").fetchone() == (49,)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        con.close()
    assert Path(f"{a}-wal").stat().st_size > 0


# --------------------------------------------------------------------------- mutate


def test_mutate(tmp_path: Path) -> None:
    info = generate(tmp_path / "state", seed=5, scale=SMALL)
    before = manifest(info.root)
    rows_before = count_rows(info.root / "memory/main.sqlite", tmp_path / "r0")
    change = mutate(info.root, seed=2)
    after = manifest(info.root)

    assert len(change.appended) >= 5  # 5 transcripts (when available) + gateway.log
    assert "logs/gateway.log" in change.appended
    assert "logs/gateway.err.log" in change.touched
    assert "openclaw.json" in change.modified
    assert "memory/main.sqlite" in change.modified
    assert "agents/main/sessions/sessions.json" in change.modified
    assert any(rel.startswith("workspace/memory/") for rel in change.added)
    assert any(rel.startswith("agents/main/sessions/") for rel in change.added)
    assert any(rel.endswith(".jsonl") for rel in change.deleted)

    for rel in change.appended:
        assert after[rel][1] > before[rel][1]  # grew
        assert after[rel][3] > before[rel][3]  # newer
    for rel in change.appended[:3]:
        data = (info.root / rel).read_bytes()
        assert hashlib.sha256(data[: before[rel][1]]).hexdigest() == before[rel][2]
    for rel in change.added:
        assert rel not in before and after[rel][0] == "file"
    for rel in change.deleted:
        assert rel in before and rel not in after
    for rel in change.modified:
        assert after[rel][2] != before[rel][2] and after[rel][3] > before[rel][3]
    for rel in change.touched:
        assert after[rel][2] == before[rel][2] and after[rel][3] > before[rel][3]
    assert all(after[rel][3] >= change.mtime * 10**9 for rel in change.changed if rel in after)

    changed = set(change.changed)
    for rel, entry in before.items():
        if rel not in changed and entry[0] != "dir":
            assert after[rel] == entry, rel
    assert set(after) - set(before) == set(change.added)

    new_rows = count_rows(info.root / "memory/main.sqlite", tmp_path / "r1", with_wal=False)
    assert new_rows > rows_before
    added = next(r for r in change.added if r.startswith("agents/main/sessions/"))
    index = json.loads((info.root / "agents/main/sessions/sessions.json").read_text())
    assert Path(added).stem in {v["sessionId"] for v in index.values()}


def test_mutate_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=4, scale=SMALL)
    b = generate(tmp_path / "b", seed=4, scale=SMALL)
    ca, cb = mutate(a.root, seed=9), mutate(b.root, seed=9)
    assert ca == cb
    assert manifest(a.root, a.outside) == manifest(b.root, b.outside)
    again = mutate(a.root, seed=9)  # a second day is later still
    assert again.mtime > ca.mtime


# --------------------------------------------------------------------------- CLI


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "cli-state"
    assert main([str(root), "--seed", "3", "--scale", "0.01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("FixtureInfo(") and str(root) in out
    assert (root / "openclaw.json").is_file()
