"""``restore``: write a snapshot's files back, below a target directory or in place.

Under a shared lock the snapshot is resolved, the ``includes``/``excludes`` (absolute, or
relative to a source as ``ls`` takes them) are matched against its sources, and
:func:`snapkit.read.restore.restore_snapshot` plans, then writes (each file to a temp name, then
renamed; partial files an interrupted restore left in the target are removed). An include
that matches nothing is reported as an :class:`UnmatchedInclude` event, not an error. On a
damaged repository every intact file is restored and the others are listed in
``result.failed`` (``fail_fast``: the first damage is raised instead). With ``delete``, a
clean restore then removes what the target holds below the sources beyond the snapshot
(``result.extras``); one that failed anywhere removes nothing. What the snapshot never tried
to hold is kept (:func:`delete_scope`): what it skipped, special files, and what its exclusion
rules left out, those rebuilt from the current config (``--config``) as ``snap`` builds them
for the snapshot's mode. The manifest names the rule set of each source, not ``snap``'s
command-line ``--exclude``/``--exclude-if-present``/``--exclude-caches``/``--one-file-system``:
a source whose rules came only from there keeps everything (unless the restore's own
``--exclude`` patterns stand for them); one whose config rules were joined by such options
is judged by the config's alone (the limit the guide names).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from snapkit.format.errors import Interrupted, UsageError
from snapkit.format.model import ChunkerParams, Snapshot
from snapkit.format.paths import split_path
from snapkit.maintain.selection import resolve
from snapkit.ops.events import Event, OnEvent, file_counter, ignore
from snapkit.ops.repo import Location, reading
from snapkit.read.restore import (
    Chunker,
    Overwrite,
    RestoreOptions,
    RestoreResult,
    restore_snapshot,
)
from snapkit.read.treewalk import or_empty
from snapkit.store.location import is_remote

if TYPE_CHECKING:
    from snapkit.read.restore_delete import Scope
    from snapkit.select.rules import Matcher, RuleSet


@dataclass(frozen=True)
class UnmatchedInclude(Event):
    """An include pattern matches nothing in the snapshot."""

    pattern: str
    snapshot_id: str


@dataclass(frozen=True)
class RestoreOutcome:
    snapshot_id: str
    target: str  # absolute
    result: RestoreResult  # what was (with ``dry_run``: would be) written
    unmatched_includes: tuple[str, ...]


def restore(location: Location, snapshot: str, target: str, *, in_place: bool = False,
            overwrite: Overwrite = "never", includes: Sequence[str] = (),
            excludes: Sequence[str] = (), dry_run: bool = False, no_lock: bool = False,
            fail_fast: bool = False, verify: bool = False, delete: bool = False,
            config: str | None = None, on_event: OnEvent = ignore,
            progress_interval: float = 0.2) -> RestoreOutcome:
    """Restore ``snapshot`` (a selector) below ``target`` (``/`` with ``in_place``: the
    original paths); ``overwrite`` says what happens to existing files that differ;
    ``delete`` removes, after a clean restore, what the target holds below the snapshot's
    sources (within the filters) that the snapshot does not, and did not leave out on
    purpose (``config``: the config file whose rules say so; None: the usual one).

    Each file written is reported as a :class:`~snapkit.ops.events.FileWritten` event, at
    most once per ``progress_interval`` seconds."""
    with reading(location, no_lock, "restore", on_event) as repo:
        snap_id, snap = resolve(snapshot, repo.snapshots())
        unmatched: tuple[str, ...] = ()
        patterns: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        if includes or excludes:  # (browse and the pattern rules: only when needed)
            from snapkit.read.browse import source_patterns, unmatched_patterns

            damaged: list[str] = []  # trees that cannot be loaded: listed by the restore
            load = repo.load_tree if fail_fast else or_empty(repo.load_tree, damaged)
            unmatched = tuple(unmatched_patterns(load, snap, includes))
            if damaged:  # an include may name something below a damaged tree: cannot tell
                unmatched = ()
            patterns = (source_patterns(includes, snap.sources),
                        source_patterns(excludes, snap.sources))
        for pattern in unmatched:
            on_event(UnmatchedInclude(pattern, snap_id))
        opts = RestoreOptions(target=os.path.abspath(os.path.expanduser(target)),
                              in_place=in_place, overwrite=overwrite, dry_run=dry_run,
                              includes=patterns[0], excludes=patterns[1],
                              fail_fast=fail_fast, verify=verify, delete=delete,
                              scope=delete_scope(location, snap, config, bool(excludes))
                              if delete else None)
        counter = file_counter(on_event, progress_interval)
        chunker = _LazyChunker(repo.config.chunker, repo.cipher.content_id)
        try:
            result = restore_snapshot(repo.load_tree, repo.read_blobs, snap, opts, chunker,
                                      counter, counter.planned)
        except (KeyboardInterrupt, Interrupted) as exc:
            if dry_run:
                raise
            raise Interrupted(_stopped(exc, opts)) from exc
    return RestoreOutcome(snap_id, opts.target, result, unmatched)


def _stopped(exc: BaseException, opts: RestoreOptions) -> str:
    """The line for a restore stopped by Ctrl-C or SIGTERM: what the target holds, the fix."""
    how = "terminated (SIGTERM)" if isinstance(exc, Interrupted) else "interrupted"
    where = "in place" if opts.in_place else f"into {opts.target}"
    return (f"{how}; the restore {where} is incomplete (each file it wrote is whole): run it "
            "again with --overwrite if-changed to finish it; the repository is unchanged")


def delete_scope(location: Location, snap: Snapshot, config: str | None = None,
                 stand_in: bool = False) -> Scope:
    """What ``snap`` tried to hold, for ``restore --delete``: its skipped paths, its symlink
    policy and each source's exclusion rules, rebuilt from the config (see the module
    docstring); ``stand_in``: the restore's ``--exclude`` patterns stand for rules that
    cannot be rebuilt."""
    from snapkit.read.restore_delete import Scope, SourceScope
    from snapkit.select.config import load_config
    from snapkit.select.openclaw import Installation, discover
    from snapkit.select.sources import mode_subset

    loaded = load_config(config)
    inst = Installation.from_dict(snap.openclaw) if snap.openclaw else discover()
    no_mode = ""
    try:
        matchers = mode_subset(snap.sources, snap.mode, loaded, inst)
    except UsageError:
        matchers, no_mode = {}, f"its mode {snap.mode!r} is not in the current config"
    left_out = {k.path: f"{k.reason} {'to' if k.reason == 'symlink' else '-'} {k.detail}"
                if k.detail else k.reason for k in snap.skipped}
    if not is_remote(str(location)):  # (a snapshot never holds its repository)
        left_out[os.path.abspath(location)] = "the repository itself"
    sources = []
    for src in snap.sources:
        line = next((r[len(src) + 2:] for r in snap.rules if r.startswith(f"{src}: ")), None)
        if line is None and snap.rules:
            continue  # a source inside another: taken by the outer one's rules
        matcher = None if line == "no rules" else matchers.get(src)
        why = "" if stand_in or line == "no rules" else _unknown(snap, line, matcher, no_mode)
        fix = "pass them to restore as --exclude to delete the rest"
        sources.append(SourceScope(split_path(src), matcher,
                                   f"the snapshot's rules for {src} {why}; {fix}" if why else ""))
    symlinks = any(k.reason == "symlink" for k in snap.skipped) or (
        not snap.summary.symlinks and loaded.config.symlinks == "skip")
    return Scope(tuple(sources), left_out, symlinks)


def _unknown(snap: Snapshot, line: str | None, matcher: Matcher | None, no_mode: str) -> str:
    """Why a source's exclusion rules cannot be rebuilt ("": they can)."""
    if no_mode:
        return f"cannot be rebuilt: {no_mode}"
    if snap.is_import:
        return "are an imported archive's"
    if matcher is None:
        return f"cannot be rebuilt: mode {snap.mode} of the current config does not take it"
    if line is not None and line.startswith("user rules") and not _has_rules(matcher.rules):
        return "came from snap's command line, which it does not record"
    return ""


def _has_rules(rules: RuleSet) -> bool:
    """Exclusion rules of the config apply (what makes ``snap`` say "user rules")."""
    return bool(rules.excluded_extensions or rules.excluded_folders or rules.excluded_files
                or rules.exclude)


class _LazyChunker:
    """The repository's chunker, built on first use (importing the content-defined chunking
    only for a restore that compares existing files or verifies what it wrote)."""

    def __init__(self, params: ChunkerParams, blob_id: Callable[[bytes], str]) -> None:
        self._params = params
        self.blob_id = blob_id
        self._chunker: Chunker | None = None

    def chunks(self, stream: BinaryIO, size_hint: int) -> Iterator[bytes]:
        if self._chunker is None:
            from snapkit.capture.chunker import Chunker as ContentChunker

            self._chunker = ContentChunker(self._params, self.blob_id)
        return self._chunker.chunks(stream, size_hint)
