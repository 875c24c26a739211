"""The gitignore pattern language: one line parsed into a :class:`Pattern`, a glob translated
to a regex source the way git's wildmatch (``WM_PATHNAME``) matches it.

Pure string handling; :mod:`snapkit.select.rules` compiles these into its matchers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Characters that make a pattern a glob rather than a literal name.
GLOB_CHARS = frozenset("*?[\\")
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\x0b\\x0c",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}


@dataclass(frozen=True, slots=True)
class Pattern:
    """One parsed gitignore line."""

    text: str  # as written (trailing spaces trimmed), for reasons
    glob: str  # without "!", the trailing "/" and the leading "/"
    negated: bool = False
    dir_only: bool = False
    anchored: bool = False  # matched against the relative path, else against the name


def _trim_trailing_spaces(line: str) -> str:
    if not line.endswith(" "):
        return line
    last_space: int | None = None
    i = 0
    while i < len(line):
        char = line[i]
        if char == " ":
            if last_space is None:
                last_space = i
        else:
            if char == "\\":
                i += 1
                if i == len(line):
                    return line
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def parse_line(line: str) -> Pattern | None:
    line = line.rstrip("\n").removesuffix("\r")
    if not line or line.startswith("#"):
        return None
    text = line = _trim_trailing_spaces(line)
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    dir_only = line.endswith("/")
    if dir_only:
        line = line[:-1]
    anchored = "/" in line
    if anchored and line.startswith("/"):
        line = line[1:]
    if not line:
        return None
    return Pattern(text, line, negated, dir_only, anchored)


def name_pattern(entry: str, dir_only: bool) -> Pattern:
    """An ``excluded_folders``/``excluded_files`` entry: a name or glob at any depth."""
    glob = entry.rstrip("/") if dir_only else entry
    anchored = "/" in glob  # lenient: a path behaves like an anchored gitignore pattern
    return Pattern(entry, glob.lstrip("/") if anchored else glob, False, dir_only, anchored)


def _translate_class(glob: str, i: int) -> tuple[str, int] | None:
    """Regex for the ``[...]`` starting after ``[`` at ``i`` and the index after ``]``."""
    n = len(glob)
    negated = i < n and glob[i] in "!^"
    if negated:
        i += 1
    items: list[str] = []
    prev: str | None = None
    first = True
    while True:
        if i >= n:
            return None  # unterminated class: git's wildmatch aborts, nothing matches
        char = glob[i]
        if char == "]" and not first:
            break
        first = False
        if char == "\\":
            i += 1
            if i >= n:
                return None
            prev = glob[i]
            items.append(re.escape(prev))
        elif char == "-" and prev is not None and i + 1 < n and glob[i + 1] != "]":
            i += 1
            high = glob[i]
            if high == "\\":
                i += 1
                if i >= n:
                    return None
                high = glob[i]
            if prev <= high:
                items.append(f"{re.escape(prev)}-{re.escape(high)}")
            prev = None
        elif char == "[" and glob.startswith(":", i + 1):
            end = glob.find("]", i + 2)
            if end < 0:
                return None
            if end == i + 2 or glob[end - 1] != ":":  # no ":]": a plain "["
                items.append(re.escape("["))
                prev = "["
                i += 1
                continue
            posix = _POSIX_CLASSES.get(glob[i + 2 : end - 1])
            if posix is None:
                return None
            items.append(posix)
            prev = None
            i = end
        else:
            prev = char
            items.append(re.escape(char))
        i += 1
    body = "".join(items)
    if negated:
        return f"[^/{body}]", i + 1
    return (f"(?!/)[{body}]" if body else "(?!)"), i + 1


def translate(glob: str) -> str | None:
    """Regex source for a gitignore glob (git's wildmatch, WM_PATHNAME); None never matches."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        if char == "*":
            j = i
            while j < n and glob[j] == "*":
                j += 1
            if j - i > 1 and (i == 0 or glob[i - 1] == "/"):
                if j == n:  # trailing "**": everything
                    out.append(".*")
                    i = j
                    continue
                slash = 1 if glob[j] == "/" else 2 if glob.startswith("\\/", j) else 0
                if slash:  # "**/": zero or more directories
                    out.append("(?:.*/)?")
                    i = j + slash
                    continue
            out.append("[^/]*")
            i = j
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            translated = _translate_class(glob, i + 1)
            if translated is None:
                return None
            source, i = translated
            out.append(source)
        elif char == "\\":
            if i + 1 >= n:
                return None
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)
