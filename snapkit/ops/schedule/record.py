"""The record of the last scheduled run: a small JSON file ``schedule run`` writes when it
starts (``running``) and again when it ends (``finished``, with the exit code, the result, the
snapshot id), which ``schedule status`` reads.

Written atomically — a temporary file, fsync, rename — with mode ``0600`` in a ``0700``
directory, so a reader sees the old record or the new one, never half of one. A run that was
killed leaves ``running`` behind with its process id: ``status`` tells that apart from a run
still going by asking whether the process is alive.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from snapkit.format.errors import UsageError

FILE_NAME = "schedule-status.json"
VERSION = 1


@dataclass(frozen=True)
class RunRecord:
    state: str  # "running" | "finished"
    started_ns: int
    pid: int
    host: str
    finished_ns: int | None = None
    exit_code: int | None = None
    #: "ok", "incomplete" (exit 3), "gateway down" (4), "failed", "interrupted" (130)
    result: str | None = None
    message: str = ""  # the error's one line, or what the run did
    snapshot_id: str | None = None
    forgotten: int | None = None  # snapshots forget removed (None: no forget ran)
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def write_record(path: Path, record: RunRecord) -> None:
    """Replace the record at ``path`` atomically (``0600``; its folder made ``0700``)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = (json.dumps(record.to_dict(), indent=2) + "\n").encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_record(path: Path) -> RunRecord | None:
    """The record at ``path``; None when no run has written one yet. A record that cannot be
    read (damaged, a directory in its place) raises :class:`UsageError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"the run record {path} cannot be read ({why}); remove it, the next "
                         "scheduled run writes it again") from exc
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return RunRecord.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"the run record {path} is damaged ({exc}); delete it, the next "
                         "scheduled run writes it again") from exc


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (on this machine)."""
    import psutil

    return psutil.pid_exists(pid)
