"""Rendering of ``snapkit config show|path`` and ``snapkit where``, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from snapkit.cli.common import Settings, emit_json
from snapkit.select.config import EXCLUSION_LISTS, LoadedConfig, applies_to, config_document
from snapkit.select.openclaw import Installation


def show(settings: Settings, loaded: LoadedConfig) -> None:
    doc = config_document(loaded.config)
    if settings.json:
        emit_json({"path": str(loaded.path) if loaded.path else None, "config": doc,
                   "origins": dict(loaded.origins)})
        return
    click.echo(f"# config file: {loaded.path or 'none (built-in defaults)'}")
    for key, value in doc.items():
        origin = loaded.origins.get(key, "default")
        applies = ""
        if key in EXCLUSION_LISTS:
            applies = f"; applies to: {applies_to(loaded.config, key)}"
        elif key == "openclaw":
            applies = "; applies to: OpenClaw sources only"
        click.echo(f"# {key}: from {origin}{applies}")
        click.echo(f"{json.dumps(key)}: {json.dumps(value, indent=2)}")


def search_path(settings: Settings, entries: list[tuple[str, Path]]) -> None:
    if settings.json:
        emit_json([{"from": label, "path": str(p), "exists": p.exists()} for label, p in entries])
        return
    for i, (label, p) in enumerate(entries):
        state = "exists" if p.exists() else "missing"
        mark = "*" if i == 0 else " "
        click.echo(f"{mark} {label:<16} {p} ({state})")


def where(settings: Settings, inst: Installation, repository: str, cfg: Path) -> None:
    full = [str(p) for p in inst.sources("full")] if inst.exists else []
    config_only = [str(p) for p in inst.sources("config-only")] if inst.exists else []
    agent_workspaces = {a.workspace for a in inst.agents}
    info = {
        "state_dir": str(inst.state_dir),
        "state_dir_source": inst.state_dir_source,
        "exists": inst.exists,
        "config_path": str(inst.config_path),
        "config_path_source": inst.config_path_source,
        "env_files": [str(p) for p in inst.env_files],
        "oauth_dir": str(inst.oauth_dir),
        "agents": [a.to_dict() for a in inst.agents],
        "workspaces": [str(w) for w in inst.workspaces],
        "agent_dirs": [str(d) for d in inst.agent_dirs],
        "included_configs": [str(p) for p in inst.included_configs],
        "sources_full": full,
        "sources_config_only": config_only,
        "warnings": list(inst.warnings),
        "repository": repository,
        "snapkit_config": str(cfg),
    }
    if settings.json:
        emit_json(info)
        return

    def line(label: str, value: str, origin: str = "", path: Path | None = None) -> None:
        missing = " (missing)" if path is not None and not path.exists() else ""
        head = f"{label}:" if label else ""
        click.echo(f"{head:<24}{value}{missing}" + (f"  [{origin}]" if origin else ""))

    line("OpenClaw state dir", str(inst.state_dir), inst.state_dir_source, inst.state_dir)
    line("OpenClaw config", str(inst.config_path), inst.config_path_source, inst.config_path)
    for inc in inst.included_configs:
        line("Included config", str(inc), "$include", inc)
    for env_file in inst.env_files:
        line("Env file", str(env_file), "", env_file)
    line("OAuth dir (legacy)", str(inst.oauth_dir), "", inst.oauth_dir)
    for agent in inst.agents:
        line(f"Agent {agent.id}", f"workspace {agent.workspace}", agent.workspace_from,
             agent.workspace)
        line("", f"agent dir {agent.agent_dir}", agent.agent_dir_from, agent.agent_dir)
    for ws in inst.workspaces:
        if ws not in agent_workspaces:
            line("Workspace", str(ws), "no agent's, kept", ws)
    for agent_dir in inst.agent_dirs:
        if agent_dir not in {a.agent_dir for a in inst.agents}:
            line("Agent dir", str(agent_dir), "$OPENCLAW_AGENT_DIR", agent_dir)
    if inst.exists:
        line("Sources (full)", ", ".join(full))
        line("Sources (config-only)", ", ".join(config_only))
    for warning in inst.warnings:
        click.echo(f"Warning: {warning}")
    local = not repository.startswith("s3:")
    line("Repository", repository, "" if not local or Path(repository, "config").is_file()
         else "missing: the first `snapkit snap` creates it")
    line("snapkit config", str(cfg), "" if cfg.exists() else "missing: built-in defaults")
