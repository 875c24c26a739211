"""``prune``: delete the data no snapshot references, and repack mostly-unused packs.

Plan, then execute (:mod:`snapkit.maintain.prune`): the plan is reported as a :class:`PrunePlanned`
event before anything is deleted, so a caller can show it first; with ``dry_run`` nothing
more happens. ``prune`` holds the exclusive lock (a shared one for a dry run); ``forget
--prune`` runs :func:`prune_locked` under the lock it already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from snapkit.maintain.prune import PrunePlan, PruneResult, execute_prune, plan_prune
from snapkit.ops.events import Event, OnEvent, Step, Throttle, ignore
from snapkit.ops.repo import Location, open_repository
from snapkit.store.repository import Repository


@dataclass(frozen=True)
class PrunePlanned(Event):
    """What prune will delete and repack; nothing has been changed yet."""

    plan: PrunePlan
    dry_run: bool


@dataclass(frozen=True)
class PruneOutcome:
    plan: PrunePlan
    #: What execution did; None for a dry run, or when the plan had nothing to do.
    result: PruneResult | None
    dry_run: bool


def prune(location: Location, *, dry_run: bool = False, repack_all_unused: bool = False,
          on_event: OnEvent = ignore, progress_interval: float = 0.2) -> PruneOutcome:
    """Plan and (unless ``dry_run``) carry out a prune of the repository at ``location``.

    Exits with :class:`~snapkit.format.errors.RepositoryLocked` while a snap or another prune runs:
    it waits for no one."""
    repo = open_repository(location, on_event=on_event)
    with repo.lock(exclusive=not dry_run, operation="prune"):
        return prune_locked(repo, dry_run=dry_run, repack_all_unused=repack_all_unused,
                            on_event=on_event, progress_interval=progress_interval)


def prune_locked(repo: Repository, *, dry_run: bool, repack_all_unused: bool = False,
                 ignore_snapshots: Collection[str] = (), on_event: OnEvent = ignore,
                 progress_interval: float = 0.2) -> PruneOutcome:
    """:func:`prune` under a lock the caller holds (exclusive unless ``dry_run``).

    ``ignore_snapshots`` count as removed already (``forget --dry-run --prune``)."""
    throttle = Throttle(progress_interval)

    def steps(phase: str) -> Callable[[str], None]:
        def step(message: str) -> None:
            if throttle.due():
                on_event(Step(phase, message))
        return step

    plan = plan_prune(repo, repack_all_unused=repack_all_unused,
                      ignore_snapshots=ignore_snapshots, on_step=steps("plan"))
    on_event(PrunePlanned(plan, dry_run))
    result = None
    if not dry_run and not plan.nothing_to_do:
        result = execute_prune(repo, plan, steps("execute"))
    return PruneOutcome(plan, result, dry_run)
