"""``snap --forget``: after the snapshot, the config's ``retention`` applied to its group, then
a prune — ``restic forget --prune`` run right after ``restic backup``.

The policy is the config's ``retention`` (:func:`config_policy`, checked before anything is
done), made into ``forget``'s :class:`~snapkit.maintain.retention.KeepPolicy`, and applied by
:func:`snapkit.ops.forget.forget` to the snapshot's group only: the snapshots of the same host,
sources and mode, the groups ``forget`` uses. The snapshot runs under a shared lock, the forget
and prune under an exclusive one, taken after the shared one is released (never both). When
another process holds a lock then, the snapshot stands and :class:`ForgetOutcome` says why the
forget did not run; nothing is reported as forgotten that was not.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapkit.format.errors import RepositoryLocked, UsageError
from snapkit.maintain.retention import DEFAULT_GROUP_BY, KeepPolicy, group_of
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.forget import ForgetResult, forget
from snapkit.ops.repo import Location
from snapkit.ops.snap import SnapResult
from snapkit.select.config import default_config_path, load_config

#: What the errors suggest when the config has no ``retention``.
EXAMPLE = '"retention": {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6}'


@dataclass(frozen=True)
class ForgetOutcome:
    """What followed the snapshot: the forget (and prune), or why it did not run."""

    policy: KeepPolicy
    #: the forget and its prune; None when it did not run
    result: ForgetResult | None
    #: why it did not run (one line), else None
    not_run: str | None = None


def config_policy(config: str | None, option: str = "--forget") -> KeepPolicy:
    """The keep policy of the config's ``retention`` (``config``: the file; None: the usual
    lookup); a one-line :class:`UsageError` naming the key and the fix when it sets none."""
    loaded = load_config(config)
    if loaded.config.retention is None:
        where = (f"the config {loaded.path} sets none" if loaded.path
                 else f"there is no config file ({default_config_path()})")
        raise UsageError(f'{option} applies the config\'s "retention", but {where}; add '
                         f"{EXAMPLE} to it (docs/configuration.md), or run `snapkit forget "
                         "--keep-daily 7 --prune` yourself")
    return loaded.config.retention


def forget_group(location: Location, taken: SnapResult, policy: KeepPolicy, *,
                 on_event: OnEvent = ignore, progress_interval: float = 0.2) -> ForgetOutcome:
    """Apply ``policy`` to the group of the snapshot just ``taken``, then prune; or say why
    not (the gateway stopped for the snapshot is down, or the repository is locked)."""
    if taken.gateway_down:
        return ForgetOutcome(policy, None, "the OpenClaw gateway is down: start it first; "
                             "the forget waits for the next run")
    group = group_of(taken.snapshot, DEFAULT_GROUP_BY)
    try:
        result = forget(location, policy=policy, host=taken.snapshot.hostname, group=group,
                        prune=True, on_event=on_event, progress_interval=progress_interval)
    except RepositoryLocked as exc:
        return ForgetOutcome(policy, None, exc.message)
    return ForgetOutcome(policy, result)
