"""Reading the config: the file's bytes, strict JSON, then validation into a ``Config``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from snapkit.format.errors import UsageError
from snapkit.select.config.lookup import config_search_path, environment
from snapkit.select.config.records import DEFAULT_CONFIG, LoadedConfig
from snapkit.select.config.validate import build, describe, origins_all_default


def load_config(
    explicit: str | Path | None = None, env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Load and validate the config that applies (see :func:`config_search_path`).

    An explicitly named file (``--config`` or ``$SNAPKIT_CONFIG``) must exist; a missing default
    file means the built-in defaults. Raises :class:`UsageError` for any problem.
    """
    env = environment(env)
    label, path = config_search_path(explicit, env)[0]
    if not path.exists():
        if label == "default":
            return LoadedConfig(DEFAULT_CONFIG, None, origins_all_default())
        how = "--config" if label == "--config" else "SNAPKIT_CONFIG"
        raise UsageError(
            f"{path}: config file not found (named by {how}); fix the path, "
            f"or create it with `snapkit config init`"
        )
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a config file; name the config.json in it")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"{path}: cannot read config file: {reason}; check its permissions"
        ) from exc
    return _load_document(raw, path, env)


def _load_document(raw: bytes, path: Path, env: Mapping[str, str]) -> LoadedConfig:
    where = str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{where}: not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8"
        ) from exc
    document = _parse_json(text, where)
    if not isinstance(document, dict):
        raise UsageError(
            f'{where}: the top level must be a JSON object like {{"exclude": ["/logs/"]}}, '
            f"not {describe(document)}"
        )
    config, origins = build(document, where, env)
    return LoadedConfig(config, path, MappingProxyType(origins))


def _parse_json(text: str, where: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise UsageError(f'{where}: key "{key}" appears twice in one object; keep one')
            result[key] = value
        return result

    def constant(name: str) -> Any:
        raise UsageError(f"{where}: invalid JSON: {name} is not a JSON number; use a number")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg} "
            f"(the config is strict JSON: no comments, no trailing commas)"
        ) from exc
