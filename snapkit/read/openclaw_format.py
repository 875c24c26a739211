"""The names of the ``openclaw backup create`` archive format (OpenClaw 2026.9) and the reading
of an archive's ``manifest.json``; :mod:`snapkit.read.openclaw_archive` describes the format and
writes it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from snapkit.read.treewalk import Parts, UnsafeName, check_name

MANIFEST = "manifest.json"
PAYLOAD = "payload"
SCHEMA_VERSION = 1
ROOT_SUFFIX = "-openclaw-backup"
MANIFEST_MAX = 1024 * 1024  # OpenClaw's verify refuses a bigger manifest
CONFIG_ONLY = "config-only"

DRIVE = re.compile(r"^([A-Za-z]):[\\/]")


# ------------------------------------------------------------------ names


def archive_root(time_ns: int) -> str:
    """OpenClaw's root directory name for a backup taken at ``time_ns`` (in UTC, so the same
    snapshot always gives the same name)."""
    ms = time_ns // 1_000_000
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(ms // 1000))
    return f"{stamp}.{ms % 1000:03d}+00-00{ROOT_SUFFIX}"


def created_at(time_ns: int) -> str:
    """``createdAt`` as JavaScript's ``Date.toISOString`` writes it."""
    ms = time_ns // 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def payload_parts(parts: Parts) -> Parts:
    """Stored path components → their place below ``<root>/payload``."""
    if parts and len(parts[0]) == 2 and parts[0].endswith(":"):
        return ("windows", parts[0][0].upper(), *parts[1:])
    return ("posix", *parts)


def source_parts(path: str) -> Parts | None:
    """An absolute path recorded in metadata ("/a/b" or "C:\\a\\b") as tree components, or
    None when it is relative or holds a component that could escape (``..``, NUL...)."""
    drive = DRIVE.match(path)
    if drive:
        rest = path[3:].replace("\\", "/")
        parts: Parts = (drive.group(1).upper() + ":", *(p for p in rest.split("/") if p))
    elif path.startswith("/"):
        parts = tuple(p for p in path.split("/") if p)
    else:
        return None
    try:
        for i, p in enumerate(parts):
            if i or not p.endswith(":"):
                check_name(p, parts[:i])
    except UnsafeName:
        return None
    return parts


def path_text(parts: Parts) -> str:
    if parts and parts[0].endswith(":"):
        return parts[0] + "\\" + "\\".join(parts[1:])
    return "/" + "/".join(parts)


# ------------------------------------------------------------------ reading


def manifest_doc(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def declared_sources(doc: Mapping[str, Any]) -> list[str]:
    """Source paths a ``manifest.json`` declares, in its known spellings."""
    out: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, Mapping):
            for key in ("sourcePath", "path", "source"):
                if isinstance(value.get(key), str):
                    out.append(value[key])
                    return

    for key in ("assets", "sources", "entries"):
        values = doc.get(key)
        if isinstance(values, list):
            for v in values:
                add(v)
    paths = doc.get("paths")
    if isinstance(paths, Mapping):
        add(paths.get("stateDir"))
    add(doc.get("stateDir"))
    return out


def relative_prefixes(doc: Mapping[str, Any], top: str) -> list[tuple[Parts, Parts]]:
    """``payload/relative/...`` prefixes a manifest maps exactly: an asset whose
    ``archivePath`` lies there and whose ``sourcePath`` is absolute. Anything else below
    ``payload/relative`` has no recorded base directory."""
    out: list[tuple[Parts, Parts]] = []
    assets = doc.get("assets")
    for asset in assets if isinstance(assets, list) else ():
        if not isinstance(asset, Mapping):
            continue
        archive, source = asset.get("archivePath"), asset.get("sourcePath")
        if not isinstance(archive, str) or not isinstance(source, str):
            continue
        parts = tuple(p for p in archive.split("/") if p)
        if (len(parts) < 4 or parts[:3] != (top, PAYLOAD, "relative")
                or any(p in (".", "..") or "\0" in p for p in parts)):
            continue
        absolute = source_parts(source)
        if absolute is not None:
            out.append((parts, absolute))
    return out


def snapshot_mode(doc: Mapping[str, Any]) -> str:
    """``config-only`` for an ``openclaw backup create --only-config`` archive, else full."""
    options = doc.get("options")
    if isinstance(options, Mapping) and options.get("onlyConfig") is True:
        return CONFIG_ONLY
    return "full"


def iso_ns(text: Any) -> int | None:
    """``createdAt`` as nanoseconds, or None."""
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000
