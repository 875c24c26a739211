"""``snapkit init`` interrupted (issue 15): the key is derived (scrypt, tuned: the slow part)
before anything is made, the key file and then the config (the commit point) are written last,
and Ctrl-C / SIGTERM removes what was made; the message says no repository was created. A
folder holding only the empty layout (as a kill at the wrong moment, or an older snapkit,
leaves) is vacant: ``init`` uses it, ``snap`` follows the default encryption of its place.
Real ``python -m snapkit`` processes, killed at several moments of a real key derivation.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT, cli_env, invoke_main, make_tree

from snapkit.store.repository import Repository

PASSWORD = "interrupted-init passphrase"
LAYOUT = ("index", "keys", "locks", "packs", "snapshots")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path)
    env.pop("SNAPKIT_PASSWORD", None)
    return env


def in_process_env(env: dict[str, str]) -> dict[str, str]:
    return {k: env[k] for k in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    out = invoke_main(args, in_process_env(env) | {k: v for k, v in env.items()
                                                    if k.startswith("SNAPKIT_")},
                      isolate=("SNAPKIT_PASSWORD_FILE", "SNAPKIT_PASSWORD"))
    return out.code, out.stderr


def start_init(repo: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "snapkit", "init", "--repo", str(repo)],
                            env={**env, "SNAPKIT_PASSWORD": PASSWORD}, cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def vacant_or_whole(repo: Path) -> str:
    """``"none"`` when nothing is there, ``"layout"`` for the empty layout only, ``"whole"``
    for a repository that opens with the passphrase (``"key file only"``: without its config,
    through the key file); anything else fails the test."""
    if not repo.exists():
        return "none"
    names = sorted(p.name for p in repo.iterdir())
    if "config" not in names:
        assert set(names) <= set(LAYOUT), names
        if (repo / "keys").is_dir() and any((repo / "keys").iterdir()):
            # killed between the key file and the config (a few ms): opens as encrypted
            assert Repository.open(repo, lambda: PASSWORD.encode()).cipher.encrypted
            return "key file only"
        assert not any(any((repo / n).iterdir()) for n in names), names
        return "layout"
    opened = Repository.open(repo, lambda: PASSWORD.encode())
    assert opened.cipher.encrypted and opened.config_damaged is None
    return "whole"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_init_killed_at_any_moment_leaves_nothing_or_a_whole_repository(
        tmp_path: Path, elsewhere: Path, env: dict[str, str], sig: signal.Signals) -> None:
    seen: dict[str, int] = {}
    for i, delay in enumerate((0.35, 0.8, 1.4)):
        repo = elsewhere / f"repo{i}"
        proc = start_init(repo, env)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        state = vacant_or_whole(repo)
        seen[state] = seen.get(state, 0) + 1
        if proc.returncode == 0:
            assert state == "whole", err
            continue
        if state in ("whole", "key file only"):  # the signal came after the key file
            assert "no repository was created" not in err, err
            continue
        if sig != signal.SIGKILL:
            assert proc.returncode in (130, -sig), err  # (-sig: before python's handlers)
            if "interrupted" in err:  # (a signal before the handlers are set: python's own)
                assert "no repository was created" in err and "still valid" not in err, err
                assert state == "none", err
        # what was left is no repository: `snap` refuses (encrypted by default here) naming
        # `init`, and `init` makes one there
        code, err = invoke(["snap", "--repo", str(repo), str(tmp_path)], env)
        assert code == 10 and "snapkit init --repo" in err and "encrypted by default" in err, err
        assert not repo.exists() or vacant_or_whole(repo) != "whole"
        if seen[state] == 1:  # (once per state: init tunes scrypt, a second)
            code, err = invoke(["init", "--repo", str(repo)],
                               {**env, "SNAPKIT_PASSWORD": PASSWORD})
            assert code == 0, err
            assert vacant_or_whole(repo) == "whole"
    assert seen.get("none", 0) >= 1, seen  # the first signal lands in the key derivation


def test_the_empty_layout_is_vacant_and_key_files_without_a_config_are_encrypted(
        tmp_path: Path, elsewhere: Path, env: dict[str, str]) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"secret content\n"})
    repo = elsewhere / "repo"
    for name in LAYOUT:  # what an init killed between its folders and its files leaves
        (repo / name).mkdir(parents=True)
    code, err = invoke(["snap", "--repo", str(repo), str(src)], env)
    assert code == 10 and "`snapkit init --repo" in err and "config damaged" not in err, err
    assert sorted(p.name for p in repo.iterdir()) == sorted(LAYOUT)  # nothing written
    code, err = invoke(["init", "--repo", str(repo)], {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert code == 0, err
    assert Repository.open(repo, lambda: PASSWORD.encode()).cipher.encrypted
    # a key file and no config (killed between the two): encrypted, opened through the key
    (repo / "config").unlink()
    code, err = invoke(["init", "--repo", str(repo)], {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert code == 2 and err.count("\n") == 1, err  # its own leftover: repair, not remove
    assert "holds a repository whose config is missing" in err and "repair config" in err, err
    code, err = invoke(["snap", "--repo", str(repo), str(src)], env)
    assert code == 12 and "encrypted" in err, err
    code, err = invoke(["snap", "--repo", str(repo), str(src)],
                       {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert code == 0 and "version-1 defaults" not in err and "`snapkit repair config`" in err
    for path in repo.rglob("*"):
        assert not path.is_file() or b"secret content" not in path.read_bytes(), path


def test_the_empty_layout_on_the_home_filesystem_becomes_a_plain_repository(
        tmp_path: Path, env: dict[str, str]) -> None:
    """Where the default is not to encrypt, the first ``snap`` creates the repository in the
    empty layout as it would in an empty folder (no "config damaged" warning)."""
    src = make_tree(tmp_path / "src", {"a.txt": b"x\n"})
    repo = tmp_path / "home" / "repo"
    for name in LAYOUT:
        (repo / name).mkdir(parents=True)
    code, err = invoke(["snap", "--repo", str(repo), str(src)], env)
    assert code == 0 and "damaged" not in err, err
    assert (repo / "config").is_file()


def test_init_into_an_existing_empty_folder_killed_leaves_the_folder_empty(
        tmp_path: Path, elsewhere: Path, env: dict[str, str]) -> None:
    repo = elsewhere / "mount-point"
    repo.mkdir()
    proc = start_init(repo, env)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("init finished before the signal (a fast machine)")
    assert repo.is_dir() and not any(repo.iterdir()), sorted(repo.iterdir())
