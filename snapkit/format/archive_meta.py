"""The export-archive metadata: the one record ``snapkit export`` writes into an archive.

It is the ``comment`` record of the archive's PAX global header (every extractor ignores it
without a warning), one JSON object ``{"snapkit": {...}}`` with sorted keys and no spaces, so
two exports of one snapshot are byte-identical. ``export`` writes it, ``verify-archive``
checks an archive's files against its checksums and ``import`` takes the snapshot's identity
from it. ``format`` is its version: a reader refuses one it does not know. The keys are listed
in ``docs/import-export.md`` ("Metadata and verify-archive").

An export from a damaged repository leaves out what it cannot read, and says so in a second
PAX global header placed just before the archive's last member (a header every extractor
reads past; Python's ``tarfile`` cannot end an archive on one): its ``comment`` holds the
same ``{"snapkit": {...}}`` object plus ``"snapkit-omitted": {"entries": [{"name", "type",
"reason"}, ...]}`` — the entry names left out (``type`` "file", or "dir" for a directory
whose listing could not be read: nothing below it is in the archive). The first header
cannot carry the list (it is written before any content is read), so it keeps the planned
checksums; readers take the omitted names from the last header (:func:`decode_omitted`) and
report them as omitted, not missing. A clean export has no second header.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from snapkit.format.errors import UsageError

#: The PAX global header record that holds the metadata, and its top-level key.
PAX_RECORD = "comment"
META_KEY = "snapkit"
#: The version of this record; a reader refuses any other.
META_FORMAT = 1
#: The key of the list of entries an export left out (in the final header only).
OMITTED_KEY = "snapkit-omitted"

Paths = Literal["absolute", "relative"]
Layout = Literal["snapkit", "openclaw"]


@dataclass(frozen=True)
class Omitted:
    """An entry an export left out because the repository could not give it."""

    name: str  # the entry name it would have had (without a trailing / for a directory)
    type: str  # "file" | "dir"
    reason: str


@dataclass(frozen=True)
class ArchiveMeta:
    """What an export records about its snapshot, and a checksum per file.

    Every field has a default so that a reader takes what an archive holds and ignores what it
    lacks (as ``import`` always did); :meth:`encode` writes every key.
    """

    snapshot: str | None = None  # the exported snapshot's id
    sources: tuple[str, ...] = ()
    hostname: str = ""
    username: str = ""
    time_ns: int | None = None  # the snapshot's time (ns since the epoch, UTC)
    snapshot_mode: str = ""  # the snapshot's own mode
    mode: str = ""  # the mode exported (``--mode``, else the snapshot's)
    tags: tuple[str, ...] = ()
    paths: Paths = "absolute"
    layout: Layout = "snapkit"
    #: entry name → xxh3-128 of its content ("" for a file stored without one)
    files: Mapping[str, str] = field(default_factory=dict)
    checksum: str = "xxh3-128"
    program_version: str = ""
    format: int = META_FORMAT

    @property
    def time(self) -> str:
        """The snapshot's time as written next to ``time_ns``: ``%Y-%m-%dT%H:%M:%SZ``, UTC."""
        if self.time_ns is None:
            return ""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time_ns / 1e9))

    def encode(self, omitted: Sequence[Omitted] = ()) -> str:
        """The PAX ``comment`` record's value; with ``omitted``, that of the final header."""
        doc: dict[str, Any] = {
            "format": self.format,
            "program_version": self.program_version,
            "snapshot": self.snapshot,
            "sources": list(self.sources),
            "hostname": self.hostname,
            "username": self.username,
            "time": self.time,
            "time_ns": self.time_ns,
            "snapshot_mode": self.snapshot_mode,
            "mode": self.mode,
            "tags": list(self.tags),
            "paths": self.paths,
            "checksum": self.checksum,
            "files": dict(self.files),
        }
        if self.layout != "snapkit":
            doc["layout"] = self.layout
        record: dict[str, Any] = {META_KEY: doc}
        if omitted:
            record[OMITTED_KEY] = {"entries": [
                {"name": o.name, "type": o.type, "reason": o.reason}
                for o in sorted(omitted, key=lambda o: o.name)]}
        return json.dumps(record, sort_keys=True, separators=(",", ":"))


def decode_omitted(raw: str | None) -> tuple[Omitted, ...]:
    """The entries a final header says were left out (none for any other record)."""
    try:
        doc = json.loads(raw or "")
    except ValueError:
        return ()
    part = doc.get(OMITTED_KEY) if isinstance(doc, dict) else None
    entries = part.get("entries") if isinstance(part, dict) else None
    if not isinstance(entries, list):
        return ()
    return tuple(
        Omitted(e["name"], "dir" if e.get("type") == "dir" else "file", str(e.get("reason", "")))
        for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str))


def decode(raw: str | None, where: str = "the archive") -> ArchiveMeta | None:
    """The metadata in a PAX ``comment`` record, or None when it holds no snapkit metadata
    (no record, not JSON, no ``"snapkit"`` object). A value of the wrong type counts as
    absent; a ``format`` other than :data:`META_FORMAT` is refused (exit 2)."""
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    meta = doc.get(META_KEY) if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        return None
    version = meta.get("format", META_FORMAT)
    if version != META_FORMAT:
        raise UsageError(f"{where} carries snapkit metadata format {version!r}; this snapkit "
                         f"reads format {META_FORMAT} — upgrade snapkit")

    def text(key: str, default: str = "") -> str:
        value = meta.get(key)
        return value if isinstance(value, str) else default

    def texts(key: str) -> tuple[str, ...]:
        value = meta.get(key)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    snapshot = meta.get("snapshot")
    time_ns = meta.get("time_ns")
    files = meta.get("files")
    return ArchiveMeta(
        snapshot=snapshot if isinstance(snapshot, str) and snapshot else None,
        sources=texts("sources"),
        hostname=text("hostname"),
        username=text("username"),
        time_ns=time_ns if isinstance(time_ns, int) and not isinstance(time_ns, bool) else None,
        snapshot_mode=text("snapshot_mode"),
        mode=text("mode"),
        tags=texts("tags"),
        paths="relative" if meta.get("paths") == "relative" else "absolute",
        layout="openclaw" if meta.get("layout") == "openclaw" else "snapkit",
        files={str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {},
        checksum=text("checksum", "xxh3-128"),
        program_version=text("program_version"),
    )
