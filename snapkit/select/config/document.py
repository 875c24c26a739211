"""A config as a document: what ``config show`` prints and ``config init`` writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from snapkit.format.errors import UsageError
from snapkit.select.config.defaults import EXCLUSION_LISTS
from snapkit.select.config.records import DEFAULT_CONFIG, Config, Retention
from snapkit.select.durations import format_duration


def _seconds(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def config_document(config: Config) -> dict[str, Any]:
    """A config as a JSON-able dict in the file's own shape (what ``config show`` prints)."""
    service = config.service
    return {
        "excluded_extensions": list(config.excluded_extensions),
        "excluded_folders": list(config.excluded_folders),
        "excluded_files": list(config.excluded_files),
        "exclude": list(config.exclude),
        "max_file_size": config.max_file_size,
        "openclaw": {key: list(getattr(config.openclaw, key)) for key in EXCLUSION_LISTS},
        "symlinks": config.symlinks,
        "modes": {
            name: {"include": None if patterns is None else list(patterns)}
            for name, patterns in config.modes.items()
        },
        "sources": list(config.sources),
        "sqlite": config.sqlite,
        "service": {
            "policy": service.policy,
            "stop_command": list(service.stop_command),
            "start_command": list(service.start_command),
            "status_command": list(service.status_command),
            "process_pattern": service.process_pattern,
            "stop_timeout": _seconds(service.stop_timeout),
            "start_timeout": _seconds(service.start_timeout),
        },
        "compression": {"zstd_level": config.zstd_level, "gzip_level": config.gzip_level},
        "retention": retention_document(config.retention),
    }


def retention_document(retention: Retention | None) -> dict[str, Any] | None:
    """The ``retention`` object in the file's shape (its rules only; None: no retention)."""
    if retention is None:
        return None
    document: dict[str, Any] = {
        f"keep_{name}": getattr(retention, name)
        for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly")
        if getattr(retention, name)
    }
    if retention.within is not None:
        document["keep_within"] = format_duration(retention.within)
    if retention.tags:
        document["keep_tag"] = list(retention.tags)
    return document


def defaults_document() -> dict[str, Any]:
    """The default config as a JSON-able dict: what ``snapkit config init`` writes.

    The exclusion defaults are OpenClaw's, so they go under ``openclaw`` (OpenClaw sources
    only), not at the top level, where they would apply to every directory: loaded back, the
    file selects exactly what no file selects, for every kind of source."""
    document = config_document(DEFAULT_CONFIG)
    for key in EXCLUSION_LISTS:
        del document[key]
    return document


def write_default_config(path: Path, force: bool) -> None:
    """Write the defaults to ``path`` (mode 0600), creating parent directories.

    Refuses with :class:`UsageError` when the file exists and ``force`` is false. The write is
    atomic: a temporary file in the same directory is renamed into place.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; name the config file to write")
    if path.exists() and not force:
        raise UsageError(
            f"{path}: already exists; edit it, or pass --force to replace it with the defaults"
        )
    text = json.dumps(defaults_document(), indent=2) + "\n"
    try:
        _make_private_dirs(path.parent)
        import tempfile  # (only `config init` writes a config)

        fd, tmp_name = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o600)
            if force:
                os.replace(tmp_name, path)
            else:
                _link_no_clobber(Path(tmp_name), path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"{path}: cannot write config file: {reason}; check the directory"
        ) from exc


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents, each ``0700`` whatever the umask (the
    config may name credentials' paths); existing directories are left as they are."""
    missing: list[Path] = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(made, 0o700)


def _link_no_clobber(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` appeared meanwhile."""
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise UsageError(
            f"{path}: already exists; edit it, or pass --force to replace it with the defaults"
        ) from exc
    except OSError:
        # No hard links on this filesystem: the exists() check above has to do.
        os.replace(tmp, path)
