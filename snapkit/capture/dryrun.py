"""The dry-run report: what a snapshot would take and what each rule leaves out.

It consumes the same walk events, with the same matchers, as the snapshot builder — so the
dry run and the real run select exactly the same files — and touches no repository.
Excluded directories are measured (lstat only) so each rule's cost shows in files and bytes.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from snapkit.capture.sqlite import is_sqlite, is_unstored_sidecar
from snapkit.capture.walk import Enter, Excluded, File, Leave, Link, Matcher, Skip, walk
from snapkit.select.config.defaults import SqlitePolicy, SymlinkPolicy


@dataclass
class RuleCount:
    files: int = 0
    bytes: int = 0
    entries: int = 0  # directories and files the rule matched directly


@dataclass
class DryRunReport:
    sources: list[tuple[str, str]] = field(default_factory=list)  # (path, rule set)
    files: int = 0
    bytes: int = 0
    dirs: int = 0
    by_rule: dict[str, RuleCount] = field(default_factory=dict)
    symlinks: list[tuple[str, str]] = field(default_factory=list)  # (path, target)
    symlinks_recorded: bool = False
    special: list[tuple[str, str]] = field(default_factory=list)  # (path, kind)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # vanished/unreadable
    largest: list[tuple[int, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def rules_by_bytes(self) -> list[tuple[str, RuleCount]]:
        return sorted(self.by_rule.items(), key=lambda kv: (-kv[1].bytes, -kv[1].files, kv[0]))


SIDECAR_RULE = "sqlite sidecar (the database is copied whole)"
SKIP_RULE = "sqlite database (config \"sqlite\": \"skip\")"


def dry_run(
    sources: tuple[str, ...],
    matcher_for: Callable[[str], tuple[Matcher | None, str]],
    symlinks: SymlinkPolicy,
    list_paths: bool = False,
    top: int = 10,
    sqlite: SqlitePolicy = "backup-api",
) -> DryRunReport:
    report = DryRunReport(symlinks_recorded=symlinks == "record")
    heap: list[tuple[int, str]] = []
    for src in sources:
        matcher, description = matcher_for(src)
        report.sources.append((src, description))
        listings: list[frozenset[str]] = []
        for event in walk(src, matcher, measure_excluded=True):
            if isinstance(event, File):
                e = event.entry
                if listings and is_unstored_sidecar(e.path, listings[-1], sqlite):
                    # The snapshot stores the database's consistent copy, not its sidecars.
                    count = report.by_rule.setdefault(SIDECAR_RULE, RuleCount())
                    count.files += 1
                    count.bytes += e.st.st_size
                    count.entries += 1
                    continue
                if sqlite == "skip" and is_sqlite(e.path):
                    count = report.by_rule.setdefault(SKIP_RULE, RuleCount())
                    count.files += 1
                    count.bytes += e.st.st_size
                    count.entries += 1
                    continue
                report.files += 1
                report.bytes += e.st.st_size
                if len(heap) < top:
                    heapq.heappush(heap, (e.st.st_size, e.path))
                else:
                    heapq.heappushpop(heap, (e.st.st_size, e.path))
                if list_paths:
                    report.paths.append(e.path)
            elif isinstance(event, Enter):
                report.dirs += 1
                listings.append(event.names)
            elif isinstance(event, Leave):
                listings.pop()
            elif isinstance(event, Link):
                report.symlinks.append((event.entry.path, event.entry.target or ""))
                if list_paths and symlinks == "record":
                    report.paths.append(event.entry.path)
            elif isinstance(event, Excluded):
                count = report.by_rule.setdefault(event.rule, RuleCount())
                count.files += event.files
                count.bytes += event.bytes
                count.entries += 1
            elif isinstance(event, Skip):
                k = event.skipped
                if k.reason in ("vanished", "unreadable"):
                    report.problems.append((k.path, k.reason, k.detail))
                else:
                    report.special.append((k.path, k.reason))
    report.largest = sorted(heap, reverse=True)
    return report
