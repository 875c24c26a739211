"""Tests for snapkit.select.openclaw: discovery from each environment variable, JSON5 and
$include."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from snapkit.select import openclaw_config
from snapkit.select.openclaw import Installation, discover, is_openclaw_root, openclaw_home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path.resolve()


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


def mkdirs(*paths: Path) -> None:
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)


# ------------------------------------------------------------------------------- state dir


@pytest.mark.parametrize(
    ("existing", "expected", "source"),
    [
        ([], ".openclaw", "default ~/.openclaw (missing)"),
        ([".openclaw"], ".openclaw", "~/.openclaw (exists)"),
        ([".openclaw", ".clawdbot"], ".openclaw", "~/.openclaw (exists)"),
        ([".clawdbot"], ".clawdbot", "legacy ~/.clawdbot"),
        # 2026.9 knows one legacy name only (dist/paths-*.mjs LEGACY_STATE_DIRNAMES).
        ([".moltbot", ".moldbot"], ".openclaw", "default ~/.openclaw (missing)"),
    ],
)
def test_state_dir_default_and_legacy_order(
    home: Path, existing: list[str], expected: str, source: str
) -> None:
    mkdirs(*(home / name for name in existing))
    found = discover(env_for(home))
    assert found.state_dir == home / expected
    assert found.state_dir_source == source
    assert found.exists == (expected in existing)
    assert found.config_path == home / expected / "openclaw.json"
    assert found.oauth_dir == home / expected / "credentials"


@pytest.mark.parametrize(
    ("variables", "expected", "source"),
    [
        ({"OPENCLAW_STATE_DIR": "{tmp}/state"}, "{tmp}/state", "$OPENCLAW_STATE_DIR"),
        # No CLAWDBOT_* variables in 2026.9.
        ({"CLAWDBOT_STATE_DIR": "{tmp}/old"}, "{home}/.openclaw",
         "default ~/.openclaw (missing)"),
        ({"OPENCLAW_STATE_DIR": "~/custom"}, "{home}/custom", "$OPENCLAW_STATE_DIR"),
        (
            {"OPENCLAW_STATE_DIR": "~/custom", "OPENCLAW_HOME": "{tmp}/oc"},
            "{tmp}/oc/custom",
            "$OPENCLAW_STATE_DIR",
        ),
        (
            {"OPENCLAW_STATE_DIR": "{tmp}/state", "OPENCLAW_PROFILE": "work"},
            "{tmp}/state",
            "$OPENCLAW_STATE_DIR",
        ),
        # OPENCLAW_PROFILE alone does not move the state dir: only `openclaw --profile` does.
        ({"OPENCLAW_PROFILE": "work"}, "{home}/.openclaw", "default ~/.openclaw (missing)"),
        ({"OPENCLAW_HOME": "{tmp}/oc"}, "{tmp}/oc/.openclaw", "default ~/.openclaw (missing)"),
        ({"OPENCLAW_HOME": "~/oc"}, "{home}/oc/.openclaw", "default ~/.openclaw (missing)"),
    ],
)
def test_state_dir_from_environment(
    tmp_path: Path, home: Path, variables: dict[str, str], expected: str, source: str
) -> None:
    tmp = tmp_path.resolve()

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp)).replace("{home}", str(home))

    env = env_for(home, **{k: fill(v) for k, v in variables.items()})
    found = discover(env)
    assert found.state_dir == Path(fill(expected))
    assert found.state_dir_source == source
    assert found.config_path == Path(fill(expected)) / "openclaw.json"


def test_relative_state_dir_resolves_against_the_working_directory(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = discover(env_for(home, OPENCLAW_STATE_DIR="rel-state"))
    assert found.state_dir == tmp_path.resolve() / "rel-state"


def test_profile_variable_alone_is_a_warning(home: Path) -> None:
    mkdirs(home / ".openclaw", home / ".openclaw-work")
    found = discover(env_for(home, OPENCLAW_PROFILE="work"))
    assert found.state_dir == home / ".openclaw"
    assert any("OPENCLAW_STATE_DIR=~/.openclaw-work" in w for w in found.warnings)
    assert discover(env_for(home, OPENCLAW_PROFILE="default")).warnings == ()


def test_openclaw_home_defaults_to_home(home: Path) -> None:
    assert openclaw_home(env_for(home)) == home
    assert openclaw_home({"USERPROFILE": str(home)}) == home


# ------------------------------------------------------------------------------- config, oauth


def test_config_path_and_oauth_dir_from_environment(tmp_path: Path, home: Path) -> None:
    config = tmp_path / "etc" / "oc.json"
    oauth = tmp_path / "secrets" / "oauth"
    found = discover(env_for(home, OPENCLAW_CONFIG_PATH=str(config), OPENCLAW_OAUTH_DIR=str(oauth)))
    assert found.config_path == config.resolve()
    assert found.config_path_source == "$OPENCLAW_CONFIG_PATH"
    assert found.oauth_dir == oauth.resolve()
    found = discover(env_for(home, OPENCLAW_CONFIG_PATH="~/oc.json"))
    assert found.config_path == home / "oc.json"


def test_legacy_config_name_in_legacy_dir(home: Path) -> None:
    legacy = home / ".clawdbot"
    mkdirs(legacy)
    (legacy / "clawdbot.json").write_text("{}")
    found = discover(env_for(home))
    assert found.config_path == legacy / "clawdbot.json"
    assert found.config_include_patterns(found.state_dir) == ("/clawdbot.json",)


def test_config_candidates_fall_back_to_the_home_state_dir(tmp_path: Path, home: Path) -> None:
    """With OPENCLAW_STATE_DIR holding no config, OpenClaw reads ~/.openclaw/openclaw.json
    (resolveConfigPathCandidate)."""
    mkdirs(home / ".openclaw", tmp_path / "state")
    (home / ".openclaw" / "openclaw.json").write_text("{}")
    found = discover(env_for(home, OPENCLAW_STATE_DIR=str(tmp_path / "state")))
    assert found.state_dir == (tmp_path / "state").resolve()
    assert found.config_path == home / ".openclaw" / "openclaw.json"
    (tmp_path / "state" / "clawdbot.json").write_text("{}")
    found = discover(env_for(home, OPENCLAW_STATE_DIR=str(tmp_path / "state")))
    assert found.config_path == (tmp_path / "state" / "clawdbot.json").resolve()


def test_env_files(tmp_path: Path, home: Path) -> None:
    found = discover(env_for(home))
    assert found.env_files == (home / ".openclaw" / ".env",
                               home / ".config" / "openclaw" / "gateway.env")
    # A state dir elsewhere has its own .env, and gateway.env is no longer read.
    found = discover(env_for(home, OPENCLAW_STATE_DIR=str(tmp_path / "s")))
    assert found.env_files == ((tmp_path / "s" / ".env").resolve(),)
    # OPENCLAW_CONFIG_PATH alone moves the .env next to the config file.
    found = discover(env_for(home, OPENCLAW_CONFIG_PATH=str(tmp_path / "etc" / "oc.json")))
    assert found.env_files == ((tmp_path / "etc" / ".env").resolve(),
                               home / ".config" / "openclaw" / "gateway.env")


def test_gateway_port_as_openclaw_resolves_it(tmp_path: Path, home: Path) -> None:
    """``resolveGatewayPort``: the variable (from the environment, else OpenClaw's env files),
    then ``gateway.port``, then 18789; a profile's derived port is not guessed (None)."""
    assert discover(env_for(home)).gateway_port == 18789
    mkdirs(home / ".openclaw")
    (home / ".openclaw" / "openclaw.json").write_text('{gateway: {port: 20001}}\n')
    assert discover(env_for(home)).gateway_port == 20001
    (home / ".openclaw" / ".env").write_text("# local\nexport OPENCLAW_GATEWAY_PORT='20002'\n")
    assert discover(env_for(home)).gateway_port == 20002
    assert discover(env_for(home, OPENCLAW_GATEWAY_PORT="127.0.0.1:20003")).gateway_port == 20003
    assert discover(env_for(home, OPENCLAW_GATEWAY_PORT="[::1]:20004")).gateway_port == 20004
    (home / ".openclaw" / ".env").unlink()
    (home / ".openclaw" / "openclaw.json").write_text("{}\n")
    assert discover(env_for(home, OPENCLAW_PROFILE="work")).gateway_port is None
    assert discover(env_for(home, OPENCLAW_GATEWAY_PORT="nonsense")).gateway_port == 18789


# ------------------------------------------------------------------------------- workspaces


def test_default_workspace(home: Path) -> None:
    found = discover(env_for(home))
    assert found.workspaces == (home / ".openclaw" / "workspace",)
    assert found.warnings == ()


def test_workspace_from_environment(tmp_path: Path, home: Path) -> None:
    ws = tmp_path / "ws"
    found = discover(env_for(home, OPENCLAW_WORKSPACE_DIR=str(ws)))
    assert found.workspaces == (ws.resolve(),)
    assert any("does not exist" in w for w in found.warnings)
    mkdirs(ws)
    assert discover(env_for(home, OPENCLAW_WORKSPACE_DIR=str(ws))).warnings == ()


JSON5_CONFIG = """
// OpenClaw config: JSON5 with comments, unquoted keys and trailing commas
{
  agents: {
    defaults: {
      workspace: "~/clawd", /* the main agent's workspace */
      model: { primary: 'anthropic/claude', },
    },
  },
}
"""


def test_workspace_from_json5_config(home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state, home / "clawd")
    (state / "openclaw.json").write_text(JSON5_CONFIG)
    found = discover(env_for(home))
    assert found.workspaces == (home / "clawd",)
    assert found.warnings == ()


@pytest.mark.parametrize("text", [
    JSON5_CONFIG, '{"agents": {"defaults": {"workspace": "~/clawd"}}, "n": [1, 2.5, null]}',
    '{"a": 1, "a": 2, "big": 123456789012345678901234567890, "s": "\\u00e9\\n"}',
])
def test_config_parse_strict_json_first_gives_json5s_answer(text: str) -> None:
    import json5

    assert openclaw_config.parse(text) == json5.loads(text)


def test_config_parse_rejects_what_json5_rejects() -> None:
    with pytest.raises(ValueError):
        openclaw_config.parse("{agents: ")


def test_config_workspace_expands_tilde_with_openclaw_home(tmp_path: Path, home: Path) -> None:
    oc_home = (tmp_path / "oc").resolve()
    state = oc_home / ".openclaw"
    mkdirs(state)
    (state / "openclaw.json").write_text(JSON5_CONFIG)
    found = discover(env_for(home, OPENCLAW_HOME=str(oc_home)))
    assert found.workspaces == (oc_home / "clawd",)


def test_relative_config_workspace_resolves_against_the_working_directory(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = home / ".openclaw"
    mkdirs(state, tmp_path / "cwd" / "my-ws")
    (state / "openclaw.json").write_text("{agents: {defaults: {workspace: 'my-ws'}}}")
    monkeypatch.chdir(tmp_path / "cwd")
    assert discover(env_for(home)).workspaces == ((tmp_path / "cwd" / "my-ws").resolve(),)


def test_env_and_config_workspaces_are_both_kept(tmp_path: Path, home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state, home / "clawd", tmp_path / "envws")
    (state / "openclaw.json").write_text(JSON5_CONFIG)
    found = discover(env_for(home, OPENCLAW_WORKSPACE_DIR=str(tmp_path / "envws")))
    # The config's workspace is the main agent's; the variable's is kept too (OpenClaw uses it
    # for an agent without one), so that a backup never misses it.
    assert found.workspaces == (home / "clawd", (tmp_path / "envws").resolve())
    assert [a.workspace_from for a in found.agents] == ["agents.defaults.workspace"]


def test_legacy_agent_list(tmp_path: Path, home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state / "workspace", state / "workspace-coder", state / "workspace-ops")
    (state / "workspace-stray.txt").write_text("not a dir")
    mkdirs(tmp_path / "research")
    (state / "openclaw.json").write_text(
        "{agents: {list: [{id: 'main'}, {id: 'r', workspace: '%s'}, {id: 'Coder'}]}}"
        % (tmp_path / "research")
    )
    found = discover(env_for(home))
    # The first of a legacy list with no default marker gets the default workspace.
    assert [(a.id, a.workspace) for a in found.agents] == [
        ("main", state / "workspace"),
        ("r", (tmp_path / "research").resolve()),
        ("coder", state / "workspace-coder"),
    ]
    assert found.workspaces == (
        state / "workspace",
        (tmp_path / "research").resolve(),
        state / "workspace-coder",
        state / "workspace-ops",
    )
    assert found.agent_dirs == tuple(state / "agents" / i / "agent" for i in ("main", "r", "coder"))


def test_agent_entries_win_over_list(tmp_path: Path, home: Path) -> None:
    """2026.8+: ``agents.entries.<id>`` with ``workspace`` and ``agentDir`` (as written by
    ``openclaw agents add``); ``agents.list`` is ignored when ``entries`` is there."""
    state = home / ".openclaw"
    mkdirs(state, tmp_path / "work-ws", tmp_path / "agent-dirs" / "work")
    (state / "openclaw.json").write_text(json.dumps({"agents": {
        "defaults": {"workspace": str(tmp_path / "base")},
        "list": [{"id": "ignored", "workspace": str(tmp_path / "nope")}],
        "entries": {
            "main": {"name": "main"},
            "work": {"workspace": str(tmp_path / "work-ws"),
                     "agentDir": str(tmp_path / "agent-dirs" / "work")},
            "ops": {},
        },
    }}))
    found = discover(env_for(home, OPENCLAW_AGENT_DIR=str(tmp_path / "shared-agent")))
    by_id = {a.id: a for a in found.agents}
    assert list(by_id) == ["main", "work", "ops"]
    # No sole agent and no default marker: each agent without a workspace gets
    # <agents.defaults.workspace>/<id>.
    assert by_id["main"].workspace == (tmp_path / "base" / "main").resolve()
    assert by_id["work"].workspace == (tmp_path / "work-ws").resolve()
    assert by_id["work"].workspace_from == "agents.entries.work.workspace"
    assert by_id["work"].agent_dir == (tmp_path / "agent-dirs" / "work").resolve()
    assert by_id["work"].agent_dir_from == "agents.entries.work.agentDir"
    assert by_id["ops"].agent_dir == state / "agents" / "ops" / "agent"
    assert (tmp_path / "shared-agent").resolve() in found.agent_dirs
    assert found.kind_of(tmp_path / "agent-dirs" / "work") == "agent"
    sources = found.sources("config-only")
    assert (tmp_path / "agent-dirs" / "work").resolve() in sources
    assert (tmp_path / "work-ws").resolve() not in sources
    assert (tmp_path / "work-ws").resolve() in found.sources("full")


def test_sole_agent_uses_the_default_workspace(home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state)
    (state / "openclaw.json").write_text("{agents: {entries: {solo: {}}}}")
    found = discover(env_for(home))
    assert [(a.id, a.workspace) for a in found.agents] == [("solo", state / "workspace")]


# ------------------------------------------------------------------------------- $include


def test_include_string_and_list_nested(home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state / "conf" / "agents", home / "from-include")
    (state / "openclaw.json").write_text(
        "{\n  $include: ['./conf/base.json5', 'conf/channels.json5'], // two files\n"
        "  gateway: {port: 18789},\n}\n"
    )
    (state / "conf" / "base.json5").write_text("{agents: {$include: './agents/main.json5'}}")
    (state / "conf" / "agents" / "main.json5").write_text(
        "{defaults: {workspace: '~/from-include',},}"
    )
    (state / "conf" / "channels.json5").write_text("{channels: {}}")
    found = discover(env_for(home))
    assert found.included_configs == (
        state / "conf" / "base.json5",
        state / "conf" / "agents" / "main.json5",
        state / "conf" / "channels.json5",
    )
    assert found.workspaces == (home / "from-include",)
    assert found.warnings == ()
    assert found.config_include_patterns(state) == (
        "/openclaw.json",
        "/conf/base.json5",
        "/conf/agents/main.json5",
        "/conf/channels.json5",
        "/.env",
    )


def test_include_is_confined_to_the_config_dir(tmp_path: Path, home: Path) -> None:
    """OpenClaw refuses an include outside the config's directory (and OPENCLAW_INCLUDE_ROOTS),
    also through a symlink; snapkit warns and neither reads nor backs it up."""
    state = home / ".openclaw"
    outside = tmp_path / "shared"
    mkdirs(state, outside, home / "ws-out", home / "ws-in")
    (outside / "agents.json5").write_text("{defaults: {workspace: '~/ws-out'}}")
    (state / "link.json5").symlink_to(outside / "agents.json5")
    (state / "openclaw.json").write_text(
        "{agents: {$include: '%s'}, gateway: {$include: './link.json5'}}"
        % (outside / "agents.json5")
    )
    found = discover(env_for(home))
    assert found.included_configs == ()
    assert any("escapes the config directory" in w for w in found.warnings)
    assert any("through a symlink" in w for w in found.warnings)
    assert found.workspaces == (state / "workspace",)
    # Listed in OPENCLAW_INCLUDE_ROOTS, the directory is allowed.
    found = discover(env_for(home, OPENCLAW_INCLUDE_ROOTS=str(outside)))
    assert (outside / "agents.json5").resolve() in {p.resolve() for p in found.included_configs}
    assert found.workspaces == (home / "ws-out",)
    assert (outside / "agents.json5").resolve() in found.sources("config-only")


def test_include_problems_are_warnings(home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state)
    (state / "openclaw.json").write_text("{$include: ['missing.json5', 'loop.json5']}")
    (state / "loop.json5").write_text("{$include: 'loop.json5'}")
    found = discover(env_for(home))
    assert state / "missing.json5" in found.included_configs
    assert state / "loop.json5" in found.included_configs
    assert any("no such file" in w for w in found.warnings)
    assert any("circular" in w for w in found.warnings)


def test_unparseable_config_is_a_warning(home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state)
    (state / "openclaw.json").write_text("{agents: ")
    found = discover(env_for(home))
    assert found.workspaces == (state / "workspace",)
    assert len(found.warnings) == 1
    assert "cannot parse OpenClaw config" in found.warnings[0]
    assert str(state / "openclaw.json") in found.warnings[0]


# ------------------------------------------------------------------------------- sources


def test_sources_per_mode(tmp_path: Path, home: Path) -> None:
    state = home / ".openclaw"
    outside_ws = tmp_path / "ws"
    oauth = tmp_path / "oauth"
    config = tmp_path / "etc" / "openclaw.json"
    mkdirs(state / "workspace-coder", outside_ws, oauth, config.parent)
    config.write_text("{}")
    env = env_for(
        home,
        OPENCLAW_WORKSPACE_DIR=str(outside_ws),
        OPENCLAW_OAUTH_DIR=str(oauth),
        OPENCLAW_CONFIG_PATH=str(config),
    )
    found = discover(env)
    r = Path.resolve
    assert found.sources("config-only") == (state, r(config), r(oauth))
    assert found.sources("full") == (state, r(config), r(oauth), r(outside_ws))
    assert found.sources("lite") == found.sources("full")


def test_sources_skip_missing_and_inside(home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state / "workspace")
    found = discover(env_for(home))
    assert found.sources("full") == (state,)
    assert found.sources("config-only") == (state,)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlinked_workspace_becomes_its_own_source(tmp_path: Path, home: Path) -> None:
    state = home / ".openclaw"
    real = tmp_path / "data" / "workspace"
    mkdirs(state, real)
    (state / "workspace").symlink_to(real)
    found = discover(env_for(home))
    assert found.workspaces == (real.resolve(),)
    assert found.sources("full") == (state, real.resolve())


def test_is_openclaw_root(tmp_path: Path, home: Path) -> None:
    state = home / ".openclaw"
    mkdirs(state / "workspace", tmp_path / "copy", tmp_path / "projects")
    (tmp_path / "copy" / "openclaw.json").write_text("{}")
    found = discover(env_for(home))
    assert isinstance(found, Installation)
    assert is_openclaw_root(state, found)
    assert is_openclaw_root(state / "workspace", found)
    assert is_openclaw_root(tmp_path / "copy", found)
    assert not is_openclaw_root(tmp_path / "projects", found)
    assert found.kind_of(state) == "state"
    assert found.kind_of(state / "workspace") == "workspace"
    assert found.kind_of(tmp_path / "projects") is None
