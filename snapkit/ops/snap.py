"""``snap``: take a snapshot of the sources a request names into the repository.

The operation loads the config, resolves the sources and their rules (``snapkit.select.sources``),
opens the repository (creating it when nothing is there yet) under a shared lock, picks the
parent whose unchanged files are reused, and builds the snapshot
(:func:`snapkit.capture.snapshot.create_snapshot`) inside the gateway lifecycle when a source
belongs
to OpenClaw (:func:`snapkit.capture.service.gateway_lifecycle`). The manifest is saved — the commit
point — only after the gateway is running again, so it records how the restart went.

:func:`preview` is the dry run: what the same request would take, touching no repository.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from snapkit.capture.file import CaptureFile, capture_file
from snapkit.capture.snapshot import Progress, SnapOptions, create_snapshot
from snapkit.format.host import host_name
from snapkit.format.model import Snapshot
from snapkit.maintain.selection import find_parent, resolve
from snapkit.ops.events import Event, OnEvent, Throttle, ignore
from snapkit.ops.repo import Location, open_repository
from snapkit.select.config import LoadedConfig, ServicePolicy, SymlinkPolicy, load_config
from snapkit.select.sources import SourcePlan, plan_sources
from snapkit.store.local_cache import cache_root
from snapkit.store.location import is_remote

if TYPE_CHECKING:
    from snapkit.capture.dryrun import DryRunReport
    from snapkit.capture.service import ServiceRecord


@dataclass(frozen=True)
class SnapRequest:
    """What to snapshot and how: the ``snap`` command's options."""

    paths: tuple[str, ...] = ()  # none: the OpenClaw installation
    tags: tuple[str, ...] = ()
    host: str | None = None  # None: this machine's name
    parent: str | None = None  # a selector; None: the newest snapshot of the same sources
    force: bool = False  # re-read every file (no parent)
    mode: str = "full"
    symlinks: SymlinkPolicy | None = None  # None: the config's
    excludes: tuple[str, ...] = ()
    #: leave out a directory holding a file of one of these names (--exclude-if-present,
    #: --exclude-caches: CACHEDIR.TAG)
    markers: tuple[str, ...] = ()
    one_file_system: bool = False  # leave out directories on another filesystem (mounts)
    service_policy: ServicePolicy | None = None  # None: the config's
    service_control: bool = True  # False: never stop or start the gateway
    config: str | None = None  # the config file; None: the usual lookup
    #: the time to record in the manifest (``--time``, ns since the epoch); None: the start
    time_ns: int | None = None


@dataclass(frozen=True)
class SnapProgress(Event):
    """Running totals of the snapshot being taken."""

    files: int
    dirs: int
    bytes_seen: int
    bytes_read: int
    elapsed_s: float
    current: str
    #: what the parent snapshot held (files, bytes): the likely totals; None without a parent
    total_files: int | None = None
    total_bytes: int | None = None

    @property
    def fraction(self) -> float | None:
        """How far along, by bytes seen against the parent's total (None: unknown)."""
        if not self.total_bytes or self.bytes_seen > self.total_bytes:
            return None  # no totals, or the run outgrew them: they no longer tell
        return self.bytes_seen / self.total_bytes

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None: unknown, or too early to tell)."""
        done = self.fraction
        if done is None or done <= 0 or self.elapsed_s < 1.0:
            return None
        return self.elapsed_s * (1 - done) / done


@dataclass(frozen=True)
class ServiceWarning(Event):
    """A warning of the gateway lifecycle (also kept in the manifest's service record)."""

    message: str


@dataclass(frozen=True)
class ServiceAlert(Event):
    """The gateway stopped for the snapshot could not be started again."""

    message: str


@dataclass(frozen=True)
class SnapResult:
    snapshot_id: str
    snapshot: Snapshot
    parent_id: str | None
    #: What the gateway lifecycle saw and did; None when no source belongs to OpenClaw.
    service: ServiceRecord | None

    @property
    def gateway_down(self) -> bool:
        """The gateway was stopped for the snapshot and is not running again."""
        return self.service is not None and self.service.gateway_down

    @property
    def complete(self) -> bool:
        """Every selected file was read (none skipped as unreadable)."""
        return not any(k.reason == "unreadable" for k in self.snapshot.skipped)


def _plan(location: Location, request: SnapRequest) -> tuple[LoadedConfig, SourcePlan]:
    loaded = load_config(request.config)
    local = None if isinstance(location, str) and is_remote(location) else str(location)
    plan = plan_sources(request.paths, request.mode, request.symlinks, loaded,
                        request.excludes, repository=local, markers=request.markers,
                        one_file_system=request.one_file_system)
    return loaded, plan


def preview(location: Location, request: SnapRequest, list_paths: bool = False) -> DryRunReport:
    """What ``snap`` would take for ``request`` and what each rule leaves out (the dry run).

    ``location`` is only compared with the sources (a repository inside one is left out)."""
    from snapkit.capture.dryrun import dry_run  # the dry run only

    loaded, plan = _plan(location, request)
    return dry_run(plan.sources, plan.matcher_for, plan.symlinks, list_paths,
                   sqlite=loaded.config.sqlite)


def snap(location: Location, request: SnapRequest, *,
         confirm: Callable[[str], bool] | None = None, on_event: OnEvent = ignore,
         progress_interval: float = 0.2, capture: CaptureFile = capture_file) -> SnapResult:
    """Take the snapshot; return its id and manifest.

    ``confirm`` is asked before the gateway is stopped (None: not asked). Progress comes as
    :class:`SnapProgress` events at most once per ``progress_interval`` seconds. ``capture``
    reads one file into the store (see ``create_snapshot``).
    """
    loaded, plan = _plan(location, request)
    repo = open_repository(location, create=True, on_event=on_event)
    hostname = request.host or host_name()
    with repo.lock(exclusive=False, operation="snap"):
        snapshots = repo.snapshots()
        # The snapshot of the same sources taken last (by its real start, whatever --time
        # recorded): the parent unless one is named. With --force every file is read all the
        # same (SnapOptions.force); the parent only tells new, changed and unmodified apart.
        newest = find_parent(sorted(snapshots, key=taken_order), plan.sources, hostname,
                             request.mode)
        parent = resolve(request.parent, snapshots) if request.parent else newest
        likely = parent[1] if parent else newest[1] if newest else None
        opts = SnapOptions(
            sources=plan.sources,
            hostname=hostname,
            tags=request.tags,
            mode=request.mode,
            force=request.force,
            symlinks=plan.symlinks,
            matchers=plan.matcher_for,
            zstd_level=loaded.config.zstd_level,
            sqlite=loaded.config.sqlite,
            openclaw=(plan.installation.to_dict()
                      if plan.installation is not None and plan.touches_openclaw else {}),
            cache=cache_root(),
        )
        lifecycle: AbstractContextManager[ServiceRecord | None] = nullcontext(None)
        if plan.touches_openclaw:  # the gateway's lifecycle (psutil and all) for OpenClaw only
            from snapkit.capture.service import gateway_lifecycle, selector

            lifecycle = gateway_lifecycle(
                plan.sources, loaded.config.service, policy=request.service_policy,
                control=request.service_control, confirm=confirm,
                warn=lambda message: on_event(ServiceWarning(message)),
                alert=lambda message: on_event(ServiceAlert(message)),
                selected=selector(plan.sources, plan.matcher_for),
                port=plan.installation.gateway_port if plan.installation else None,
            )
        with lifecycle as record:
            _, manifest = create_snapshot(repo, opts, parent,
                                          _progress(on_event, progress_interval, likely),
                                          commit=False, capture=capture,
                                          time_ns=request.time_ns)
        if record is not None:  # after the restart, so the manifest says how it went
            manifest = replace(manifest, service=record.to_dict())
        snap_id = repo.save_snapshot(manifest)
        repo.flush_damage()  # a parent tree found damaged: no later run trusts it
    return SnapResult(snap_id, manifest, parent[0] if parent else None, record)


def taken_order(pair: tuple[str, Snapshot]) -> tuple[int, bool, str]:
    """The order snapshots were taken in: by real start (a ``--time`` in the past or future
    does not move a snapshot there), else as
    :func:`~snapkit.format.model.snapshot_order`."""
    sid, snap = pair
    return snap.taken_ns, not snap.is_import, sid


def _progress(on_event: OnEvent, interval: float,
              parent: Snapshot | None = None) -> Callable[[Progress], None]:
    """The builder's progress callback: its counters as throttled :class:`SnapProgress`,
    with the ``parent`` snapshot's totals as the likely ones. It is called as each file is
    done and as each piece of a file is read, so a big file's bytes show as they are read;
    the bytes seen are those done (:attr:`~snapkit.capture.counts.Progress.bytes_done`)."""
    throttle = Throttle(interval)
    files = parent.summary.total_files if parent is not None else None
    size = parent.summary.total_bytes if parent is not None else None

    def on_progress(p: Progress) -> None:
        if throttle.due():
            elapsed = max(time.monotonic() - p.started, 1e-6)
            on_event(SnapProgress(p.files, p.dirs, p.bytes_done, p.bytes_read, elapsed,
                                  p.current, files, size))

    return on_progress
