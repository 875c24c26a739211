"""Reading ``openclaw.json`` as OpenClaw 2026.9 does: JSON5, ``$include`` inside its boundary.

OpenClaw's ``dist/includes-*.mjs`` (``IncludeProcessor``) defines the rules this module follows:

* ``$include`` may appear in any object: a path or a list of paths; a relative path resolves
  against the directory of the file that holds it. Included objects deep-merge (objects
  recursively, lists concatenate, sibling keys win).
* Every included file must lie inside the **boundary**: the directory of the top config file,
  or one of the roots listed in ``OPENCLAW_INCLUDE_ROOTS`` (``os.pathsep``-separated, ``~``
  expanded with OpenClaw's home). The check is made on the lexical path and again on its real
  path (a symlink out of the boundary is refused too). OpenClaw refuses to load a config with an
  escaping include; here it is a warning and the file is neither read nor backed up.
* Includes nest at most 10 deep; a circular include is refused.

Problems are warnings, never errors: discovery must keep going on a broken config.

OpenClaw writes the file as plain JSON (``JSON.stringify``); only a hand-edited one uses JSON5's
extras. So :func:`parse` tries the standard library's strict parser first (microseconds) and
only falls back to the pure-Python ``json5`` parser (hundreds of milliseconds on a 3 KB file,
plus its import) when that fails; JSON5 is a superset of JSON, so the answer is the same.

:func:`gateway_port` reads the port the gateway listens on (``resolveGatewayPort``), so that
a snapshot can tell a stopped gateway without running ``openclaw gateway status``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INCLUDE_KEY = "$include"
MAX_INCLUDE_DEPTH = 10  # IncludeProcessor.checkDepth


def parse(text: str) -> Any:
    """``text`` read as JSON5: strict JSON first (what OpenClaw writes), else ``json5``.

    Raises ValueError when it is not JSON5 either.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    import json5  # only for configs that need it (slow to import and to run)

    return json5.loads(text)


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _realpath(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return path


class ConfigReader:
    """Reads one ``openclaw.json`` and everything it ``$include``s (see the module docstring).

    After :meth:`load`, ``included`` lists the included files (lexical absolute paths, in the
    order met, missing ones too) and ``warnings`` what was odd.
    """

    def __init__(self, config_path: Path, include_roots: tuple[Path, ...] = ()) -> None:
        self.config_path = config_path
        roots = (Path(os.path.normpath(config_path.parent)), *include_roots)
        self.roots = tuple(dict.fromkeys(roots))
        self.real_roots = tuple(_realpath(root) for root in self.roots)
        self.included: list[Path] = []
        self.warnings: list[str] = []

    def load(self) -> Any:
        return self._load_file(self.config_path, chain=(self.config_path,))

    def _read(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self.warnings.append(f"{path}: cannot read OpenClaw config: {reason}")
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.warnings.append(f"{path}: cannot parse OpenClaw config (JSON5): {exc}")
            return None

    def _load_file(self, path: Path, chain: tuple[Path, ...]) -> Any:
        return self._process(self._read(path), path, chain)

    def _process(self, value: Any, path: Path, chain: tuple[Path, ...]) -> Any:
        if isinstance(value, list):
            return [self._process(item, path, chain) for item in value]
        if not isinstance(value, dict):
            return value
        rest = {k: self._process(v, path, chain) for k, v in value.items() if k != INCLUDE_KEY}
        if INCLUDE_KEY not in value:
            return rest
        included = self._include(value[INCLUDE_KEY], path, chain)
        if not rest:
            return included
        if not isinstance(included, dict):
            return rest
        return deep_merge(included, rest)

    def _allowed(self, item: str, target: Path, path: Path) -> bool:
        """Whether ``target`` lies inside the boundary, lexically and really (else a warning)."""
        roots = ", ".join(str(root) for root in self.roots)
        if not any(_inside(root, target) for root in self.roots):
            self.warnings.append(
                f"{path}: $include {item!r} escapes the config directory (allowed: {roots}); "
                "OpenClaw refuses it, so it is not backed up — move the file or list its "
                "directory in OPENCLAW_INCLUDE_ROOTS"
            )
            return False
        if target.exists() and not any(_inside(r, _realpath(target)) for r in self.real_roots):
            self.warnings.append(
                f"{path}: $include {item!r} resolves outside the config directory through a "
                f"symlink (allowed: {roots}); OpenClaw refuses it, so it is not backed up"
            )
            return False
        return True

    def _include(self, spec: Any, path: Path, chain: tuple[Path, ...]) -> Any:
        items = [spec] if isinstance(spec, str) else spec
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.warnings.append(f"{path}: $include must be a path or a list of paths; ignored")
            return {}
        merged: Any = {}
        for item in items:
            # No "~" expansion: OpenClaw resolves the text against the including file's dir.
            target = Path(os.path.normpath(path.parent / item))
            if not self._allowed(item, target, path):
                continue
            if target in chain:
                self.warnings.append(f"{path}: $include {item!r} is circular; ignored")
                continue
            if len(chain) > MAX_INCLUDE_DEPTH:
                self.warnings.append(
                    f"{path}: $include {item!r} nests deeper than {MAX_INCLUDE_DEPTH}; ignored"
                )
                continue
            if target not in self.included:
                self.included.append(target)
            if not target.is_file():
                self.warnings.append(f"{path}: $include {item!r}: no such file {target}")
                continue
            merged = deep_merge(merged, self._load_file(target, (*chain, target)))
        return merged


def deep_merge(target: Any, source: Any) -> Any:
    """OpenClaw's include merge: objects recursively, lists concatenate, ``source`` wins."""
    if isinstance(target, list) and isinstance(source, list):
        return [*target, *source]
    if isinstance(target, dict) and isinstance(source, dict):
        result = dict(target)
        for key, value in source.items():
            result[key] = deep_merge(result[key], value) if key in result else value
        return result
    return source


def lookup(document: Any, *keys: str) -> Any:
    """``document[k1][k2]…``, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


#: OpenClaw's gateway port when nothing sets one (``DEFAULT_GATEWAY_PORT``).
DEFAULT_GATEWAY_PORT = 18789


def gateway_port(env: Mapping[str, str], document: Any,
                 env_files: tuple[Path, ...] = ()) -> int | None:
    """The gateway's port as OpenClaw 2026.9 resolves it (``resolveGatewayPort``):
    ``OPENCLAW_GATEWAY_PORT`` (``PORT`` or ``HOST:PORT``; from the environment, else from the
    env files OpenClaw loads), else the config's ``gateway.port``, else 18789 — or None when an
    ``OPENCLAW_PROFILE`` derives one (a hash snapkit does not reproduce)."""
    key = "OPENCLAW_GATEWAY_PORT"
    raw = env.get(key, "").strip() or _dotenv_value(env_files, key)
    if raw:
        port = _port_of(raw)
        if port is not None:
            return port
    configured = lookup(document, "gateway", "port")
    if isinstance(configured, int) and not isinstance(configured, bool) and configured > 0:
        return configured
    profile = env.get("OPENCLAW_PROFILE", "").strip().lower()
    return None if profile and profile != "default" else DEFAULT_GATEWAY_PORT


def _port_of(raw: str) -> int | None:
    text = raw.strip()
    match = re.fullmatch(r"(?:\[[^\]]+\]:|[^:]+:)?(\d+)", text)
    if match is None:
        return None
    port = int(match.group(1))
    return port if 0 < port <= 65535 else None


def _dotenv_value(files: tuple[Path, ...], key: str) -> str:
    """``key``'s value in the first of ``files`` that sets it (``KEY=VALUE``, optional
    ``export`` and quotes), or ""."""
    for path in files:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            name, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and name.strip() == key:
                return value.strip().strip("'\"")
    return ""
