"""Keep policies against golden cases: a list of snapshot times → the kept ids and reasons.

The expected tables were worked out by hand from restic's rules (newest first; the newest
snapshot of each bucket; only buckets that have a snapshot count; the oldest snapshot is kept
too while a bucket has counts left; within counts back from the newest snapshot that is not
in the future). Ids are the times themselves so that a table reads as a timeline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from snapkit.format.model import Snapshot
from snapkit.maintain.retention import (
    Decision,
    Group,
    KeepPolicy,
    apply_policy,
    format_duration,
    parse_duration,
    remove_named,
)

DAY = 86400.0


def ns(when: str) -> int:
    """``"2026-11-20 14:45"`` (UTC) → ns since the epoch."""
    return int(datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()) * 10**9


def snap(when: str, host: str = "laptop", sources: Sequence[str] = ("/home/me/.openclaw",),
         tags: Sequence[str] = (), mode: str = "full") -> tuple[str, Snapshot]:
    return when, Snapshot(time_ns=ns(when), hostname=host, username="me",
                          sources=tuple(sources), tree="0" * 32, tags=tuple(tags), mode=mode)


# Oldest first, as Repository.snapshots() returns them. ISO weeks: 09-28 W40, 10-05 W41,
# 10-15 W42, 10-31 and 11-01 W44 (Sat, Sun), 11-16..11-20 W47.
TIMELINE = [
    snap("2026-09-28 10:00"),
    snap("2026-10-05 10:00"),
    snap("2026-10-15 09:00", tags=("pre-update",)),
    snap("2026-10-31 23:30"),
    snap("2026-11-01 00:30"),
    snap("2026-11-16 08:00"),
    snap("2026-11-18 08:00"),
    snap("2026-11-18 20:00"),
    snap("2026-11-19 08:00"),
    snap("2026-11-20 08:00"),
    snap("2026-11-20 14:00"),
    snap("2026-11-20 14:45"),
]
NOW = ns("2026-11-21 12:00")

GOLDEN: list[tuple[str, KeepPolicy, dict[str, tuple[str, ...]]]] = [
    ("last 3", KeepPolicy(last=3), {
        "2026-11-20 14:45": ("last",),
        "2026-11-20 14:00": ("last",),
        "2026-11-20 08:00": ("last",),
    }),
    ("last more than there are", KeepPolicy(last=20),
     {when: ("last",) for when, _ in TIMELINE}),
    ("hourly 3: the newest of each hour", KeepPolicy(hourly=3), {
        "2026-11-20 14:45": ("hourly 2026-11-20 14:00",),
        "2026-11-20 08:00": ("hourly 2026-11-20 08:00",),
        "2026-11-19 08:00": ("hourly 2026-11-19 08:00",),
    }),
    ("daily 2: counts run out, the oldest is not kept", KeepPolicy(daily=2), {
        "2026-11-20 14:45": ("daily 2026-11-20",),
        "2026-11-19 08:00": ("daily 2026-11-19",),
    }),
    ("daily 5: days without a snapshot do not count", KeepPolicy(daily=5), {
        "2026-11-20 14:45": ("daily 2026-11-20",),
        "2026-11-19 08:00": ("daily 2026-11-19",),
        "2026-11-18 20:00": ("daily 2026-11-18",),
        "2026-11-16 08:00": ("daily 2026-11-16",),
        "2026-11-01 00:30": ("daily 2026-11-01",),
    }),
    ("weekly 3: ISO weeks, Saturday and Sunday in one", KeepPolicy(weekly=3), {
        "2026-11-20 14:45": ("weekly 2026-W47",),
        "2026-11-01 00:30": ("weekly 2026-W44",),
        "2026-10-15 09:00": ("weekly 2026-W42",),
    }),
    ("monthly 2: month boundary at local midnight", KeepPolicy(monthly=2), {
        "2026-11-20 14:45": ("monthly 2026-11",),
        "2026-10-31 23:30": ("monthly 2026-10",),
    }),
    ("yearly 3: counts left, so the oldest is kept too", KeepPolicy(yearly=3), {
        "2026-11-20 14:45": ("yearly 2026",),
        "2026-09-28 10:00": ("oldest yearly 2026",),
    }),
    ("restic's everyday combination", KeepPolicy(last=2, daily=3, weekly=2, monthly=2), {
        "2026-11-20 14:45": ("last", "daily 2026-11-20", "weekly 2026-W47", "monthly 2026-11"),
        "2026-11-20 14:00": ("last",),
        "2026-11-19 08:00": ("daily 2026-11-19",),
        "2026-11-18 20:00": ("daily 2026-11-18",),
        "2026-11-01 00:30": ("weekly 2026-W44",),
        "2026-10-31 23:30": ("monthly 2026-10",),
    }),
    ("within 2d of the newest snapshot (not of now)", KeepPolicy(within=2 * DAY), {
        when: ("within 2d",) for when in (
            "2026-11-20 14:45", "2026-11-20 14:00", "2026-11-20 08:00", "2026-11-19 08:00",
            "2026-11-18 20:00")
    }),
    ("tags are kept whatever the counts", KeepPolicy(last=1, tags=("pre-update", "absent")), {
        "2026-11-20 14:45": ("last",),
        "2026-10-15 09:00": ("tag pre-update",),
    }),
    ("every reason is reported", KeepPolicy(last=1, daily=1, within=3600, tags=("pre-update",)), {
        "2026-11-20 14:45": ("within 1h", "last", "daily 2026-11-20"),
        "2026-11-20 14:00": ("within 1h",),  # 45 minutes before the newest
        "2026-10-15 09:00": ("tag pre-update",),
    }),
]


EXPECTED = {name: expected for name, _, expected in GOLDEN}
WITHIN_2D = EXPECTED["within 2d of the newest snapshot (not of now)"]


def kept(decisions: Sequence[Decision]) -> dict[str, tuple[str, ...]]:
    return {d.snapshot_id: d.reasons for d in decisions if d.keep}


@pytest.mark.parametrize(("policy", "expected"), [(p, e) for _, p, e in GOLDEN],
                         ids=[name for name, _, _ in GOLDEN])
def test_golden_policies(policy: KeepPolicy, expected: dict[str, tuple[str, ...]]) -> None:
    decisions = apply_policy(TIMELINE, policy, NOW, tz=UTC)
    assert [d.snapshot_id for d in decisions] == [sid for sid, _ in TIMELINE]  # input order
    assert kept(decisions) == expected
    assert all(d.reasons == () for d in decisions if not d.keep)


def test_order_of_the_input_does_not_matter() -> None:
    policy = KeepPolicy(last=2, daily=3, weekly=2, monthly=2)
    shuffled = TIMELINE[5:] + TIMELINE[:5]
    expected = EXPECTED["restic's everyday combination"]
    assert kept(apply_policy(shuffled, policy, NOW, tz=UTC)) == expected


def test_an_empty_policy_keeps_everything() -> None:
    decisions = apply_policy(TIMELINE, KeepPolicy(), NOW, tz=UTC)
    assert all(d.keep and d.reasons == ("policy is empty",) for d in decisions)
    assert KeepPolicy().empty and not KeepPolicy(tags=("x",)).empty


def test_no_snapshots() -> None:
    assert apply_policy([], KeepPolicy(last=3), NOW) == []


def test_a_snapshot_dated_in_the_future_does_not_move_the_within_window() -> None:
    future = snap("2027-06-01 00:00")  # a machine with a wrong clock
    decisions = apply_policy([*TIMELINE, future], KeepPolicy(within=2 * DAY), NOW, tz=UTC)
    assert set(kept(decisions)) == {future[0], *WITHIN_2D}


def test_within_is_not_counted_from_now() -> None:
    # Backups stopped a year ago: "within 2d" still keeps the last two days of them.
    later = ns("2027-11-21 12:00")
    assert set(kept(apply_policy(TIMELINE, KeepPolicy(within=2 * DAY), later, tz=UTC))) == set(
        WITHIN_2D)


MULTI = [
    snap("2026-11-18 08:00", host="laptop"),
    snap("2026-11-18 09:00", host="server"),
    snap("2026-11-19 08:00", host="laptop"),
    snap("2026-11-19 09:00", host="laptop", sources=("/home/me/notes",)),
    snap("2026-11-19 10:00", host="laptop", sources=("/home/me/notes",), tags=("t",)),
    snap("2026-11-20 08:00", host="laptop"),
]


def test_each_host_and_set_of_sources_is_its_own_group() -> None:
    decisions = apply_policy(MULTI, KeepPolicy(last=1), NOW, tz=UTC)
    assert kept(decisions) == {
        "2026-11-18 09:00": ("last",),  # the server's only snapshot survives the laptop's
        "2026-11-19 10:00": ("last",),  # ~/notes is not counted against ~/.openclaw
        "2026-11-20 08:00": ("last",),
    }
    groups = {d.snapshot_id: d.group for d in decisions}
    # Grouped by mode too since issue 11 (the old default, host and paths, was the defect).
    assert groups["2026-11-18 09:00"] == Group("server", ("/home/me/.openclaw",), None, "full")
    assert groups["2026-11-19 09:00"].describe() == (
        "host laptop; sources /home/me/notes; mode full")


def test_group_by_can_be_narrowed_or_dropped() -> None:
    by_host = apply_policy(MULTI, KeepPolicy(last=1), NOW, group_by=("host",), tz=UTC)
    assert set(kept(by_host)) == {"2026-11-18 09:00", "2026-11-20 08:00"}
    one_group = apply_policy(MULTI, KeepPolicy(last=1), NOW, group_by=(), tz=UTC)
    assert set(kept(one_group)) == {"2026-11-20 08:00"}
    by_tags = apply_policy(MULTI, KeepPolicy(last=1), NOW, group_by=("tags",), tz=UTC)
    assert set(kept(by_tags)) == {"2026-11-19 10:00", "2026-11-20 08:00"}
    with pytest.raises(ValueError, match="group by"):
        apply_policy(MULTI, KeepPolicy(last=1), NOW, group_by=("user",))


# Issue 11, item 1: a full snapshot every morning and, on some days, a config-only one before
# an update (the "pre-update" habit). Grouped by host and paths only, the config-only snapshot
# was that day's "daily" and --keep-daily 7 removed the full snapshots of those days, with the
# sessions, memory and workspaces only they held.
HABIT = [
    *(snap(f"2026-11-{day:02d} 08:00") for day in range(10, 21)),
    snap("2026-11-14 12:00", mode="config-only", tags=("pre-update",)),
    snap("2026-11-17 12:00", mode="config-only", tags=("pre-update",)),
    snap("2026-11-20 12:00", mode="config-only", tags=("pre-update",)),
]


def test_config_only_snapshots_do_not_take_the_daily_place_of_full_ones() -> None:
    decisions = apply_policy(HABIT, KeepPolicy(daily=7), NOW, tz=UTC)
    assert kept(decisions) == {
        **{f"2026-11-{day:02d} 08:00": (f"daily 2026-11-{day:02d}",) for day in range(14, 21)},
        "2026-11-20 12:00": ("daily 2026-11-20",),
        "2026-11-17 12:00": ("daily 2026-11-17",),
        "2026-11-14 12:00": ("daily 2026-11-14",),
    }
    full = [d for d in decisions if d.snapshot.mode == "full"]
    assert [d.snapshot_id for d in full if not d.keep] == [
        f"2026-11-{day:02d} 08:00" for day in range(10, 14)]
    groups = {d.group for d in decisions}
    assert groups == {Group("laptop", ("/home/me/.openclaw",), None, "full"),
                      Group("laptop", ("/home/me/.openclaw",), None, "config-only")}


def test_without_mode_in_group_by_the_old_rule_applies() -> None:
    # What --group-by host,paths still does on request: one daily per day, whatever the mode.
    decisions = apply_policy(HABIT, KeepPolicy(daily=7), NOW, group_by=("host", "paths"),
                             tz=UTC)
    removed = {d.snapshot_id for d in decisions if not d.keep}
    assert {"2026-11-14 08:00", "2026-11-17 08:00", "2026-11-20 08:00"} <= removed


@pytest.mark.parametrize(("group_by", "groups"), [
    (("host", "paths", "tags", "mode"), 2),
    (("mode",), 2),
    (("tags",), 2),
    (("host", "paths"), 1),
    ((), 1),
])
def test_any_subset_of_fields_groups(group_by: tuple[str, ...], groups: int) -> None:
    decisions = apply_policy(HABIT, KeepPolicy(last=1), NOW, group_by=group_by, tz=UTC)
    assert len({d.group for d in decisions}) == groups
    assert sum(d.keep for d in decisions) == groups  # one "last" per group
    assert all((d.group.mode is None) == ("mode" not in group_by) for d in decisions)


def test_group_by_names_the_fields_it_accepts() -> None:
    with pytest.raises(ValueError, match="host, paths, tags, mode"):
        apply_policy(HABIT, KeepPolicy(last=1), NOW, group_by=("hostname",))


@pytest.fixture
def eastern(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC-5 (a POSIX TZ string: no tz database needed)."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_buckets_are_in_local_time(eastern: None) -> None:
    series = [snap("2026-11-18 12:00"), snap("2026-11-19 12:00"), snap("2026-11-19 23:00"),
              snap("2026-11-20 03:00")]
    in_utc = apply_policy(series, KeepPolicy(daily=2), NOW, tz=UTC)
    assert kept(in_utc) == {"2026-11-20 03:00": ("daily 2026-11-20",),
                            "2026-11-19 23:00": ("daily 2026-11-19",)}
    local = apply_policy(series, KeepPolicy(daily=2), NOW)  # 03:00 UTC is 22:00 the day before
    assert kept(local) == {"2026-11-20 03:00": ("daily 2026-11-19",),
                           "2026-11-18 12:00": ("daily 2026-11-18",)}


def test_remove_named() -> None:
    decisions = remove_named(TIMELINE, ["2026-11-19 08:00", "2026-09-28 10:00"])
    assert [(d.snapshot_id, d.keep, d.reasons) for d in decisions] == [
        ("2026-09-28 10:00", False, ("named",)), ("2026-11-19 08:00", False, ("named",))]


def test_policy_validation_and_description() -> None:
    with pytest.raises(ValueError):
        KeepPolicy(daily=-1)
    with pytest.raises(ValueError):
        KeepPolicy(within=0)
    policy = KeepPolicy(last=1, daily=7, weekly=4, within=7 * DAY, tags=("pre-update",))
    assert policy.describe() == ("keep 1 latest, 7 daily, 4 weekly snapshot(s) and all within "
                                 "7d of the newest and all tagged pre-update")


@pytest.mark.parametrize(("text", "seconds", "shown"), [
    ("12h", 12 * 3600, "12h"), ("7d", 7 * DAY, "7d"), ("2w", 14 * DAY, "14d"),
    ("6m", 180 * DAY, "180d"), ("1y", 365 * DAY, "365d"), ("1y6m", 545 * DAY, "545d"),
    ("1d12h", 1.5 * DAY, "1d12h"), (" 3D ", 3 * DAY, "3d"),
])
def test_durations(text: str, seconds: float, shown: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(parse_duration(text)) == shown


@pytest.mark.parametrize("text", ["", "7", "d", "7x", "7d 2h", "-1d", "0d", "1.5d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
