"""Tests for snapkit.select.config: lookup, merge, origins, validation messages, writing
defaults."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from snapkit.format.errors import EXIT_USAGE, UsageError
from snapkit.select import config as cfgmod
from snapkit.select.config import (
    CONFIG_ONLY_PATTERNS,
    DEFAULT_CONFIG,
    DEFAULT_PROCESS_PATTERN,
    STATE_DIR_EXCLUDES,
    Retention,
    config_document,
    config_search_path,
    default_config_path,
    defaults_document,
    exclusion_keys,
    load_config,
    write_default_config,
)
from snapkit.select.config import lookup as cfg_lookup
from snapkit.select.sizes import parse_size


def write(tmp_path: Path, content: Any, name: str = "config.json") -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), **extra}


def load_error(tmp_path: Path, content: Any) -> str:
    path = write(tmp_path, content)
    with pytest.raises(UsageError) as info:
        load_config(path, env=env_for(tmp_path))
    assert info.value.exit_code == EXIT_USAGE == 2
    message = info.value.message
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


# ------------------------------------------------------------------------------- lookup


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    loaded = load_config(None, env=env_for(tmp_path))
    assert loaded.config == DEFAULT_CONFIG
    assert loaded.path is None
    assert set(loaded.origins.values()) == {"default"}
    assert loaded.origins["exclude"] == "default"
    assert loaded.config.user_keys == frozenset()


def test_default_path_uses_home_dot_config(tmp_path: Path) -> None:
    path = default_config_path(env_for(tmp_path))
    assert path == tmp_path / "home" / ".config" / "snapkit" / "config.json"


def test_default_path_uses_xdg_config_home(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    assert default_config_path(env_for(tmp_path, XDG_CONFIG_HOME=str(xdg))) == (
        xdg / "snapkit" / "config.json"
    )
    # A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    rel = default_config_path(env_for(tmp_path, XDG_CONFIG_HOME="relative/dir"))
    assert rel == tmp_path / "home" / ".config" / "snapkit" / "config.json"


def test_default_path_on_windows_uses_appdata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cfg_lookup, "_IS_WINDOWS", True)
    appdata = tmp_path / "AppData" / "Roaming"
    got = default_config_path({"USERPROFILE": str(tmp_path), "APPDATA": str(appdata)})
    assert got == appdata / "snapkit" / "config.json"


def test_default_file_is_read_when_present(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    path = default_config_path(env)
    path.parent.mkdir(parents=True)
    path.write_text('{"symlinks": "skip"}')
    loaded = load_config(None, env=env)
    assert loaded.path == path
    assert loaded.config.symlinks == "skip"


def test_lookup_order_flag_then_env_then_default(tmp_path: Path) -> None:
    flag = write(tmp_path, {"sqlite": "raw"}, "flag.json")
    from_env = write(tmp_path, {"sqlite": "skip"}, "env.json")
    env = env_for(tmp_path, SNAPKIT_CONFIG=str(from_env))
    default = default_config_path(env)
    default.parent.mkdir(parents=True)
    default.write_text('{"sqlite": "backup-api", "symlinks": "skip"}')

    assert load_config(flag, env=env).config.sqlite == "raw"
    assert load_config(None, env=env).config.sqlite == "skip"
    del env["SNAPKIT_CONFIG"]
    assert load_config(None, env=env).config.symlinks == "skip"

    env["SNAPKIT_CONFIG"] = str(from_env)
    assert config_search_path(str(flag), env) == [
        ("--config", flag),
        ("$SNAPKIT_CONFIG", from_env),
        ("default", default),
    ]
    del env["SNAPKIT_CONFIG"]
    assert config_search_path(None, env) == [("default", default)]


def test_snapkit_config_expands_tilde(tmp_path: Path) -> None:
    env = env_for(tmp_path, SNAPKIT_CONFIG="~/my.json")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "my.json").write_text('{"sqlite": "raw"}')
    assert config_search_path(None, env)[0] == ("$SNAPKIT_CONFIG", tmp_path / "home" / "my.json")
    assert load_config(None, env=env).config.sqlite == "raw"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(UsageError) as info:
        load_config(missing, env=env_for(tmp_path))
    assert info.value.exit_code == 2
    assert str(missing) in info.value.message
    assert "--config" in info.value.message
    assert "not found" in info.value.message


def test_env_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(UsageError) as info:
        load_config(None, env=env_for(tmp_path, SNAPKIT_CONFIG=str(missing)))
    assert "SNAPKIT_CONFIG" in info.value.message
    assert str(missing) in info.value.message


def test_empty_env_var_counts_as_unset(tmp_path: Path) -> None:
    loaded = load_config(None, env=env_for(tmp_path, SNAPKIT_CONFIG="  "))
    assert loaded.path is None


# ------------------------------------------------------------------------------- merge


def test_file_overrides_key_by_key(tmp_path: Path) -> None:
    path = write(tmp_path, {"excluded_folders": ["build"], "symlinks": "skip"})
    loaded = load_config(path, env=env_for(tmp_path))
    config = loaded.config
    assert config.excluded_folders == ("build",)  # a list replaces the default list
    assert config.symlinks == "skip"
    assert config.exclude == DEFAULT_CONFIG.exclude
    assert config.excluded_extensions == DEFAULT_CONFIG.excluded_extensions
    assert config.user_keys == frozenset({"excluded_folders", "symlinks"})
    assert loaded.origins["excluded_folders"] == str(path)
    assert loaded.origins["symlinks"] == str(path)
    assert loaded.origins["exclude"] == "default"


def test_service_merges_per_sub_key(tmp_path: Path) -> None:
    path = write(tmp_path, {"service": {"policy": "never", "stop_timeout": 5}})
    loaded = load_config(path, env=env_for(tmp_path))
    service = loaded.config.service
    assert service.policy == "never"
    assert service.stop_timeout == 5.0
    assert service.stop_command == ("openclaw", "gateway", "stop", "--force")
    assert service.start_command == ("openclaw", "gateway", "start")
    assert service.status_command == ("openclaw", "gateway", "status", "--json")
    assert service.start_timeout == 60.0
    assert service.user_keys == frozenset({"policy", "stop_timeout"})
    assert service.process_pattern == DEFAULT_PROCESS_PATTERN
    assert loaded.origins["service"] == str(path)
    assert loaded.origins["service.policy"] == str(path)
    assert loaded.origins["service.stop_command"] == "default"


def test_modes_merge_per_mode(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"modes": {"lite": {"include": ["/openclaw.json", "/workspace/*.md"]}}},
    )
    loaded = load_config(path, env=env_for(tmp_path))
    modes = loaded.config.modes
    assert modes["lite"] == ("/openclaw.json", "/workspace/*.md")
    assert modes["config-only"] == CONFIG_ONLY_PATTERNS
    assert modes["full"] is None
    assert loaded.origins["modes.lite"] == str(path)
    assert loaded.origins["modes.full"] == "default"


def test_mode_can_be_redefined(tmp_path: Path) -> None:
    path = write(tmp_path, {"modes": {"config-only": {"include": ["/openclaw.json"]}}})
    config = load_config(path, env=env_for(tmp_path)).config
    assert config.modes["config-only"] == ("/openclaw.json",)
    assert config.modes["full"] is None


def test_compression_merges_per_sub_key(tmp_path: Path) -> None:
    path = write(tmp_path, {"compression": {"zstd_level": 19}})
    loaded = load_config(path, env=env_for(tmp_path))
    assert loaded.config.zstd_level == 19
    assert loaded.config.gzip_level == 6
    assert loaded.origins["compression.zstd_level"] == str(path)
    assert loaded.origins["compression.gzip_level"] == "default"


def test_max_file_size_forms(tmp_path: Path) -> None:
    def size(value: Any) -> int | None:
        path = write(tmp_path, {"max_file_size": value})
        return load_config(path, env=env_for(tmp_path)).config.max_file_size

    assert size("500M") == parse_size("500M") == 500 * 1024 * 1024
    assert size(1024) == 1024
    assert size(None) is None


def test_extensions_accept_a_leading_dot(tmp_path: Path) -> None:
    path = write(tmp_path, {"excluded_extensions": [".log", "tmp"]})
    assert load_config(path, env=env_for(tmp_path)).config.excluded_extensions == ("log", "tmp")


def test_sources_expand_tilde(tmp_path: Path) -> None:
    path = write(tmp_path, {"sources": ["~/projects/bot", str(tmp_path / "abs")]})
    config = load_config(path, env=env_for(tmp_path)).config
    assert config.sources == (
        str(tmp_path / "home" / "projects" / "bot"),
        str(tmp_path / "abs"),
    )


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'\xef\xbb\xbf{"sqlite": "raw"}')
    assert load_config(path, env=env_for(tmp_path)).config.sqlite == "raw"


# ------------------------------------------------------------------------------- errors


def test_invalid_json_names_file_line_and_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, '{\n  "symlinks": "skip",\n  "sqlite": raw\n}\n')
    assert re.match(re.escape(str(tmp_path / "config.json")) + r":3:13: invalid JSON: ", message)
    assert "Expecting value" in message


def test_trailing_comma_hint(tmp_path: Path) -> None:
    message = load_error(tmp_path, '{"symlinks": "skip",}')
    assert ":1:" in message
    assert "no trailing commas" in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"exclude_folders": []},
            'unknown key "exclude_folders" (did you mean "excluded_folders"?)',
        ),
        ({"symlink": "skip"}, 'unknown key "symlink" (did you mean "symlinks"?)'),
        (
            {"service": {"stop_comand": ["x"]}},
            'unknown key "service.stop_comand" (did you mean "service.stop_command"?)',
        ),
        (
            {"compression": {"zstd": 3}},
            'unknown key "compression.zstd" (did you mean "compression.zstd_level"?)',
        ),
        (
            {"modes": {"lite": {"includes": []}}},
            'unknown key "modes.lite.includes" (did you mean "modes.lite.include"?)',
        ),
        ({"frobnicate": 1}, 'unknown key "frobnicate" (valid keys: excluded_extensions, '),
    ],
)
def test_unknown_keys(tmp_path: Path, document: dict[str, Any], expected: str) -> None:
    assert expected in load_error(tmp_path, document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"excluded_extensions": "log"}, '"excluded_extensions" must be a list of extensions'),
        ({"excluded_folders": [1]}, '"excluded_folders[0]" must be a non-empty string'),
        ({"excluded_folders": ["a/b"]}, '"excluded_folders[0]" must be a plain name, not a path'),
        ({"excluded_files": [""]}, '"excluded_files[0]" must be a non-empty string'),
        ({"exclude": "*.log"}, '"exclude" must be a list of gitignore-style patterns, not "*.log"'),
        ({"exclude": ["ok", None]}, '"exclude[1]" must be a non-empty string (gitignore-style'),
        (
            {"max_file_size": "lots"},
            '"max_file_size" must be an integer number of bytes, a size like "500M", or null',
        ),
        ({"max_file_size": True}, '"max_file_size" must be an integer number of bytes'),
        ({"max_file_size": 1.5}, '"max_file_size" must be an integer number of bytes'),
        ({"max_file_size": 0}, '"max_file_size" must be greater than 0'),
        ({"symlinks": "follow"}, '"symlinks" must be one of "skip", "record", not "follow"'),
        ({"sqlite": 1}, '"sqlite" must be one of "backup-api", "raw", "skip"'),
        ({"modes": []}, '"modes" must be an object, not a list'),
        ({"modes": {"lite": ["/x"]}}, '"modes.lite" must be an object'),
        ({"modes": {"lite": {}}}, '"modes.lite" needs an "include" list'),
        ({"modes": {"lite": {"include": "/x"}}}, '"modes.lite.include" must be a list of'),
        ({"modes": {"lite": {"include": [3]}}}, '"modes.lite.include[0]" must be a non-empty'),
        ({"modes": {"bad name": {"include": None}}}, 'mode name "bad name" must be letters'),
        ({"sources": ["relative/dir"]}, '"sources[0]" must be an absolute path or start with "~"'),
        (
            {"service": {"policy": "sometimes"}},
            '"service.policy" must be one of "auto", "always", "never", not "sometimes"',
        ),
        ({"service": {"stop_command": "openclaw gateway stop"}}, '"service.stop_command" must be'),
        ({"service": {"start_command": []}}, '"service.start_command" must be a non-empty list'),
        ({"service": {"status_command": ["openclaw", 1]}}, '"service.status_command[1]" must be'),
        ({"service": {"process_pattern": "("}}, '"service.process_pattern" is not a valid regular'),
        ({"service": {"stop_timeout": "30"}}, '"service.stop_timeout" must be a number of seconds'),
        ({"service": {"stop_timeout": 0}}, '"service.stop_timeout" must be a number of seconds'),
        ({"service": "never"}, '"service" must be an object, not "never"'),
        ({"compression": {"zstd_level": 20}}, '"compression.zstd_level" must be an integer from 1'),
        ({"compression": {"gzip_level": -1}}, '"compression.gzip_level" must be an integer from 0'),
        ({"compression": {"gzip_level": 6.0}}, '"compression.gzip_level" must be an integer'),
    ],
)
def test_wrong_types(tmp_path: Path, document: dict[str, Any], expected: str) -> None:
    assert expected in load_error(tmp_path, document)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "the top level must be a JSON object"),
        ('"exclude"', 'not "exclude"'),
        ("null", "not null"),
        ('{"symlinks": "skip", "symlinks": "record"}', 'key "symlinks" appears twice'),
        ('{"service": {"stop_timeout": NaN}}', "NaN is not a JSON number"),
    ],
)
def test_bad_documents(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in load_error(tmp_path, text)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"exclude": ["caf\xe9"]}')
    with pytest.raises(UsageError) as info:
        load_config(path, env=env_for(tmp_path))
    assert "not UTF-8" in info.value.message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_config(tmp_path, env=env_for(tmp_path))
    assert "is a directory" in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="needs POSIX permissions and a non-root user",
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, {})
    path.chmod(0)
    try:
        with pytest.raises(UsageError) as info:
            load_config(path, env=env_for(tmp_path))
    finally:
        path.chmod(0o600)
    assert "cannot read config file" in info.value.message
    assert "permission" in info.value.message.lower()


def test_unreadable_file_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, {})

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(UsageError) as info:
        load_config(path, env=env_for(tmp_path))
    assert info.value.message == (
        f"{path}: cannot read config file: Permission denied; check its permissions"
    )


# ------------------------------------------------------------------------------- defaults


def test_defaults_keep_what_users_need() -> None:
    config = DEFAULT_CONFIG
    # Generic words never become folder names (which match at any depth).
    for generic in ("logs", "tmp", "media", "browser", "delivery-queue", "skills-backup"):
        assert generic not in config.excluded_folders
        assert f"/{generic}/" in config.exclude
    # A workspace's history and the agents' auth profiles are kept.
    assert ".git" not in config.excluded_folders
    assert "agents" not in config.excluded_folders
    assert "extensions" not in config.excluded_folders
    assert "json" not in config.excluded_extensions
    assert "jsonl" not in config.excluded_extensions
    assert "sqlite" not in config.excluded_extensions
    for name in ("node_modules", "__pycache__", ".venv", "venv"):
        assert name in config.excluded_folders
    for pattern in ("*.sqlite-wal", "*.sqlite-shm", "*.sqlite-journal", "*.jsonl.bak-*"):
        assert pattern in config.exclude
    assert not any(p in ("*-wal", "*-shm") for p in config.exclude)
    assert "lock" in config.excluded_extensions and "!Cargo.lock" in config.exclude
    assert config.modes["config-only"] == CONFIG_ONLY_PATTERNS
    assert "/agents/*/agent/auth-profiles.json" in CONFIG_ONLY_PATTERNS
    assert config.modes["full"] is None
    assert config.symlinks == "skip"
    assert config.sqlite == "backup-api"
    assert config.max_file_size is None


def test_defaults_document_round_trips(tmp_path: Path) -> None:
    document = defaults_document()
    # The exclusion defaults are OpenClaw's: they are written under "openclaw", not as top-level
    # keys, which apply to every source (issue 11, item 11).
    assert set(document) == set(cfgmod.TOP_LEVEL_KEYS) - set(cfgmod.EXCLUSION_LISTS)
    text = json.dumps(document)
    loaded = load_config(write(tmp_path, text), env=env_for(tmp_path))
    assert replace(loaded.config, user_keys=frozenset()) == DEFAULT_CONFIG
    shown = config_document(loaded.config)
    assert {key: shown[key] for key in document} == document


@pytest.mark.parametrize(
    "cmdline",
    [
        "node /opt/homebrew/lib/node_modules/openclaw/dist/index.js gateway --port 18789",
        "/usr/bin/node /home/u/openclaw/dist/index.js gateway",
        r"C:\nodejs\node.exe C:\Users\u\npm\node_modules\openclaw\dist\index.js gateway --port 1",
        "openclaw gateway",
        "openclaw gateway run",
        "openclaw gateway --force",
        "/usr/local/bin/openclaw --profile work gateway --port 19001",
        "node openclaw.mjs gateway",
        "openclaw-gateway",
    ],
)
def test_default_process_pattern_matches_gateways(cmdline: str) -> None:
    assert re.search(DEFAULT_PROCESS_PATTERN, cmdline)


@pytest.mark.parametrize(
    "cmdline",
    [
        "openclaw gateway stop",
        "openclaw gateway start",
        "openclaw gateway status --json",
        "openclaw gateway restart",
        "tail -f /home/u/.openclaw/logs/gateway.err.log",
        "openclaw agent --message gateway",
        "python -m snapkit snap",
    ],
)
def test_default_process_pattern_ignores_others(cmdline: str) -> None:
    assert not re.search(DEFAULT_PROCESS_PATTERN, cmdline)


# ------------------------------------------------------------------- where defaults apply


def test_exclusion_keys_for_openclaw_sources_are_the_effective_config(tmp_path: Path) -> None:
    path = write(tmp_path, {"excluded_folders": ["build"], "max_file_size": "1G"})
    config = load_config(path, env=env_for(tmp_path)).config
    keys = exclusion_keys(config, openclaw=True)
    assert keys == {
        "excluded_extensions": DEFAULT_CONFIG.excluded_extensions,
        "excluded_folders": ("build",),
        "excluded_files": DEFAULT_CONFIG.excluded_files,
        "exclude": DEFAULT_CONFIG.exclude,
        "max_file_size": parse_size("1G"),
    }


def test_exclusion_keys_for_other_dirs_are_only_what_the_user_wrote(tmp_path: Path) -> None:
    assert exclusion_keys(DEFAULT_CONFIG, openclaw=False) == {
        "excluded_extensions": (),
        "excluded_folders": (),
        "excluded_files": (),
        "exclude": (),
        "max_file_size": None,
    }
    path = write(tmp_path, {"excluded_folders": ["build"], "max_file_size": 10})
    config = load_config(path, env=env_for(tmp_path)).config
    assert exclusion_keys(config, openclaw=False) == {
        "excluded_extensions": (),
        "excluded_folders": ("build",),
        "excluded_files": (),
        "exclude": (),
        "max_file_size": 10,
    }


def test_exclusion_keys_for_a_workspace_root_drop_state_dir_layout(tmp_path: Path) -> None:
    keys = exclusion_keys(DEFAULT_CONFIG, openclaw=True, workspace=True)
    assert not set(STATE_DIR_EXCLUDES) & set(keys["exclude"])
    assert "*.sqlite-wal" in keys["exclude"]
    assert keys["excluded_folders"] == DEFAULT_CONFIG.excluded_folders
    # The user's own exclude list applies as written.
    path = write(tmp_path, {"exclude": ["/logs/"]})
    config = load_config(path, env=env_for(tmp_path)).config
    assert exclusion_keys(config, openclaw=True, workspace=True)["exclude"] == ("/logs/",)


# ------------------------------------------------------------------------------- writing


def test_write_default_config_creates_parents_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "config.json"
    write_default_config(path, force=False)
    assert json.loads(path.read_text()) == defaults_document()
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temp file left
    loaded = load_config(path, env=env_for(tmp_path))
    assert replace(loaded.config, user_keys=frozenset()) == DEFAULT_CONFIG


def test_write_default_config_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path, {"symlinks": "skip"})
    with pytest.raises(UsageError) as info:
        write_default_config(path, force=False)
    assert info.value.exit_code == 2
    assert "already exists" in info.value.message
    assert "--force" in info.value.message
    assert json.loads(path.read_text()) == {"symlinks": "skip"}


def test_write_default_config_force_overwrites_and_fixes_mode(tmp_path: Path) -> None:
    path = write(tmp_path, {"symlinks": "skip"})
    path.chmod(0o644)
    write_default_config(path, force=True)
    assert json.loads(path.read_text()) == defaults_document()
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- retention


def test_retention_is_forgets_keep_options(tmp_path: Path) -> None:
    document = {"retention": {"keep_last": 3, "keep_hourly": 24, "keep_daily": 7,
                              "keep_weekly": 4, "keep_monthly": 6, "keep_yearly": 2,
                              "keep_within": "1y6m", "keep_tag": ["pre-update"]}}
    loaded = load_config(write(tmp_path, document), env=env_for(tmp_path))
    assert loaded.config.retention == Retention(3, 24, 7, 4, 6, 2, 545 * 86400.0,
                                                ("pre-update",))
    assert loaded.origins["retention"] == str(tmp_path / "config.json")
    shown = config_document(loaded.config)["retention"]
    assert shown == {**document["retention"], "keep_within": "545d"}
    again = load_config(write(tmp_path, {"retention": shown}, "again.json"),
                        env=env_for(tmp_path))
    assert again.config.retention == loaded.config.retention
    assert DEFAULT_CONFIG.retention is None and defaults_document()["retention"] is None
    none = load_config(write(tmp_path, {"retention": None}, "none.json"), env=env_for(tmp_path))
    assert none.config.retention is None


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        ({"keep_daly": 7}, 'unknown key "retention.keep_daly" (did you mean '
                           '"retention.keep_daily"?)'),
        ([7], '"retention" must be an object, not a list'),
        ({"keep_daily": "7"}, '"retention.keep_daily" must be an integer from 0 to'),
        ({"keep_daily": -1}, '"retention.keep_daily" must be an integer from 0 to'),
        ({"keep_last": True}, '"retention.keep_last" must be an integer'),
        ({"keep_within": "7x"}, '"retention.keep_within" must be a duration like "7d"'),
        ({"keep_within": 7}, '"retention.keep_within" must be a duration like "7d"'),
        ({"keep_tag": "a"}, '"retention.keep_tag" must be a list of tags'),
        ({"keep_tag": [""]}, '"retention.keep_tag[0]" must be a non-empty string'),
        ({}, '"retention" sets no rule (no count above 0), so it would keep every snapshot'),
        ({"keep_daily": 0, "keep_tag": []}, '"retention" sets no rule'),
    ],
)
def test_retention_errors_name_the_key(tmp_path: Path, retention: Any, expected: str) -> None:
    message = load_error(tmp_path, {"retention": retention})
    assert expected in message and "\n" not in message
