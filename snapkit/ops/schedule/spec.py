"""When a scheduled snapshot runs: the :class:`Schedule` record, its parsing from the
``--daily`` / ``--hourly`` / ``--at HH:MM`` options, the next run it gives after a time, and
its spelling for each scheduler (systemd ``OnCalendar``, cron fields, launchd's
``StartCalendarInterval``). Pure: no scheduler is asked anything here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from snapkit.format.errors import UsageError

#: What ``--daily`` alone means: every day at 03:00 local time.
DEFAULT_DAILY = (3, 0)


@dataclass(frozen=True)
class Schedule:
    """Every day at ``hour:minute`` (``daily``), or every hour at ``minute`` (``hourly``),
    in the machine's local time."""

    kind: str  # "daily" | "hourly"
    hour: int = 0
    minute: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("daily", "hourly"):
            raise ValueError(f"unknown schedule kind {self.kind!r}")
        if not (0 <= self.hour < 24 and 0 <= self.minute < 60):
            raise ValueError(f"no such time {self.hour:02}:{self.minute:02}")

    def describe(self) -> str:
        """``daily at 03:00`` / ``hourly at :00``."""
        if self.kind == "hourly":
            return f"hourly at :{self.minute:02}"
        return f"daily at {self.hour:02}:{self.minute:02}"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "hour": self.hour, "minute": self.minute,
                "text": self.describe()}


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_schedule(daily: bool, hourly: bool, at: str | None) -> Schedule:
    """The schedule the install options name: ``--at HH:MM`` (daily at that time),
    ``--hourly`` (every hour on the hour), else ``--daily`` (03:00)."""
    if hourly and (daily or at):
        raise UsageError("--hourly cannot be combined with --daily or --at; pick one "
                         "(--at HH:MM runs daily at that time)")
    if hourly:
        return Schedule("hourly", 0, 0)
    if at is None:
        return Schedule("daily", *DEFAULT_DAILY)
    m = _HHMM.match(at.strip())
    if not m:
        raise UsageError(f"--at {at!r} is not a time of day; write it as HH:MM, 24-hour "
                         "(e.g. --at 03:30)")
    return Schedule("daily", int(m.group(1)), int(m.group(2)))


def next_run(schedule: Schedule, now: datetime) -> datetime:
    """The first time after ``now`` (an aware local time) the schedule fires, aware in the
    same zone rules (a daily time that a DST change skips fires at the shifted wall time)."""
    naive = now.replace(tzinfo=None, second=0, microsecond=0)
    if schedule.kind == "hourly":
        candidate = naive.replace(minute=schedule.minute)
        if candidate <= now.replace(tzinfo=None):
            candidate += timedelta(hours=1)
    else:
        candidate = naive.replace(hour=schedule.hour, minute=schedule.minute)
        if candidate <= now.replace(tzinfo=None):
            candidate += timedelta(days=1)
    return candidate.astimezone()  # naive local -> aware, with that day's offset


# --------------------------------------------------------------------------- per scheduler


def on_calendar(schedule: Schedule) -> str:
    """systemd's ``OnCalendar=`` value (``*-*-* 03:00:00``, ``*-*-* *:00:00``)."""
    if schedule.kind == "hourly":
        return f"*-*-* *:{schedule.minute:02}:00"
    return f"*-*-* {schedule.hour:02}:{schedule.minute:02}:00"


def parse_on_calendar(value: str) -> Schedule | None:
    """The schedule an ``OnCalendar=`` value written by :func:`on_calendar` holds (None: any
    other value, which this module did not write)."""
    m = re.fullmatch(r"\*-\*-\* (\*|\d\d):(\d\d):00", value.strip())
    if not m:
        return None
    if m.group(1) == "*":
        return Schedule("hourly", 0, int(m.group(2)))
    return Schedule("daily", int(m.group(1)), int(m.group(2)))


def cron_fields(schedule: Schedule) -> str:
    """The five time fields of a crontab line (``0 3 * * *``, ``0 * * * *``)."""
    hour = "*" if schedule.kind == "hourly" else str(schedule.hour)
    return f"{schedule.minute} {hour} * * *"


def parse_cron_fields(fields: list[str]) -> Schedule | None:
    """The schedule of five crontab time fields written by :func:`cron_fields` (None: other)."""
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"] or not fields[0].isdigit():
        return None
    minute = int(fields[0])
    if fields[1] == "*":
        return Schedule("hourly", 0, minute)
    return Schedule("daily", int(fields[1]), minute) if fields[1].isdigit() else None


def launchd_interval(schedule: Schedule) -> dict[str, int]:
    """launchd's ``StartCalendarInterval`` dictionary (``{Hour, Minute}`` or ``{Minute}``)."""
    if schedule.kind == "hourly":
        return {"Minute": schedule.minute}
    return {"Hour": schedule.hour, "Minute": schedule.minute}


def parse_launchd_interval(value: object) -> Schedule | None:
    """The schedule of a ``StartCalendarInterval`` written by :func:`launchd_interval`."""
    if not isinstance(value, dict) or not set(value) <= {"Hour", "Minute"}:
        return None
    minute, hour = value.get("Minute"), value.get("Hour")
    if not isinstance(minute, int):
        return None
    if hour is None:
        return Schedule("hourly", 0, minute)
    return Schedule("daily", hour, minute) if isinstance(hour, int) else None
