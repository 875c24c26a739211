"""The options of ``snapkit forget`` that make its keep policy and its groups, and their
parsing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from snapkit.cli.common import group_by_callback
from snapkit.maintain.retention import parse_duration

F = TypeVar("F", bound=Callable[..., Any])


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _count(name: str, what: str) -> Callable[[F], F]:
    return click.option(f"--keep-{name}", name, type=click.IntRange(min=0), default=0,
                        metavar="N", help=f"Keep the {what}.")


_KEEP_OPTIONS: tuple[Callable[[F], F], ...] = (
    _count("last", "N newest snapshots"),
    _count("hourly", "newest snapshot of each of the last N hours that have one"),
    _count("daily", "newest snapshot of each of the last N days that have one"),
    _count("weekly", "newest snapshot of each of the last N ISO weeks that have one"),
    _count("monthly", "newest snapshot of each of the last N months that have one"),
    _count("yearly", "newest snapshot of each of the last N years that have one"),
    click.option("--keep-within", "within", metavar="DURATION", callback=_duration,
                 help="Keep every snapshot less than DURATION older than the newest one "
                      "(12h, 7d, 2w, 6m, 1y; m = 30 days)."),
    click.option("--keep-tag", "keep_tags", multiple=True, metavar="TAG",
                 help="Keep every snapshot carrying TAG (repeatable)."),
)


def keep_options(f: F) -> F:
    """``--keep-last`` ... ``--keep-yearly``, ``--keep-within`` and ``--keep-tag``, in that
    order."""
    for option in reversed(_KEEP_OPTIONS):
        f = option(f)
    return f


group_by_option = click.option(
    "--group-by", default="host,paths,mode", show_default=True, callback=group_by_callback,
    metavar="FIELDS", help="Apply the policy to each group of snapshots sharing these fields: "
                           "any of host, paths, tags, mode ('' for one group).")
