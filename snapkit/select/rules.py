"""Exclusion matching: which entries of a source tree a snapshot selects, and why not.

This module owns the exclusion rule model (:class:`RuleSet`), the gitignore patterns
compiled to regexes once (the pattern language itself is :mod:`snapkit.select.gitignore`),
``.snapkitignore`` layering (:meth:`Matcher.child`), the size limit, mode selection
(``include``) and the short reason strings the dry-run
report groups by. It is pure: no file system access, no I/O.

Evaluation of one entry (``Matcher.excluded``):

1. One combined gitignore-style list, last match wins: ``excluded_folders`` (directory-only
   name patterns), ``excluded_files`` (file-only name patterns), ``excluded_extensions``
   (file-only, case-insensitive ``*.ext``), ``exclude``, then each ``.snapkitignore`` from
   the outermost to the innermost directory. A ``!`` pattern re-includes.
2. ``max_file_size`` (files only, when a size is given).
3. ``include`` (the mode): unlike gitignore, include patterns are always anchored at the
   source root (``openclaw.json`` is the top-level file only; write ``**/x`` for any
   depth). A pattern matching a directory selects everything below it; of the patterns
   that match the entry or one of its parents, the last one decides (``!`` deselects).
   A directory is pruned only when no later positive pattern could match below it.

``excluded`` judges one entry assuming its parent directories are selected: the walker
visits top-down and never descends into an excluded directory (git behaves the same way:
nothing below an excluded directory can be re-included).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from snapkit.select.cachedir import CACHEDIR_TAG, is_cache_tag
from snapkit.select.gitignore import GLOB_CHARS, Pattern, name_pattern, parse_line, translate
from snapkit.select.sizes import format_size

IGNORE_FILE = ".snapkitignore"

_FILE, _DIR = 0, 1  # slot numbers: is_dir indexes per-kind tables


@dataclass(frozen=True)
class RuleSet:
    """What to leave out of a snapshot; see the module docstring for the evaluation order."""

    name: str
    excluded_extensions: tuple[str, ...] = ()
    excluded_folders: tuple[str, ...] = ()
    excluded_files: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_size: int | None = None
    include: tuple[str, ...] | None = None
    mode: str = "full"
    #: a directory holding a file of one of these names is left out (``--exclude-if-present``;
    #: ``CACHEDIR.TAG`` counts only with the cache directory tag's signature)
    exclude_if_present: tuple[str, ...] = ()
    #: a directory on another filesystem than its parent (a mount point) is left out
    one_file_system: bool = False


# --------------------------------------------------------------------------- compiled rules


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: Pattern
    reason: str
    file_only: bool = False
    extension: str | None = None  # lower-cased; extension rules match case-insensitively


@dataclass(frozen=True, slots=True)
class _Alternation:
    """Regexes of several rules in one, highest rule index first: the first hit wins."""

    regex: re.Pattern[str]
    top: int  # highest rule index inside
    index: tuple[int, ...]  # capture group number -> rule index

    @staticmethod
    def build(items: list[tuple[int, str]]) -> _Alternation | None:
        if not items:
            return None
        items = sorted(items, reverse=True)
        regex = re.compile("|".join(f"({source})" for _, source in items), re.DOTALL)
        return _Alternation(regex, items[0][0], (-1, *(index for index, _ in items)))

    def last(self, subject: str) -> int:
        match = self.regex.fullmatch(subject)
        return -1 if match is None or match.lastindex is None else self.index[match.lastindex]


@dataclass(frozen=True, slots=True)
class _Layer:
    """The compiled rules of one source (the config, or one ``.snapkitignore``)."""

    rules: tuple[_Rule, ...]
    exact: dict[str, tuple[int, int]]  # literal name -> highest rule index per slot
    suffix: dict[str, tuple[int, int]]  # "*.<literal>" -> highest rule index per slot
    extension: dict[str, int]  # lower-cased extension -> highest rule index (files)
    names: tuple[_Alternation | None, _Alternation | None]  # per slot, on the name
    paths: tuple[_Alternation | None, _Alternation | None]  # per slot, on the path

    @staticmethod
    def build(rules: Sequence[_Rule]) -> _Layer | None:
        if not rules:
            return None
        exact: dict[str, list[int]] = {}
        suffix: dict[str, list[int]] = {}
        extension: dict[str, int] = {}
        alternatives: dict[tuple[bool, int], list[tuple[int, str]]] = {
            (anchored, slot): [] for anchored in (False, True) for slot in (_FILE, _DIR)
        }
        for index, rule in enumerate(rules):
            pattern = rule.pattern
            slots = [_FILE] if rule.file_only else [_DIR] if pattern.dir_only else [_FILE, _DIR]
            if rule.extension is not None:
                extension[rule.extension] = index
                continue
            table: dict[str, list[int]] | None = None
            key = pattern.glob
            if not pattern.anchored and GLOB_CHARS.isdisjoint(key):
                table = exact
            elif not pattern.anchored and key.startswith("*.") and GLOB_CHARS.isdisjoint(key[1:]):
                table, key = suffix, key[2:]
            if table is not None:
                cell = table.setdefault(key, [-1, -1])
                for slot in slots:
                    cell[slot] = index
                continue
            source = translate(pattern.glob)
            if source is not None:
                for slot in slots:
                    alternatives[pattern.anchored, slot].append((index, source))
        build = _Alternation.build
        return _Layer(
            tuple(rules),
            {key: (cell[0], cell[1]) for key, cell in exact.items()},
            {key: (cell[0], cell[1]) for key, cell in suffix.items()},
            extension,
            (build(alternatives[False, _FILE]), build(alternatives[False, _DIR])),
            (build(alternatives[True, _FILE]), build(alternatives[True, _DIR])),
        )

    def last(self, path: str, name: str, slot: int) -> int:
        """Index of the last rule matching ``path`` (relative to this layer), or -1."""
        best = -1
        hit = self.exact.get(name)
        if hit is not None:
            best = hit[slot]
        if (self.suffix or self.extension) and "." in name:
            dot = name.find(".")
            while dot >= 0:
                rest = name[dot + 1 :]
                hit = self.suffix.get(rest)
                if hit is not None and hit[slot] > best:
                    best = hit[slot]
                if slot == _FILE and self.extension:
                    best = max(best, self.extension.get(rest.lower(), -1))
                dot = name.find(".", dot + 1)
        alternation = self.names[slot]
        if alternation is not None and alternation.top > best:
            best = max(best, alternation.last(name))
        alternation = self.paths[slot]
        if alternation is not None and alternation.top > best:
            best = max(best, alternation.last(path))
        return best


def _config_layer(rules: RuleSet) -> _Layer | None:
    compiled: list[_Rule] = []
    for entry in rules.excluded_folders:
        if entry.strip("/"):
            compiled.append(_Rule(name_pattern(entry, True), f"folder {entry}"))
    for entry in rules.excluded_files:
        if entry:
            compiled.append(_Rule(name_pattern(entry, False), f"file {entry}", file_only=True))
    for entry in rules.excluded_extensions:
        ext = entry.lstrip("*").removeprefix(".")
        if ext:
            pattern = Pattern(entry, f"*.{ext}")
            compiled.append(_Rule(pattern, f"extension .{ext}", True, ext.lower()))
    for line in rules.exclude:
        parsed = parse_line(line)
        if parsed is not None:
            compiled.append(_Rule(parsed, f"pattern {parsed.text}"))
    return _Layer.build(compiled)


@lru_cache(maxsize=256)
def _ignore_layer(lines: tuple[str, ...]) -> _Layer | None:
    parsed = (parse_line(line) for line in lines)
    return _Layer.build([_Rule(pattern, pattern.text) for pattern in parsed if pattern])


# --------------------------------------------------------------------------- include (modes)

# Per-segment regexes of an include pattern, None for a "**" segment; None = unsure.
_Segments = tuple[re.Pattern[str] | None, ...] | None


@dataclass(frozen=True, slots=True)
class _Include:
    files: _Alternation | None  # matches a file or anything below a matched directory
    dirs: _Alternation | None  # matches a directory or anything below a matched directory
    negated: tuple[bool, ...]
    prefixes: tuple[tuple[int, _Segments], ...]  # of the positive patterns

    @staticmethod
    def build(patterns: Iterable[str]) -> _Include:
        files: list[tuple[int, str]] = []
        dirs: list[tuple[int, str]] = []
        negated: list[bool] = []
        prefixes: list[tuple[int, _Segments]] = []
        for line in patterns:
            pattern = parse_line(line)
            source = None if pattern is None else translate(pattern.glob)
            if pattern is None or source is None:
                continue
            index = len(negated)
            negated.append(pattern.negated)
            dirs.append((index, f"(?:{source})(?:/.*)?"))
            files.append((index, f"(?:{source})/.*" if pattern.dir_only else dirs[-1][1]))
            if not pattern.negated:
                prefixes.append((index, _segments(pattern.glob)))
        return _Include(
            _Alternation.build(files), _Alternation.build(dirs), tuple(negated), tuple(prefixes)
        )

    def selects(self, relpath: str, is_dir: bool) -> bool:
        alternation = self.dirs if is_dir else self.files
        last = -1 if alternation is None else alternation.last(relpath)
        if last >= 0 and not self.negated[last]:
            return True
        if not is_dir:
            return False
        parts = relpath.split("/")
        return any(
            index > last and _could_match_below(parts, segments)
            for index, segments in self.prefixes
        )


def _segments(glob: str) -> _Segments:
    segments: list[re.Pattern[str] | None] = []
    for part in glob.split("/"):
        source = None if part == "**" else translate(part)
        if source is None and part != "**":
            return None  # e.g. a "[...]" spanning "/": unsure, so it could match
        segments.append(None if source is None else re.compile(source, re.DOTALL))
    return tuple(segments)


def _could_match_below(parts: list[str], segments: _Segments) -> bool:
    if segments is None:
        return True
    for part, segment in zip(parts, segments, strict=False):
        if segment is None:
            return True
        if segment.fullmatch(part) is None:
            return False
    # as deep as the pattern: only a full match of the directory (checked before) selects
    return len(parts) < len(segments)


# --------------------------------------------------------------------------- matcher


class Matcher:
    """Decides for each entry of a source tree whether it is selected, and if not, why."""

    __slots__ = ("_include", "_layers", "_max_size", "_mode_reason", "_size_reason", "markers",
                 "one_file_system", "rules")

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        layer = _config_layer(rules)
        # innermost first: (path prefix of the layer's directory, layer, reason label)
        self._layers: tuple[tuple[str, _Layer, str], ...] = (("", layer, ""),) if layer else ()
        self._max_size = rules.max_file_size
        self._size_reason = f"size > {format_size(rules.max_file_size or 0)}"
        self._include = None if rules.include is None else _Include.build(rules.include)
        self._mode_reason = f"not in mode {rules.mode}"
        self.markers = rules.exclude_if_present
        self.one_file_system = rules.one_file_system

    def marked(self, dir_path: str, listing: frozenset[str]) -> str | None:
        """The reason a directory is left out because it holds a marker file (one of
        ``exclude_if_present`` in ``listing``), else None."""
        for marker in self.markers:
            if marker in listing and (marker != CACHEDIR_TAG or is_cache_tag(
                    os.path.join(dir_path, marker))):
                return f"holds {marker}"
        return None

    def excluded(self, relpath: str, is_dir: bool, size: int | None = None) -> str | None:
        """None if relpath is selected, else the reason (one short rule description)."""
        name = relpath[relpath.rfind("/") + 1 :]
        slot = _DIR if is_dir else _FILE
        for prefix, layer, label in self._layers:
            if prefix:
                if not relpath.startswith(prefix):
                    continue
                index = layer.last(relpath[len(prefix) :], name, slot)
            else:
                index = layer.last(relpath, name, slot)
            if index >= 0:
                rule = layer.rules[index]
                if not rule.pattern.negated:
                    return label + rule.reason
                break
        limit = self._max_size
        if limit is not None and size is not None and size > limit and not is_dir:
            return self._size_reason
        if self._include is not None and not self._include.selects(relpath, is_dir):
            return self._mode_reason
        return None

    def child(self, dir_relpath: str, ignore_lines: Sequence[str]) -> Matcher:
        """A matcher for dir_relpath and below that also applies the patterns of a
        ``.snapkitignore`` found in dir_relpath (relative to that directory).

        The compiled rules are shared (and cached by content); only a small tuple is new.
        """
        layer = _ignore_layer(tuple(ignore_lines))
        if layer is None:
            return self
        prefix = f"{dir_relpath.strip('/')}/" if dir_relpath.strip("/") else ""
        derived = Matcher.__new__(Matcher)
        derived.rules = self.rules
        derived._layers = ((prefix, layer, f"{IGNORE_FILE} {prefix}{IGNORE_FILE}: "), *self._layers)
        derived._max_size = self._max_size
        derived._size_reason = self._size_reason
        derived._include = self._include
        derived._mode_reason = self._mode_reason
        derived.markers = self.markers
        derived.one_file_system = self.one_file_system
        return derived


def path_filter(
    includes: Sequence[str], excludes: Sequence[str]
) -> Callable[[str, bool], bool]:
    """A ``(absolute path, is_dir) -> selected`` test for ``--include``/``--exclude`` GLOBs.

    Patterns use the same gitignore syntax, against the absolute path with its leading ``/``
    as the root: ``/home/me/.openclaw/credentials`` anchors, while a pattern without a ``/``
    (``*.json``) matches at any depth, for includes as well as excludes.
    """
    anywhere = tuple(
        p if "/" in p.rstrip("/").lstrip("!") else ("!**/" + p[1:] if p.startswith("!")
                                                     else "**/" + p)
        for p in includes
    )
    matcher = Matcher(
        RuleSet(name="filter", exclude=tuple(excludes), include=anywhere or None,
                mode="--include")
    )

    def select(path: str, is_dir: bool) -> bool:
        rel = path.replace("\\", "/").lstrip("/")
        return matcher.excluded(rel, is_dir) is None

    return select


def path_matches(pattern: str) -> Callable[[str, bool], bool]:
    """A ``(absolute path, is_dir) -> bool`` test: does ``pattern`` name this very entry?

    Gitignore semantics against the absolute path (leading ``/`` anchors at the filesystem
    root, a pattern without ``/`` matches a name at any depth); unlike :func:`path_filter`, a
    directory does not match merely because something below it could.
    """
    matcher = Matcher(RuleSet(name="find", exclude=(pattern,)))

    def test(path: str, is_dir: bool) -> bool:
        return matcher.excluded(path.replace("\\", "/").lstrip("/"), is_dir) is not None

    return test
