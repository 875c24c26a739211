"""Keep policies: which snapshots ``forget`` keeps, and why. Pure functions, no storage.

The semantics are restic's (``internal/data/snapshot_policy.go``), so a policy written for
restic means the same here:

- Snapshots are first split into groups, by default by host, set of sources and mode
  (``group_by=("host", "paths", "mode")``): one machine's policy never drops another machine's
  snapshots, a backup of ``~/notes`` never counts against one of ``~/.openclaw``, and a
  ``config-only`` snapshot never takes the daily (or weekly…) place of a ``full`` one. restic
  groups by host and paths; it has no modes. Any subset of ``host``, ``paths``, ``tags`` and
  ``mode`` may be given; the empty one makes a single group.
- Within a group, snapshots are visited newest first. ``--keep-last N`` keeps the N newest.
  ``--keep-daily N`` keeps the newest snapshot of each of the N most recent days *that have a
  snapshot* (days without one do not count); likewise hourly, weekly (ISO weeks), monthly and
  yearly. Buckets are in local time (``tz=None``) unless a ``tz`` is given.
- When a bucket still has counts left after the oldest snapshot of the group, that oldest
  snapshot is kept too ("oldest daily ..."): the longest history the counts allow.
- ``--keep-within 7d`` keeps every snapshot taken less than 7 days before the group's newest
  snapshot that is not in the future (relative to ``now_ns``) — not before *now*, so a machine
  that stopped backing up keeps its last snapshots. ``--keep-tag T`` keeps every snapshot
  carrying T. Neither counts against the buckets.
- A snapshot is kept when any rule keeps it; every reason is reported. An empty policy keeps
  everything (the ``forget`` command refuses one instead).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from snapkit.format.model import Snapshot

# Re-exported: the keep policy's durations, parsed and shown (also the config's).
from snapkit.select.durations import format_duration as format_duration
from snapkit.select.durations import parse_duration as parse_duration
from snapkit.select.keep import KeepPolicy as KeepPolicy

Pair = tuple[str, Snapshot]

GROUP_FIELDS = ("host", "paths", "tags", "mode")
DEFAULT_GROUP_BY = ("host", "paths", "mode")

NS = 1_000_000_000


@dataclass(frozen=True)
class Group:
    """What a group of snapshots shares; a field is None when not grouped by it."""

    host: str | None = None
    sources: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    mode: str | None = None

    def describe(self) -> str:
        parts = []
        if self.host is not None:
            parts.append(f"host {self.host}")
        if self.sources is not None:
            parts.append("sources " + (", ".join(self.sources) or "-"))
        if self.tags is not None:
            parts.append("tags " + (", ".join(self.tags) or "-"))
        if self.mode is not None:
            parts.append(f"mode {self.mode}")
        return "; ".join(parts) or "all snapshots"


@dataclass(frozen=True)
class Decision:
    """Keep or remove one snapshot: ``reasons`` names the rules that keep it (or ``named``
    for a snapshot removed because it was given by id)."""

    snapshot_id: str
    snapshot: Snapshot
    keep: bool
    reasons: tuple[str, ...]
    group: Group


def group_of(snap: Snapshot, group_by: Sequence[str]) -> Group:
    """The group key of one snapshot."""
    return Group(
        host=snap.hostname if "host" in group_by else None,
        sources=tuple(sorted(snap.sources)) if "paths" in group_by else None,
        tags=tuple(sorted(snap.tags)) if "tags" in group_by else None,
        mode=snap.mode if "mode" in group_by else None,
    )


def check_group_by(group_by: Sequence[str]) -> tuple[str, ...]:
    """The fields as given, each once; ValueError naming the ones that are not fields."""
    unknown = [g for g in group_by if g not in GROUP_FIELDS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)} (use any of "
                         f"{', '.join(GROUP_FIELDS)}, or none for one group)")
    return tuple(dict.fromkeys(group_by))


def _bucketers(tz: tzinfo | None) -> list[tuple[str, Callable[[int, int], str]]]:
    def dt(time_ns: int) -> datetime:
        return datetime.fromtimestamp(time_ns // NS, tz)

    def week(time_ns: int) -> str:
        iso = dt(time_ns).isocalendar()
        return f"{iso.year}-W{iso.week:02d}"

    return [
        ("last", lambda _t, nr: str(nr)),
        ("hourly", lambda t, _nr: dt(t).strftime("%Y-%m-%d %H:00")),
        ("daily", lambda t, _nr: dt(t).strftime("%Y-%m-%d")),
        ("weekly", lambda t, _nr: week(t)),
        ("monthly", lambda t, _nr: dt(t).strftime("%Y-%m")),
        ("yearly", lambda t, _nr: dt(t).strftime("%Y")),
    ]


def _apply_group(pairs: list[Pair], policy: KeepPolicy, now_ns: int,
                 tz: tzinfo | None) -> dict[str, tuple[str, ...]]:
    """Keep reasons by snapshot id for one group (ids missing from the result are removed)."""
    newest_first = sorted(pairs, key=lambda p: (p[1].time_ns, p[0]), reverse=True)
    past = [s.time_ns for _, s in newest_first if s.time_ns <= now_ns]
    latest = max(past) if past else None
    counts = {
        "last": policy.last, "hourly": policy.hourly, "daily": policy.daily,
        "weekly": policy.weekly, "monthly": policy.monthly, "yearly": policy.yearly,
    }
    previous: dict[str, str | None] = dict.fromkeys(counts)
    bucketers = _bucketers(tz)
    kept: dict[str, tuple[str, ...]] = {}
    oldest = len(newest_first) - 1
    for nr, (sid, snap) in enumerate(newest_first):
        reasons: list[str] = [f"tag {t}" for t in policy.tags if t in snap.tags]
        if policy.within is not None and (
            latest is None or snap.time_ns > latest - int(policy.within * NS)
        ):
            reasons.append(f"within {format_duration(policy.within)}")
        for name, bucket in bucketers:
            if counts[name] <= 0:
                continue
            value = bucket(snap.time_ns, nr)
            if value != previous[name] or nr == oldest:
                label = "last" if name == "last" else f"{name} {value}"
                reasons.append(label if value != previous[name] else f"oldest {label}")
                previous[name] = value
                counts[name] -= 1
        if reasons:
            kept[sid] = tuple(reasons)
    return kept


def apply_policy(
    snapshots: Sequence[Pair],
    policy: KeepPolicy,
    now_ns: int,
    *,
    group_by: Sequence[str] = DEFAULT_GROUP_BY,
    tz: tzinfo | None = None,
) -> list[Decision]:
    """One decision per snapshot, in input order. ``tz=None`` buckets by local time."""
    group_by = check_group_by(group_by)
    groups: dict[Group, list[Pair]] = {}
    for pair in snapshots:
        groups.setdefault(group_of(pair[1], group_by), []).append(pair)
    reasons: dict[str, tuple[str, ...]] = {}
    if policy.empty:
        reasons = {sid: ("policy is empty",) for sid, _ in snapshots}
    else:
        for pairs in groups.values():
            reasons.update(_apply_group(pairs, policy, now_ns, tz))
    return [
        Decision(sid, snap, sid in reasons, reasons.get(sid, ()), group_of(snap, group_by))
        for sid, snap in snapshots
    ]


def remove_named(snapshots: Sequence[Pair], ids: Sequence[str],
                 group_by: Sequence[str] = DEFAULT_GROUP_BY) -> list[Decision]:
    """Removal decisions for snapshots given by full id (resolved by the caller), in order."""
    wanted = set(ids)
    return [Decision(sid, snap, False, ("named",), group_of(snap, group_by))
            for sid, snap in snapshots if sid in wanted]
