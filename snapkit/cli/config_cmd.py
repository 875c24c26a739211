"""``snapkit config init|show|path`` and ``snapkit where`` (rendering in ``config_view``)."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, notice, repo_path, with_settings
from snapkit.select.config import config_search_path, load_config, write_default_config
from snapkit.select.openclaw import discover
from snapkit.store.location import redact


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
    from snapkit.cli import config_view

    config_view.show(settings, load_config(settings.config))


@config.command("path")
@with_settings
def config_path(settings: Settings) -> None:
    """Print where the config is looked for, in order; the first one applies."""
    from snapkit.cli import config_view

    config_view.search_path(settings, config_search_path(settings.config))


@click.command("where")
@with_settings
def where(settings: Settings) -> None:
    """Show the OpenClaw installation snapkit found (state dir, config, env files, each agent's
    workspace and agent dir, and where each came from), and the repository and config it uses."""
    from snapkit.cli import config_view

    inst = discover()
    cfg = config_search_path(settings.config)[0][1]
    config_view.where(settings, inst, redact(str(repo_path(settings))), cfg)
