"""A keep policy: how many snapshots of each period ``forget`` keeps, within how long, and
which tags are kept whatever their age — the record the ``--keep-*`` options and the config's
``retention`` both give (``snapkit.maintain.retention`` applies it).
"""

from __future__ import annotations

from dataclasses import dataclass

from snapkit.select.durations import format_duration


@dataclass(frozen=True)
class KeepPolicy:
    """What to keep. Counts are numbers of buckets; ``within`` is in seconds."""

    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: float | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
            if getattr(self, name) < 0:
                raise ValueError(f"keep {name} must be 0 or more")
        if self.within is not None and self.within <= 0:
            raise ValueError("keep within must be a positive duration")

    @property
    def empty(self) -> bool:
        """True when no rule is set (such a policy keeps everything)."""
        counts = (self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly)
        return not any(counts) and self.within is None and not self.tags

    def describe(self) -> str:
        """One line for humans: ``keep 7 daily, 4 weekly snapshots and ...``."""
        counts = [f"{n} {name}" for n, name in (
            (self.last, "latest"), (self.hourly, "hourly"), (self.daily, "daily"),
            (self.weekly, "weekly"), (self.monthly, "monthly"), (self.yearly, "yearly"),
        ) if n]
        parts = [", ".join(counts) + " snapshot(s)"] if counts else []
        if self.within is not None:
            parts.append(f"all within {format_duration(self.within)} of the newest")
        if self.tags:
            parts.append("all tagged " + ", ".join(self.tags))
        return "keep " + " and ".join(parts) if parts else "keep everything (empty policy)"
