"""``snapkit init``: create a repository."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, repo_path, with_settings
from snapkit.store.location import redact
from snapkit.store.repository import Repository


@click.command("init")
@with_settings
def init(settings: Settings) -> None:
    """Create a new, empty repository at --repo (or the default path)."""
    path = repo_path(settings)
    repo = Repository.init(path)
    shown = redact(str(path))
    if settings.json:
        emit_json({"repository": shown, "id": repo.config.id,
                   "version": repo.config.version})
    elif not settings.quiet:
        click.echo(f"created repository {repo.config.id[:8]} at {shown}")
