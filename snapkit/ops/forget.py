"""``forget``: remove snapshot manifests, named or those a keep policy does not keep; then,
optionally, prune the data no remaining snapshot uses.

Decisions come from :mod:`snapkit.maintain.retention` (pure), applied per group of snapshots (host,
sources and mode by default). The whole run holds the exclusive lock (a shared one for a dry
run), the prune included. Only manifests are removed here: the data goes with ``prune``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from snapkit.maintain.retention import (
    DEFAULT_GROUP_BY,
    Decision,
    Group,
    KeepPolicy,
    apply_policy,
    group_of,
    remove_named,
)
from snapkit.maintain.selection import filter_snapshots, resolve
from snapkit.ops.events import Event, OnEvent, ignore
from snapkit.ops.prune import PruneOutcome, prune_locked
from snapkit.ops.repo import Location, open_repository


@dataclass(frozen=True)
class ForgetDecided(Event):
    """The decisions, once the manifests are removed (nothing removed with ``dry_run``);
    ``prune_follows``: a prune comes next."""

    decisions: tuple[Decision, ...]
    dry_run: bool
    prune_follows: bool


@dataclass(frozen=True)
class ForgetResult:
    #: one per snapshot considered: kept or not, and why
    decisions: tuple[Decision, ...]
    #: the snapshots removed (with ``dry_run``: that would be)
    removed: tuple[str, ...]
    dry_run: bool
    #: the prune that followed (``prune=True`` and something was removed), else None
    prune: PruneOutcome | None


def forget(location: Location, *, selectors: Sequence[str] = (),
           policy: KeepPolicy | None = None, host: str | None = None,
           tags: Sequence[str] = (), group_by: Sequence[str] = DEFAULT_GROUP_BY,
           dry_run: bool = False, prune: bool = False, on_event: OnEvent = ignore,
           progress_interval: float = 0.2, group: Group | None = None) -> ForgetResult:
    """Remove the snapshots named by ``selectors`` or, without any, those ``policy`` does not
    keep, among the snapshots of ``host`` carrying all ``tags`` (and, given a ``group``, only
    those of that group: ``snap --forget``); with ``prune``, then prune.
    """
    policy = policy or KeepPolicy()
    repo = open_repository(location, on_event=on_event)
    with repo.lock(exclusive=not dry_run, operation="forget"):
        pairs = filter_snapshots(repo.snapshots(), host=host, tags=tags)
        if group is not None:
            pairs = [p for p in pairs if group_of(p[1], group_by) == group]
        if selectors:
            named = [resolve(s, pairs)[0] for s in selectors]
            decisions = remove_named(pairs, named, group_by)
        else:
            decisions = apply_policy(pairs, policy, time.time_ns(), group_by=group_by)
        removed = tuple(d.snapshot_id for d in decisions if not d.keep)
        if not dry_run:
            for sid in removed:
                repo.remove_snapshot(sid)
        then_prune = prune and bool(removed)
        on_event(ForgetDecided(tuple(decisions), dry_run, then_prune))
        pruned = None
        if then_prune:
            pruned = prune_locked(repo, dry_run=dry_run, ignore_snapshots=set(removed),
                                  on_event=on_event, progress_interval=progress_interval)
    return ForgetResult(tuple(decisions), removed, dry_run, pruned)
