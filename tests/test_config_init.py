"""``snapkit config init`` writes a file that means what no file means (issue 11, item 11).

It used to write every OpenClaw default exclusion as a top-level key, and top-level keys apply
to every source: a plain directory then silently lost its ``logs/``, ``tmp/``, ``media/`` and
``*.log``, and an OpenClaw workspace outside the state dir lost its own ``logs/``. The defaults
now go under ``"openclaw"``, which applies to OpenClaw sources only. Also (item 13) the parent
directories ``config init`` creates are ``0700`` whatever the umask.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CliResult, cli_env, invoke_main, make_tree

from snapkit.format.errors import UsageError
from snapkit.select.config import (
    DEFAULT_CONFIG,
    STATE_DIR_EXCLUDES,
    defaults_document,
    exclusion_keys,
    load_config,
)

# ------------------------------------------------------------------------------- the CLI


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """A plain directory, an OpenClaw state dir with a workspace outside it, and a directory
    that is an OpenClaw root by its openclaw.json; each holds what some rule drops."""
    dropped_somewhere = {
        "logs/a.txt": b"a", "tmp/b.txt": b"b", "media/c.jpg": b"c", "browser/d": b"d",
        "x.log": b"x", "y.tmp": b"y", "node_modules/m/i.js": b"m", ".DS_Store": b"s",
        "notes/logs/keep.md": b"k", "s.jsonl.lock": b"l", "Cargo.lock": b"c", "db.sqlite-wal": b"w",
        "keep.txt": b"keep",
    }
    plain = make_tree(tmp_path / "plain", dropped_somewhere)
    state = make_tree(tmp_path / "state", {"openclaw.json": b"{}\n", **dropped_somewhere})
    workspace = make_tree(tmp_path / "ws", {"AGENTS.md": b"# a\n", **dropped_somewhere})
    other_root = make_tree(tmp_path / "other", {"openclaw.json": b"{}\n", **dropped_somewhere})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"),
                  OPENCLAW_STATE_DIR=str(state), OPENCLAW_WORKSPACE_DIR=str(workspace))
    return {"env": env, "plain": plain, "other": other_root,
            "config": tmp_path / "xdg-config" / "snapkit" / "config.json"}


def selection(env: dict[str, str], *args: str) -> tuple[list[str], list[str]]:
    out = invoke_main(["snap", "--dry-run", "--list", "--json", *args], env)
    assert out.code == 0, out.stderr
    doc = out.json_lines()[-1]
    return doc["paths"], sorted(s["path"] for s in doc["sources"])


RUNS: list[tuple[str, ...]] = [
    (),  # the discovered installation: the state dir and the workspace outside it
    ("--mode", "config-only"),
    ("{plain}",),
    ("{other}",),
    ("{plain}", "{other}"),
]


def test_config_init_keeps_the_selection_of_every_kind_of_source(world: dict[str, Any]) -> None:
    env = world["env"]
    runs = [tuple(a.format(**world) for a in args) for args in RUNS]
    before = {args: selection(env, *args) for args in runs}
    assert len(before[()][1]) == 2  # state dir and workspace
    plain_paths = before[(str(world["plain"]),)][0]
    assert str(world["plain"] / "logs" / "a.txt") in plain_paths  # nothing dropped there
    assert str(world["plain"] / "x.log") in plain_paths
    out = invoke_main(["config", "init"], env)
    assert out.code == 0, out.stderr
    assert world["config"].exists()
    after = {args: selection(env, *args) for args in runs}
    for args in runs:
        assert after[args] == before[args], args


def test_config_show_says_where_each_exclusion_applies(world: dict[str, Any]) -> None:
    env = world["env"]
    assert invoke_main(["config", "init"], env).code == 0
    out = invoke_main(["config", "show"], env)
    assert out.code == 0, out.stderr
    assert "# openclaw: from " + str(world["config"]) in out.text
    assert "# exclude: from default; applies to: nothing (OpenClaw sources use " \
           '"openclaw.exclude", other directories get no exclude)' in out.text
    doc = invoke_main(["config", "show", "--json"], env).json()
    assert doc["config"]["openclaw"]["exclude"] == list(DEFAULT_CONFIG.exclude)
    assert doc["origins"]["openclaw.exclude"] == str(world["config"])


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_config_init_creates_missing_parents_0700(tmp_path: Path, umask_000: None) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    env = {k: v for k, v in cli_env(tmp_path, HOME=str(home)).items() if k != "XDG_CONFIG_HOME"}
    out = invoke_main(["config", "init"], env, isolate=("XDG_CONFIG_HOME",))
    assert out.code == 0, out.stderr
    path = home / ".config" / "snapkit" / "config.json"
    assert path.exists()
    for made in (home / ".config", home / ".config" / "snapkit"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # an existing parent is left alone


# ------------------------------------------------------------------------------- the file


def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def load(tmp_path: Path, doc: Any) -> Any:
    return load_config(write(tmp_path, doc), env={"HOME": str(tmp_path)}).config


def test_the_written_file_puts_the_exclusion_defaults_under_openclaw() -> None:
    doc = defaults_document()
    for key in ("excluded_extensions", "excluded_folders", "excluded_files", "exclude"):
        assert key not in doc
        assert doc["openclaw"][key] == list(getattr(DEFAULT_CONFIG, key))
    assert doc["max_file_size"] is None  # the same for every source


def test_openclaw_keys_apply_to_openclaw_sources_only(tmp_path: Path) -> None:
    config = load(tmp_path, {"openclaw": {"exclude": ["/only-openclaw/"]}})
    assert exclusion_keys(config, openclaw=True)["exclude"] == ("/only-openclaw/",)
    assert exclusion_keys(config, openclaw=True)["excluded_folders"] == (
        DEFAULT_CONFIG.excluded_folders)
    assert exclusion_keys(config, openclaw=False)["exclude"] == ()


def test_openclaw_keys_win_over_top_level_keys_for_openclaw_sources(tmp_path: Path) -> None:
    config = load(tmp_path, {"exclude": ["*.iso"],
                             "openclaw": {"exclude": ["/logs/", "*.iso", "*.bak-*"]}})
    assert exclusion_keys(config, openclaw=True)["exclude"] == ("/logs/", "*.iso", "*.bak-*")
    assert exclusion_keys(config, openclaw=False)["exclude"] == ("*.iso",)
    # At a workspace root the state-dir layout is dropped from the openclaw list, as from the
    # built-in one.
    assert exclusion_keys(config, openclaw=True, workspace=True)["exclude"] == (
        "*.iso", "*.bak-*")
    top_only = load(tmp_path, {"exclude": ["*.iso"]})
    assert exclusion_keys(top_only, openclaw=True)["exclude"] == ("*.iso",)  # as before
    assert not set(STATE_DIR_EXCLUDES) & set(
        exclusion_keys(load(tmp_path, defaults_document()), True, workspace=True)["exclude"])


@pytest.mark.parametrize(("doc", "needle"), [
    ({"openclaw": []}, '"openclaw" must be an object'),
    ({"openclaw": {"exclude_folders": []}}, 'unknown key "openclaw.exclude_folders" (did you '
                                            'mean "openclaw.excluded_folders"?)'),
    ({"openclaw": {"max_file_size": 1}}, 'unknown key "openclaw.max_file_size"'),
    ({"openclaw": {"excluded_folders": ["a/b"]}}, '"openclaw.excluded_folders[0]" must be a '
                                                  "plain name"),
    ({"openclaw": {"exclude": [3]}}, '"openclaw.exclude[0]" must be a non-empty string'),
])
def test_openclaw_object_is_validated(tmp_path: Path, doc: Any, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        load(tmp_path, doc)
    assert needle in info.value.message


def run_ok(args: list[str], env: dict[str, str]) -> CliResult:
    out = invoke_main(args, env)
    assert out.code == 0, out.stderr
    return out
