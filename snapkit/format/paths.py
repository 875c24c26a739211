"""Absolute paths as tuples of components: how a snapshot's root tree is keyed.

A snapshot stores each source under its absolute path, one tree level per component. These
helpers turn a path into its components and back; a Windows drive is the first component
(``"C:"``). Builder, readers and importer all use them, so they live here rather than in
any one of them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

#: The components of a path below a snapshot's root tree (``("home", "me", "notes.md")``).
Parts = tuple[str, ...]


def split_path(path: str) -> Parts:
    """The components of an absolute path; a Windows drive becomes the first one ("C:")."""
    drive, rest = os.path.splitdrive(os.path.abspath(path))
    parts = tuple(p for p in rest.replace("\\", "/").split("/") if p)
    return ((drive,) if drive else ()) + parts


def join_path(parts: Sequence[str]) -> str:
    """The absolute path an entry had on its machine ("C:" first component = a drive)."""
    if parts and parts[0].endswith(":"):
        return parts[0] + "\\" + "\\".join(parts[1:])
    return "/" + "/".join(parts)
