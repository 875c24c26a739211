"""Tree nodes from file metadata: the one place that says which metadata a node records.

A node records a file's type, permission bits, mtime and ctime (ns), size (regular files
only), inode, numeric owner and group and their names. :func:`node_from_stat` takes them from
an ``lstat`` of a live file (the snapshot builder, the live diff); :func:`node_from_tar`
from a tar header, the stat an archive recorded (the importer). The names of owners are
looked up once per id (:func:`owner_name`), and :func:`current_user` is the user a manifest
records.
"""

from __future__ import annotations

import os
import re
import stat
from typing import TYPE_CHECKING, Any

from snapkit.format.model import NODE_FILE, Node, NodeType

if TYPE_CHECKING:
    import tarfile

try:  # POSIX only
    import grp
    import pwd
except ImportError:  # pragma: no cover - Windows
    grp = None  # type: ignore[assignment]
    pwd = None  # type: ignore[assignment]

_names: dict[tuple[str, int], str] = {}
_PAX_TIME = re.compile(r"\s*(-?)(\d+)(?:\.(\d*))?\s*")


def owner_name(kind: str, ident: int) -> str:
    """The name of user (``kind`` "u") or group ("g") ``ident``; "" when it has none."""
    key = (kind, ident)
    if key not in _names:
        name = ""
        try:
            if kind == "u" and pwd is not None:
                name = pwd.getpwuid(ident).pw_name
            elif kind == "g" and grp is not None:
                name = grp.getgrgid(ident).gr_name
        except KeyError:
            name = ""
        _names[key] = name
    return _names[key]


def current_user() -> str:
    """The name of the user running snapkit ("" when it cannot be told)."""
    import getpass  # (its import pulls in termios: only snap asks, once)

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def node_from_stat(name: str, ntype: NodeType, st: os.stat_result, size: int | None = None,
                   **extra: Any) -> Node:
    """The node of a live file, from its ``lstat``; ``size`` the bytes stored when they are
    not the lstat's (a database copy), ``extra`` the other fields (``content``, ``hash``,
    ``subtree``, ``target``)."""
    return Node(
        name=name,
        type=ntype,
        mode=stat.S_IMODE(st.st_mode),
        mtime_ns=st.st_mtime_ns,
        ctime_ns=st.st_ctime_ns,
        size=(st.st_size if size is None else size) if ntype == NODE_FILE else 0,
        inode=st.st_ino,
        uid=st.st_uid,
        gid=st.st_gid,
        user=owner_name("u", st.st_uid),
        group=owner_name("g", st.st_gid),
        **extra,
    )


def pax_time_ns(text: str | None) -> int | None:
    """A PAX time string ("1700000000.123456789", "-1.5") as exact nanoseconds."""
    if text is None:
        return None
    m = _PAX_TIME.fullmatch(text)
    if m is None:
        return None
    sign, whole, frac = m.groups()
    ns = int(whole) * 1_000_000_000 + int((frac or "")[:9].ljust(9, "0"))
    return -ns if sign else ns


def tar_mtime_ns(member: tarfile.TarInfo) -> int:
    """A member's mtime in ns: the exact PAX ``mtime`` when present, else the header's."""
    exact = pax_time_ns(member.pax_headers.get("mtime"))
    if exact is not None:
        return exact
    if isinstance(member.mtime, int):
        return member.mtime * 1_000_000_000
    return round(member.mtime * 1_000_000_000)


def node_from_tar(name: str, ntype: NodeType, m: tarfile.TarInfo, **extra: Any) -> Node:
    """The node of an archive member, from its tar header; an archive records no inode, and
    the size comes with ``extra`` (the bytes actually stored)."""
    return Node(
        name=name,
        type=ntype,
        mode=m.mode & 0o7777,
        mtime_ns=tar_mtime_ns(m),
        ctime_ns=pax_time_ns(m.pax_headers.get("ctime")) or 0,
        uid=max(0, int(m.uid)),
        gid=max(0, int(m.gid)),
        user=m.uname or "",
        group=m.gname or "",
        **extra,
    )
