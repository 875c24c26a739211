"""Tests of the OpenClaw state-dir generator in ``fixtures.openclaw_tree``."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import sys
from pathlib import Path

import pytest
import zstandard

# The repo root holds the ``fixtures`` package; make it importable under a bare ``pytest`` too.
_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from fixtures.openclaw_2026_9 import (  # noqa: E402
    dump_schema,
    schema_objects,
    schema_statements,
)
from fixtures.openclaw_tree import (  # noqa: E402
    AGENTS,
    SQLITE_DATABASES,
    FixtureInfo,
    detect_layout,
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


# --------------------------------------------------------------------------- layout 2026.9

SMALL26 = 0.02


@pytest.fixture(scope="module")
def small26(tmp_path_factory: pytest.TempPathFactory) -> FixtureInfo:
    """One scale-0.02 tree in the 2026.9 layout shared by the read-only tests below."""
    home = tmp_path_factory.mktemp("home26")
    return generate(home / ".openclaw", seed=0, scale=SMALL26, layout="2026.9")


def sql_copy(db: Path, tmp: Path, *, with_wal: bool = True) -> sqlite3.Connection:
    """A connection to a copy of ``db`` (with or without its ``-wal``); ``db`` stays untouched."""
    tmp.mkdir(parents=True, exist_ok=True)
    copy = tmp / db.name
    shutil.copyfile(db, copy)
    if with_wal:
        shutil.copyfile(f"{db}-wal", f"{copy}-wal")
    con = sqlite3.connect(copy)
    con.create_function("octet_length", 1, lambda v: None if v is None else len(str(v).encode()))
    return con


def state_value(db: Path, tmp: Path, key: str, *, with_wal: bool = True) -> str:
    con = sql_copy(db, tmp, with_wal=with_wal)
    try:
        (value,) = con.execute(
            "SELECT value_json FROM config_machine_state WHERE state_key = ?", (key,)
        ).fetchone()
    finally:
        con.close()
    return str(value)


def test_2026_9_same_seed_same_tree(tmp_path: Path) -> None:
    # The 2026.9 files embed the absolute paths of root and outside (as the real CLI writes
    # them), so the second tree is built at the same place after the first is moved away.
    home = tmp_path / "home"
    a = generate(home / ".openclaw", seed=7, scale=0.03, outside=home / "ext", layout="2026.9")
    ma, mo = manifest(a.root, a.outside), manifest(a.outside)
    home.rename(tmp_path / "first")
    b = generate(home / ".openclaw", seed=7, scale=0.03, outside=home / "ext", layout="2026.9")
    assert a == b
    mb = manifest(b.root, b.outside)
    assert ma.keys() == mb.keys()
    assert [rel for rel in ma if ma[rel] != mb[rel]] == []  # SQLite, -wal and -shm included
    assert manifest(b.outside) == mo
    other = generate(tmp_path / "o" / ".openclaw", seed=8, scale=0.03, layout="2026.9")
    assert other.api_keys != a.api_keys


def test_2026_9_info(small26: FixtureInfo) -> None:
    info = small26
    assert info.layout == "2026.9"
    assert (info.files, info.bytes) == count_files(info.root)
    assert 150 < info.files < 1000 and 3e6 < info.bytes < 40e6
    assert len(set(info.api_keys)) == len(info.api_keys) >= 4
    assert set(info.wal_secrets) <= set(info.api_keys) and info.wal_secrets
    assert info.sqlite == (
        "state/openclaw.sqlite",
        "agents/main/agent/openclaw-agent.sqlite",
        "agents/work/agent/openclaw-agent.sqlite",
    )
    workspaces = dict(info.workspaces)
    assert workspaces["main"] == info.root / "workspace"
    assert workspaces["work"] == info.outside / "work-workspace"


def test_2026_9_scales_up(tmp_path: Path, small26: FixtureInfo) -> None:
    bigger = generate(tmp_path / ".openclaw", scale=0.1, layout="2026.9")
    assert bigger.files > small26.files * 2
    assert bigger.bytes > small26.bytes * 1.3


FILES_2026_9 = [
    "openclaw.json",
    "openclaw.json.bak",
    "openclaw.json.bak.1",
    "openclaw.json.last-good",
    "config-journal-fingerprint.key",
    "state/openclaw.sqlite",
    "state/openclaw.sqlite-wal",
    "state/openclaw.sqlite-shm",
    "state/openclaw-quarantine.sqlite",
    "credentials/whatsapp/default/creds.json",
    "workspace/.git/HEAD",
    "workspace/.git/config",
    "workspace/.git/hooks/pre-commit.sample",
    *(f"workspace/{name}.md" for name in ("AGENTS", "SOUL", "USER", "IDENTITY", "MEMORY")),
    # the real npm project name of @openclaw/deepseek-provider
    "npm/projects/openclaw-deepseek-provider-2481ed984b/package.json",
    "npm/projects/openclaw-deepseek-provider-2481ed984b/package-lock.json",
    "npm/projects/openclaw-deepseek-provider-2481ed984b/node_modules/.package-lock.json",
    "npm/projects/openclaw-deepseek-provider-2481ed984b/node_modules/@openclaw/"
    "deepseek-provider/openclaw.plugin.json",
    "tmp/openclaw-1000/gateway.state.lock",
    "tmp/openclaw-1000/gateway.state.lock.sqlite",
    "tmp/agent-cli/openclaw",
    *(
        f"agents/{agent}/agent/openclaw-agent.sqlite{suffix}"
        for agent in ("main", "work")
        for suffix in (
            "",
            "-wal",
            "-shm",
            ".generation-lock.sqlite",
            ".generation-writer.sqlite",
            ".reindex-lock.sqlite",
        )
    ),
]

GLOBS_2026_9 = {
    "agents/main/sessions/cold/*.jsonl.zst": 1,
    "agents/work/sessions/cold/*.jsonl.zst": 1,
    "workspace/memory/????-??-??.md": 1,
    "workspace/skills/*/SKILL.md": 1,
    "workspace/.git/objects/??/*": 5,
    "npm/projects/*/package.json": 4,
    "npm/projects/*/node_modules/**/*.js": 20,
    "cache/control-ui-assets/*/asset-manifest.json": 1,
    "cache/control-ui-assets/*/assets/*.js": 1,
    "cache/control-ui-assets/*/assets/*.js.gz": 1,
    "cache/control-ui-assets/*/assets/*.js.br": 1,
    "cache/control-ui-assets/*/assets/*.webp": 1,
    "media/inbound/*.jpg": 1,
    "media/outbound/*.png": 1,
    "migration/claude/*/report.json": 1,
    "tmp/openclaw-1000/gateway.*.lock": 2,
    "tmp/plugin-captures/*/owner.sqlite": 1,
    "agents/main/agent/auth-profiles.json.migrated-*": 1,
}


def test_2026_9_every_category_exists(small26: FixtureInfo) -> None:
    root = small26.root
    assert [rel for rel in FILES_2026_9 if not (root / rel).is_file()] == []
    for pattern, minimum in GLOBS_2026_9.items():
        assert len([p for p in root.glob(pattern) if p.is_file()]) >= minimum, pattern
    for rel in ("media/playback-transcode", "workspace/.git/refs/tags", "agents/main/sessions"):
        assert (root / rel).is_dir(), rel
    # gone in 2026.9: the legacy secret files, and logs (they go to /tmp/openclaw/)
    for rel in ("logs", "cron", "devices", "identity", "exec-approvals.json", ".env"):
        assert not (root / rel).exists(), rel
    for pattern in ("**/auth-profiles.json", "**/auth.json", "credentials/oauth.json"):
        assert list(root.glob(pattern)) == [], pattern
    assert (root / "config-journal-fingerprint.key").stat().st_size == 32
    # the control-UI cache lists its own files with their hashes
    base = next((root / "cache/control-ui-assets").iterdir())
    listing = json.loads((base / "asset-manifest.json").read_text())
    assert listing["generation"] == base.name
    assets = {p.name for p in (base / "assets").iterdir()}
    assert {a["path"].removeprefix("assets/") for a in listing["assets"]} == assets
    first = listing["assets"][0]
    data = (base / first["path"]).read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (first["size"], first["sha256"])
    for gz in (base / "assets").glob("*.gz"):
        assert gzip.decompress(gz.read_bytes()) == (base / "assets" / gz.stem).read_bytes()
    # cold transcripts are zstd JSONL, indexed by their digest
    cold = next(root.glob("agents/main/sessions/cold/*.jsonl.zst"))
    assert hashlib.sha256(cold.read_bytes()).hexdigest() == cold.name.split(".")[0]
    lines = zstandard.ZstdDecompressor().decompress(cold.read_bytes()).decode().splitlines()
    head = json.loads(lines[0])
    assert head["type"] == "session" and head["version"] == 4
    assert head["cwd"] == str(root / "workspace")


def test_2026_9_config(small26: FixtureInfo) -> None:
    root, outside = small26.root, small26.outside
    config = json.loads((root / "openclaw.json").read_text())  # plain JSON, as 2026.9 writes
    agents = config["agents"]
    assert "list" not in agents and set(agents["entries"]) == {"main", "work"}
    for agent_id, entry in agents["entries"].items():
        assert set(entry) >= {"name", "workspace", "agentDir", "identity"}
        assert entry["agentDir"] == str(root / "agents" / agent_id / "agent")
        assert Path(entry["workspace"]) == dict(small26.workspaces)[agent_id]
    assert agents["defaults"]["workspace"] == str(root / "workspace")
    work_ws = Path(agents["entries"]["work"]["workspace"])
    assert work_ws.is_relative_to(outside) and not work_ws.is_relative_to(root)
    assert (work_ws / "SOUL.md").is_file() and (work_ws / ".git" / "HEAD").is_file()
    assert {"auth", "gateway", "plugins", "meta", "wizard"} <= set(config)
    assert config["gateway"]["auth"]["token"] == small26.gateway_token
    for profile in config["auth"]["profiles"].values():
        assert set(profile) == {"provider", "mode"}  # no secret in the config
    assert config["session"]["maintenance"]["coldStorage"]["enabled"] is True
    older = json.loads((root / "openclaw.json.bak.3").read_text())
    assert "list" in older["agents"] and "entries" not in older["agents"]  # before 2026.8
    shared = state_value(root / "state/openclaw.sqlite", root.parent / "q0", "auth.sharedStore")
    assert json.loads(shared) == {"location": "state-db"}


def test_2026_9_keys_are_in_sqlite_only(small26: FixtureInfo, tmp_path: Path) -> None:
    root, outside = small26.root, small26.outside
    state = root / "state/openclaw.sqlite"
    store = state_value(state, tmp_path / "s", "authProfiles.store")
    con = sql_copy(root / "agents/work/agent/openclaw-agent.sqlite", tmp_path / "w")
    try:
        (local,) = con.execute(
            "SELECT store_json FROM auth_profile_store WHERE store_key = 'primary'"
        ).fetchone()
    finally:
        con.close()
    for key in small26.api_keys:
        assert "FIXTURE" in key
        assert key in store or key in local, key
    # no other file holds a key: not the config, its backups, the legacy residue, the outside
    for base in (root, outside):
        for path in base.rglob("*"):
            if path.is_file() and not path.is_symlink() and ".sqlite" not in path.name:
                data = path.read_bytes()
                assert not any(key.encode() in data for key in small26.api_keys), path
    # the newest OAuth token is committed but not checkpointed: only the -wal has it
    for key in small26.wal_secrets:
        assert key.encode() not in state.read_bytes()
        assert key.encode() in Path(f"{state}-wal").read_bytes()
        old = state_value(state, tmp_path / "m", "authProfiles.store", with_wal=False)
        assert key not in old and "sk-ant-oat01-FIXTURE" in old
    # the upgrade's residue holds the keys of that time, rotated since
    (residue,) = small26.migrated_secret_files
    text = (root / residue).read_text()
    assert "FIXTURE" in text and not any(key in text for key in small26.api_keys)
    assert stat.S_IMODE((root / residue).stat().st_mode) == 0o600


def test_2026_9_live_wal_databases(small26: FixtureInfo, tmp_path: Path) -> None:
    tables = {"state/openclaw.sqlite": "audit_events"}
    for i, rel in enumerate(small26.sqlite):
        db = small26.root / rel
        assert Path(f"{db}-wal").stat().st_size > 32 and Path(f"{db}-shm").is_file(), rel
        table = tables.get(rel, "transcript_events")
        counts = []
        for with_wal in (True, False):
            con = sql_copy(db, tmp_path / f"{i}{with_wal}", with_wal=with_wal)
            try:
                assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
                assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                assert con.execute("PRAGMA foreign_key_check").fetchall() == []
                counts.append(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            finally:
                con.close()
        assert counts[0] > counts[1] >= 1, rel  # committed rows that live only in the -wal


def test_2026_9_schema_is_the_real_one(small26: FixtureInfo) -> None:
    """Every database holds exactly the CREATE statements of ``fixtures/openclaw_schema``."""
    expected = {
        "state/openclaw.sqlite": ("state", 18, 2),
        "state/openclaw-quarantine.sqlite": ("quarantine", 2, 0),
        "agents/main/agent/openclaw-agent.sqlite": ("agent", 23, 2),
        "agents/work/agent/openclaw-agent.sqlite": ("agent", 23, 2),
    }
    for rel, (name, user_version, auto_vacuum) in expected.items():
        db = small26.root / rel
        assert len(schema_statements(name)) >= (200 if name == "state" else 2)
        assert dump_schema(db) == schema_objects(name), rel
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            assert con.execute("PRAGMA user_version").fetchone() == (user_version,)
            assert con.execute("PRAGMA auto_vacuum").fetchone() == (auto_vacuum,)
        finally:
            con.close()


#: Tables the 2026.9 layout fills that matter to a backup (secrets, jobs, identities, sessions).
TABLES_THAT_MATTER = {
    "state": (
        "config_machine_state",
        "cron_jobs",
        "cron_run_receipts",
        "device_identities",
        "device_auth_tokens",
        "device_pairing_paired",
        "exec_approvals_config",
        "operator_approvals",
        "mcp_oauth_stores",
        "agent_databases",
        "migration_sources",
        "schema_meta",
    ),
    "agent": (
        "auth_profile_store",
        "auth_profile_state",
        "session_nodes",
        "session_windows",
        "transcript_events",
        "session_transcript_cold_archives",
        "memory_index_chunks",
        "schema_meta",
    ),
}


def test_2026_9_schema_matches_a_real_install(tmp_path: Path) -> None:
    """The schema files against databases the real ``openclaw@2026.9.6`` creates now.

    To refresh ``fixtures/openclaw_schema/*.sql`` for a new OpenClaw release: onboard, add an
    agent, run the gateway and one agent turn, then write each database's ``sqlite_master``
    (rowid order, without FTS5 shadow tables and ``sqlite_*``) like the files' headers say.
    """
    from openclaw_real import API_KEY, onboard

    install = onboard(tmp_path / "home", agents=[("work", tmp_path / "work-ws")])
    install.run("memory", "index", "--agent", "main", timeout=180)  # creates the agent db
    state_dir = install.state_dir
    real = {
        "state": dump_schema(state_dir / "state/openclaw.sqlite"),
        "agent": dump_schema(state_dir / "agents/main/agent/openclaw-agent.sqlite"),
    }
    for name, schema in real.items():
        ours = schema_objects(name)
        common = set(ours) & set(schema)
        assert len(common) > 0.9 * len(schema), name  # onboarding alone creates nearly all
        assert [obj for obj in sorted(common) if ours[obj] != schema[obj]] == [], name
        for table in TABLES_THAT_MATTER[name]:
            assert table in schema and table in ours, (name, table)
    # and the real install keeps its key where the fixture does: in SQLite, in no JSON file
    con = sqlite3.connect(f"{(state_dir / 'state/openclaw.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        (store,) = con.execute(
            "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.store'"
        ).fetchone()
        (shared,) = con.execute(
            "SELECT value_json FROM config_machine_state WHERE state_key = 'auth.sharedStore'"
        ).fetchone()
    finally:
        con.close()
    assert API_KEY in store and json.loads(shared) == {"location": "state-db"}
    for path in state_dir.rglob("*"):
        if path.is_file() and not path.is_symlink() and ".sqlite" not in path.name:
            assert API_KEY.encode() not in path.read_bytes(), path
    config = json.loads((state_dir / "openclaw.json").read_text())
    assert set(config["agents"]["entries"]["work"]) >= {"name", "workspace", "agentDir"}


def test_2026_9_modes(small26: FixtureInfo) -> None:
    root = small26.root
    modes = {
        "": 0o700,
        "openclaw.json": 0o600,
        "openclaw.json.bak": 0o600,
        "config-journal-fingerprint.key": 0o600,
        "state": 0o700,
        "state/openclaw.sqlite": 0o600,
        "agents": 0o755,
        "agents/main/agent": 0o700,
        "agents/main/agent/openclaw-agent.sqlite": 0o600,
        "agents/main/agent/openclaw-agent.sqlite.generation-lock.sqlite": 0o644,
        "agents/main/sessions": 0o755,
        "cache": 0o700,
        "tmp/openclaw-1000": 0o700,
        "tmp/openclaw-1000/gateway.state.lock": 0o600,
        "tmp/openclaw-1000/gateway.state.lock.sqlite": 0o644,
        "tmp/agent-cli/openclaw": 0o700,
        "workspace": 0o755,
        "workspace/AGENTS.md": 0o644,
        "workspace/.git/hooks/pre-commit.sample": 0o755,
        "npm": 0o755,
    }
    for rel, mode in modes.items():
        assert stat.S_IMODE((root / rel).stat().st_mode) == mode, rel


def test_2026_9_symlinks(small26: FixtureInfo) -> None:
    root, outside = small26.root, small26.outside
    links = [p for p in root.rglob("*") if p.is_symlink()]
    assert links
    for link in links:
        target = os.readlink(link)
        assert os.path.isabs(target) and Path(target).is_relative_to(outside), link
        assert link.exists(), link  # they resolve, into the global OpenClaw install
    assert (root / "plugin-skills/canvas/SKILL.md").is_file()
    plugin = "npm/projects/openclaw-deepseek-provider-2481ed984b/node_modules/@openclaw"
    assert (root / plugin / "deepseek-provider/node_modules/openclaw").is_symlink()


def test_2026_9_mutate(tmp_path: Path) -> None:
    info = generate(tmp_path / ".openclaw", seed=5, scale=SMALL26, layout="2026.9")
    root = info.root
    before = manifest(root)
    change = mutate(root, seed=2)
    after = manifest(root)

    assert {"openclaw.json", "openclaw.json.bak"} <= set(change.modified)
    assert [rel for rel in change.added if rel.startswith("openclaw.json.bak.")]
    assert any(rel.startswith("workspace/memory/") for rel in change.added)
    assert any(rel.startswith("media/inbound/") for rel in change.added)
    for rel in info.sqlite[:2]:
        assert f"{rel}-wal" in change.appended and f"{rel}-shm" in change.modified
        assert after[rel] == before[rel]  # the gateway runs on: no checkpoint
    for rel in change.appended:  # the -wal grew at its end
        assert after[rel][1] > before[rel][1] and after[rel][3] > before[rel][3]
        data = (root / rel).read_bytes()
        assert hashlib.sha256(data[: before[rel][1]]).hexdigest() == before[rel][2]
    for rel in change.added:
        assert rel not in before and after[rel][0] == "file"
    for rel in change.modified:
        assert after[rel][2] != before[rel][2] and after[rel][3] > before[rel][3]
    changed = set(change.changed)
    for rel, entry in before.items():
        if rel not in changed and entry[0] != "dir":
            assert after[rel] == entry, rel
    assert set(after) - set(before) == set(change.added)
    assert stat.S_IMODE((root / "openclaw.json.bak").stat().st_mode) == 0o600

    config = json.loads((root / "openclaw.json").read_text())
    assert config != json.loads((root / "openclaw.json.bak").read_text())
    (token,) = change.secrets
    state = root / "state/openclaw.sqlite"
    assert token in state_value(state, tmp_path / "s", "authProfiles.store")
    assert token not in state_value(state, tmp_path / "m", "authProfiles.store", with_wal=False)
    counts = []
    for i, db in enumerate((root / info.sqlite[1], None)):
        if db is None:
            break
        con = sql_copy(db, tmp_path / f"a{i}")
        try:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            counts.append(con.execute("SELECT count(*) FROM session_windows").fetchone()[0])
        finally:
            con.close()
    assert counts[0] > 2


def test_2026_9_mutate_is_deterministic(tmp_path: Path) -> None:
    home = tmp_path / "home"
    a = generate(home / ".openclaw", seed=4, scale=SMALL26, layout="2026.9")
    ca = mutate(a.root, seed=9)
    ma = manifest(a.root, a.outside)
    home.rename(tmp_path / "first")
    b = generate(home / ".openclaw", seed=4, scale=SMALL26, layout="2026.9")
    cb = mutate(b.root, seed=9, layout="2026.9")
    assert ca == cb
    assert manifest(b.root, b.outside) == ma
    again = mutate(b.root, seed=9)
    assert again.mtime > ca.mtime and again.secrets != ca.secrets


def test_2026_9_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "cli-state"
    assert main([str(root), "--seed", "3", "--scale", "0.01", "--layout", "2026.9"]) == 0
    out = capsys.readouterr().out
    assert "layout='2026.9'" in out and str(root) in out
    assert (root / "state/openclaw.sqlite").is_file()


def test_layout_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path / "x", scale=SMALL, layout="2027.1")
    assert detect_layout(tmp_path) == "legacy"
