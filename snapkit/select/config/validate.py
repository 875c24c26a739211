"""Validation and merge: a config document checked key by key and laid over the defaults.

A bad file is rejected at load time with one line naming the key, the problem and the fix
(:class:`~snapkit.format.errors.UsageError`, exit 2); ``modes``, ``service`` and ``compression``
merge
per sub-key, and every key's origin (the file or ``default``) is recorded for ``config show``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeVar

from snapkit.format.errors import UsageError
from snapkit.select.config.defaults import (
    COMPRESSION_KEYS,
    EXCLUSION_LISTS,
    MODE_KEYS,
    RETENTION_KEYS,
    SERVICE_KEYS,
    SERVICE_POLICIES,
    SQLITE_POLICIES,
    SYMLINK_POLICIES,
    TOP_LEVEL_KEYS,
)
from snapkit.select.config.lookup import expand_user
from snapkit.select.config.records import (
    DEFAULT_CONFIG,
    DEFAULT_SERVICE,
    Config,
    OpenClawRules,
    Retention,
    ServiceConfig,
)
from snapkit.select.durations import parse_duration
from snapkit.select.sizes import parse_size

_Choice = TypeVar("_Choice", bound=str)
_MODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown)
    if isinstance(value, list):
        return "a list"
    return "an object"


def _closest(key: str, valid: tuple[str, ...]) -> str | None:
    """The valid key ``key`` most likely meant: a close spelling, else one containing it."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return close[0]
    if len(key) >= 3:
        for name in valid:
            if key in name:
                return name
    return None


def _check_keys(obj: Mapping[str, Any], valid: tuple[str, ...], where: str, prefix: str) -> None:
    for key in obj:
        if key in valid:
            continue
        close = _closest(key, valid)
        hint = f'did you mean "{prefix}{close}"?' if close else "valid keys: " + ", ".join(valid)
        raise UsageError(f'{where}: unknown key "{prefix}{key}" ({hint})')


class _Checker:
    """Type checks that raise one-line errors naming the key path and the expected type."""

    def __init__(self, where: str, env: Mapping[str, str]) -> None:
        self.where = where
        self.env = env

    def fail(self, key: str, expected: str, value: Any) -> UsageError:
        return UsageError(f'{self.where}: "{key}" must be {expected}, not {describe(value)}')

    def string_list(
        self, key: str, value: Any, what: str, item_check: Callable[[str, str], str] | None = None
    ) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"a list of {what}s", value)
        items: list[str] = []
        for index, item in enumerate(value):
            item_key = f"{key}[{index}]"
            if not isinstance(item, str) or not item.strip():
                raise self.fail(item_key, f"a non-empty string ({what})", item)
            items.append(item_check(item_key, item) if item_check else item)
        return tuple(items)

    def name(self, key: str, item: str) -> str:
        if "/" in item or "\\" in item:
            raise UsageError(
                f'{self.where}: "{key}" must be a plain name, not a path ({json.dumps(item)}); '
                f'use "exclude" for path patterns'
            )
        return item

    def extension(self, key: str, item: str) -> str:
        name = self.name(key, item).lstrip(".")
        if not name:
            raise self.fail(key, 'an extension such as "log"', item)
        return name

    def source(self, key: str, item: str) -> str:
        path = expand_user(item.strip(), self.env)
        if not path.is_absolute():
            raise UsageError(
                f'{self.where}: "{key}" must be an absolute path or start with "~", '
                f"not {json.dumps(item)}"
            )
        return str(path)

    def choice(self, key: str, value: Any, choices: tuple[_Choice, ...]) -> _Choice:
        for choice in choices:
            if isinstance(value, str) and value == choice:
                return choice
        raise self.fail(key, "one of " + ", ".join(f'"{c}"' for c in choices), value)

    def int_range(self, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"an integer from {low} to {high}", value)
        return value

    def command(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, 'a non-empty list of strings like ["openclaw", "gateway"]', value)
        return self.string_list(key, value, "command argument")

    def max_file_size(self, value: Any) -> int | None:
        expected = 'an integer number of bytes, a size like "500M", or null'
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail("max_file_size", expected, value)
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise self.fail("max_file_size", expected, value) from exc
        if size <= 0:
            raise UsageError(
                f'{self.where}: "max_file_size" must be greater than 0, not {describe(value)}; '
                f"use null for no limit"
            )
        return size

    def process_pattern(self, value: Any) -> str:
        key = "service.process_pattern"
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a regular expression string", value)
        try:
            re.compile(value)
        except re.error as exc:
            raise UsageError(
                f'{self.where}: "{key}" is not a valid regular expression ({exc}); fix or remove it'
            ) from exc
        return value

    def timeout(self, value: Any, key: str = "service.stop_timeout") -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.fail(key, "a number of seconds greater than 0", value)
        return float(value)

    def obj(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "an object", value)
        return value


def build(
    document: dict[str, Any], where: str, env: Mapping[str, str]
) -> tuple[Config, dict[str, str]]:
    _check_keys(document, TOP_LEVEL_KEYS, where, "")
    check = _Checker(where, env)
    base = DEFAULT_CONFIG
    origins = origins_all_default()
    changes: dict[str, Any] = {}

    _build_exclusions(check, document, changes)
    section: dict[str, Any] = {}
    if "openclaw" in document:
        section = _build_openclaw(check, document["openclaw"], where, changes, origins)
    if "max_file_size" in document:
        changes["max_file_size"] = check.max_file_size(document["max_file_size"])
    if "symlinks" in document:
        changes["symlinks"] = check.choice("symlinks", document["symlinks"], SYMLINK_POLICIES)
    if "sources" in document:
        changes["sources"] = check.string_list("sources", document["sources"], "path", check.source)
    if "sqlite" in document:
        changes["sqlite"] = check.choice("sqlite", document["sqlite"], SQLITE_POLICIES)
    if "modes" in document:
        changes["modes"] = _merge_modes(check, document["modes"], origins)
    if "service" in document:
        changes["service"] = _merge_service(check, document["service"], origins)
    if "compression" in document:
        _build_compression(check, document["compression"], where, changes, origins)
    if "retention" in document:
        changes["retention"] = _build_retention(check, document["retention"])

    for key in document:
        origins[key] = where
    user_keys = frozenset(document) | {f"openclaw.{key}" for key in section}
    config = replace(base, **changes, user_keys=user_keys)
    return config, origins


def _build_exclusions(check: _Checker, document: dict[str, Any], changes: dict[str, Any]
                      ) -> None:
    """The top-level exclusion lists and ``exclude`` patterns, validated into ``changes``."""
    if "excluded_extensions" in document:
        changes["excluded_extensions"] = check.string_list(
            "excluded_extensions", document["excluded_extensions"], "extension", check.extension
        )
    if "excluded_folders" in document:
        changes["excluded_folders"] = check.string_list(
            "excluded_folders", document["excluded_folders"], "folder name", check.name
        )
    if "excluded_files" in document:
        changes["excluded_files"] = check.string_list(
            "excluded_files", document["excluded_files"], "file name", check.name
        )
    if "exclude" in document:
        changes["exclude"] = check.string_list(
            "exclude", document["exclude"], "gitignore-style pattern"
        )


def _build_openclaw(check: _Checker, raw: Any, where: str, changes: dict[str, Any],
                    origins: dict[str, str]) -> dict[str, Any]:
    """The ``openclaw`` section validated into ``changes``; returns the section."""
    section = check.obj("openclaw", raw)
    _check_keys(section, EXCLUSION_LISTS, where, "openclaw.")
    changes["openclaw"] = replace(OpenClawRules(), **{
        key: _exclusion_list(check, f"openclaw.{key}", key, value)
        for key, value in section.items()
    })
    for key in section:
        origins[f"openclaw.{key}"] = where
    return section


def _build_compression(check: _Checker, value: Any, where: str, changes: dict[str, Any],
                       origins: dict[str, str]) -> None:
    """The ``compression`` section validated into ``changes``."""
    compression = check.obj("compression", value)
    _check_keys(compression, COMPRESSION_KEYS, where, "compression.")
    if "zstd_level" in compression:
        changes["zstd_level"] = check.int_range(
            "compression.zstd_level", compression["zstd_level"], 1, 19
        )
    if "gzip_level" in compression:
        changes["gzip_level"] = check.int_range(
            "compression.gzip_level", compression["gzip_level"], 0, 9
        )
    for key in compression:
        origins[f"compression.{key}"] = where


def _build_retention(check: _Checker, value: Any) -> Retention | None:
    """The ``retention`` object (null: none), as ``forget``'s ``--keep-*`` options."""
    if value is None:
        return None
    spec = check.obj("retention", value)
    _check_keys(spec, RETENTION_KEYS, check.where, "retention.")
    counts = {name: check.int_range(f"retention.keep_{name}", spec[f"keep_{name}"], 0, 10**6)
              for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly")
              if f"keep_{name}" in spec}
    within = spec.get("keep_within")
    if within is not None:
        try:
            within = parse_duration(within if isinstance(within, str) else "")
        except ValueError as exc:
            raise check.fail("retention.keep_within", 'a duration like "7d", "12h", "2w", "6m", '
                             '"1y" or "1y6m"', spec["keep_within"]) from exc
    tags = spec.get("keep_tag")
    tags = () if tags is None else check.string_list("retention.keep_tag", tags, "tag")
    if not any(counts.values()) and within is None and not tags:
        raise UsageError(f'{check.where}: "retention" sets no rule (no count above 0), so it '
                         'would keep every snapshot; set one such as "keep_daily": 7, or use '
                         'null for no retention')
    return Retention(**counts, within=within, tags=tags)


def _exclusion_list(check: _Checker, key: str, kind: str, value: Any) -> tuple[str, ...]:
    """One of :data:`EXCLUSION_LISTS` (``kind``), validated; ``key`` names it in errors."""
    if kind == "excluded_extensions":
        return check.string_list(key, value, "extension", check.extension)
    if kind == "excluded_folders":
        return check.string_list(key, value, "folder name", check.name)
    if kind == "excluded_files":
        return check.string_list(key, value, "file name", check.name)
    return check.string_list(key, value, "gitignore-style pattern")


def _merge_modes(
    check: _Checker, value: Any, origins: dict[str, str]
) -> Mapping[str, tuple[str, ...] | None]:
    modes = dict(DEFAULT_CONFIG.modes)
    for name, spec in check.obj("modes", value).items():
        key = f"modes.{name}"
        if not _MODE_NAME.match(name):
            raise UsageError(
                f'{check.where}: mode name {json.dumps(name)} must be letters, digits, ".", "_" '
                f'or "-" (like "config-only"); rename it'
            )
        spec = check.obj(key, spec)
        _check_keys(spec, MODE_KEYS, check.where, f"{key}.")
        if "include" not in spec:
            raise UsageError(
                f'{check.where}: "{key}" needs an "include" list of patterns '
                f'(or "include": null for everything)'
            )
        include = spec["include"]
        modes[name] = (
            None
            if include is None
            else check.string_list(f"{key}.include", include, "gitignore-style pattern")
        )
        origins[key] = check.where
    return MappingProxyType(modes)


def _merge_service(check: _Checker, value: Any, origins: dict[str, str]) -> ServiceConfig:
    spec = check.obj("service", value)
    _check_keys(spec, SERVICE_KEYS, check.where, "service.")
    changes: dict[str, Any] = {}
    if "policy" in spec:
        changes["policy"] = check.choice("service.policy", spec["policy"], SERVICE_POLICIES)
    for name in ("stop_command", "start_command", "status_command"):
        if name in spec:
            changes[name] = check.command(f"service.{name}", spec[name])
    if "process_pattern" in spec:
        changes["process_pattern"] = check.process_pattern(spec["process_pattern"])
    for name in ("stop_timeout", "start_timeout"):
        if name in spec:
            changes[name] = check.timeout(spec[name], f"service.{name}")
    for key in spec:
        origins[f"service.{key}"] = check.where
    own = frozenset(k for k, v in changes.items() if v != getattr(DEFAULT_SERVICE, k))
    return replace(DEFAULT_SERVICE, **changes, user_keys=own)


def origins_all_default() -> dict[str, str]:
    origins = dict.fromkeys(TOP_LEVEL_KEYS, "default")
    for name in DEFAULT_CONFIG.modes:
        origins[f"modes.{name}"] = "default"
    for key in SERVICE_KEYS:
        origins[f"service.{key}"] = "default"
    for key in COMPRESSION_KEYS:
        origins[f"compression.{key}"] = "default"
    for key in EXCLUSION_LISTS:
        origins[f"openclaw.{key}"] = "default"
    return origins
