"""The dry-run report: what a snapshot would take and what each rule leaves out.

It consumes the same walk events, with the same matchers, as the snapshot builder — so the
dry run and the real run select exactly the same files — and touches no repository.
Excluded directories are measured (lstat only) so each rule's cost shows in files and bytes.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from snapkit.capture.sqlite import is_sqlite, is_unstored_sidecar
from snapkit.capture.walk import Enter, Excluded, File, Leave, Link, Matcher, Skip, walk
from snapkit.select.config.defaults import SqlitePolicy, SymlinkPolicy


@dataclass(frozen=True)
class RuleCount:
    files: int = 0
    bytes: int = 0
    entries: int = 0  # directories and files the rule matched directly


@dataclass(frozen=True)
class DryRunReport:
    sources: tuple[tuple[str, str], ...] = ()  # (path, rule set)
    files: int = 0
    bytes: int = 0
    dirs: int = 0
    by_rule: Mapping[str, RuleCount] = field(default_factory=dict)
    symlinks: tuple[tuple[str, str], ...] = ()  # (path, target)
    symlinks_recorded: bool = False
    special: tuple[tuple[str, str], ...] = ()  # (path, kind)
    problems: tuple[tuple[str, str, str], ...] = ()  # vanished/unreadable
    largest: tuple[tuple[int, str], ...] = ()
    paths: tuple[str, ...] = ()

    def rules_by_bytes(self) -> list[tuple[str, RuleCount]]:
        return sorted(self.by_rule.items(), key=lambda kv: (-kv[1].bytes, -kv[1].files, kv[0]))


SIDECAR_RULE = "sqlite sidecar (the database is copied whole)"
SKIP_RULE = "sqlite database (config \"sqlite\": \"skip\")"


class _Tally:
    """The report while the walk runs (frozen into a :class:`DryRunReport` at the end)."""

    def __init__(self, symlinks: SymlinkPolicy, list_paths: bool, top: int,
                 sqlite: SqlitePolicy) -> None:
        self.symlinks_policy, self.list_paths, self.top, self.sqlite = (
            symlinks, list_paths, top, sqlite)
        self.sources: list[tuple[str, str]] = []
        self.files = self.bytes = self.dirs = 0
        self.by_rule: dict[str, list[int]] = {}  # rule -> [files, bytes, entries]
        self.symlinks: list[tuple[str, str]] = []
        self.special: list[tuple[str, str]] = []
        self.problems: list[tuple[str, str, str]] = []
        self.heap: list[tuple[int, str]] = []
        self.paths: list[str] = []
        self.listings: list[frozenset[str]] = []

    def rule(self, name: str, files: int, size: int) -> None:
        count = self.by_rule.setdefault(name, [0, 0, 0])
        count[0] += files
        count[1] += size
        count[2] += 1

    def file(self, path: str, size: int) -> None:
        if self.listings and is_unstored_sidecar(path, self.listings[-1], self.sqlite):
            self.rule(SIDECAR_RULE, 1, size)  # the snapshot stores the database's copy
            return
        if self.sqlite == "skip" and is_sqlite(path):
            self.rule(SKIP_RULE, 1, size)
            return
        self.files += 1
        self.bytes += size
        if len(self.heap) < self.top:
            heapq.heappush(self.heap, (size, path))
        else:
            heapq.heappushpop(self.heap, (size, path))
        if self.list_paths:
            self.paths.append(path)

    def event(self, event: object) -> None:
        if isinstance(event, File):
            self.file(event.entry.path, event.entry.st.st_size)
        elif isinstance(event, Enter):
            self.dirs += 1
            self.listings.append(event.names)
        elif isinstance(event, Leave):
            self.listings.pop()
        elif isinstance(event, Link):
            self.symlinks.append((event.entry.path, event.entry.target or ""))
            if self.list_paths and self.symlinks_policy == "record":
                self.paths.append(event.entry.path)
        elif isinstance(event, Excluded):
            count = self.by_rule.setdefault(event.rule, [0, 0, 0])
            count[0] += event.files
            count[1] += event.bytes
            count[2] += 1
        elif isinstance(event, Skip):
            k = event.skipped
            if k.reason in ("vanished", "unreadable"):
                self.problems.append((k.path, k.reason, k.detail))
            else:
                self.special.append((k.path, k.reason))

    def report(self) -> DryRunReport:
        return DryRunReport(
            sources=tuple(self.sources), files=self.files, bytes=self.bytes, dirs=self.dirs,
            by_rule=MappingProxyType({rule: RuleCount(*c) for rule, c in self.by_rule.items()}),
            symlinks=tuple(self.symlinks), symlinks_recorded=self.symlinks_policy == "record",
            special=tuple(self.special), problems=tuple(self.problems),
            largest=tuple(sorted(self.heap, reverse=True)), paths=tuple(self.paths))


def dry_run(
    sources: tuple[str, ...],
    matcher_for: Callable[[str], tuple[Matcher | None, str]],
    symlinks: SymlinkPolicy,
    list_paths: bool = False,
    top: int = 10,
    sqlite: SqlitePolicy = "backup-api",
) -> DryRunReport:
    tally = _Tally(symlinks, list_paths, top, sqlite)
    for src in sources:
        matcher, description = matcher_for(src)
        tally.sources.append((src, description))
        for event in walk(src, matcher, measure_excluded=True):
            tally.event(event)
    return tally.report()
