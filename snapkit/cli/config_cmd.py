"""``snapkit config init|show|path`` and ``snapkit where``."""

from __future__ import annotations

import json

import click

from snapkit.cli.common import Settings, emit_json, notice, repo_path, with_settings
from snapkit.config import (
    config_document,
    config_search_path,
    load_config,
    write_default_config,
)
from snapkit.openclaw import discover


@click.group("config")
def config() -> None:
    """Create, show and locate the configuration file."""


@config.command("init")
@click.option("--force", is_flag=True, help="Replace an existing file with the defaults.")
@with_settings
def config_init(settings: Settings, force: bool) -> None:
    """Write the default config to the config path (refuses to overwrite without --force)."""
    _, path = config_search_path(settings.config)[0]
    write_default_config(path, force)
    if settings.json:
        emit_json({"written": str(path)})
    else:
        notice(settings, f"wrote the default config to {path}")


@config.command("show")
@with_settings
def config_show(settings: Settings) -> None:
    """Print the effective config and which file each value came from."""
    loaded = load_config(settings.config)
    doc = config_document(loaded.config)
    if settings.json:
        emit_json({"path": str(loaded.path) if loaded.path else None, "config": doc,
                   "origins": dict(loaded.origins)})
        return
    click.echo(f"# config file: {loaded.path or 'none (built-in defaults)'}")
    for key, value in doc.items():
        origin = loaded.origins.get(key, "default")
        click.echo(f"# {key}: from {origin}")
        click.echo(f"{json.dumps(key)}: {json.dumps(value, indent=2)}")


@config.command("path")
@with_settings
def config_path(settings: Settings) -> None:
    """Print where the config is looked for, in order; the first one applies."""
    entries = config_search_path(settings.config)
    if settings.json:
        emit_json([{"from": label, "path": str(p), "exists": p.exists()} for label, p in entries])
        return
    for i, (label, p) in enumerate(entries):
        state = "exists" if p.exists() else "missing"
        mark = "*" if i == 0 else " "
        click.echo(f"{mark} {label:<16} {p} ({state})")


@click.command("where")
@with_settings
def where(settings: Settings) -> None:
    """Show the OpenClaw installation snapkit found, and the repository and config it uses."""
    inst = discover()
    cfg = config_search_path(settings.config)[0][1]
    full = [str(p) for p in inst.sources("full")] if inst.exists else []
    config_only = [str(p) for p in inst.sources("config-only")] if inst.exists else []
    info = {
        "state_dir": str(inst.state_dir),
        "state_dir_source": inst.state_dir_source,
        "exists": inst.exists,
        "config_path": str(inst.config_path),
        "oauth_dir": str(inst.oauth_dir),
        "workspaces": [str(w) for w in inst.workspaces],
        "included_configs": [str(p) for p in inst.included_configs],
        "sources_full": full,
        "sources_config_only": config_only,
        "warnings": list(inst.warnings),
        "repository": str(repo_path(settings)),
        "snapkit_config": str(cfg),
    }
    if settings.json:
        emit_json(info)
        return
    out = click.echo
    out(f"OpenClaw state dir: {inst.state_dir} ({inst.state_dir_source})"
        + ("" if inst.exists else " — not found"))
    out(f"OpenClaw config:    {inst.config_path}")
    out(f"OAuth dir:          {inst.oauth_dir}")
    for w in inst.workspaces:
        out(f"Workspace:          {w}" + ("" if w.exists() else " (missing)"))
    for inc in inst.included_configs:
        out(f"Included config:    {inc}")
    if inst.exists:
        out("Sources (full):     " + ", ".join(full))
        out("Sources (config-only): " + ", ".join(config_only))
    for warning in inst.warnings:
        out(f"Warning: {warning}")
    out(f"Repository:         {info['repository']}")
    out(f"snapkit config:     {cfg}" + ("" if cfg.exists() else " (missing: built-in defaults)"))
