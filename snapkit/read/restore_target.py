"""The restore's target, as the user named it: a ``--target`` that cannot be one (a symlink, a
file, a path below a file) refused before anything is planned, and an ``OSError`` of the write
pass turned into one line naming the user's path — the target or the entry being restored —
never the temp name a file is written to, nor a bare name relative to a directory descriptor.
"""

from __future__ import annotations

import errno
import os
from typing import NoReturn

from snapkit.format.errors import SnapkitError, UsageError
from snapkit.read.restore_writer import TEMP_PREFIX

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def check_target(target: str) -> None:
    """Refuse (a usage error: nothing written) a ``--target`` that is a symlink (never
    followed), a file, or below one."""
    if os.path.islink(target):
        raise UsageError(f"--target {target} is a symlink (to {os.readlink(target)}); "
                         "restore never follows one — name the directory it points to")
    path = target
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    if not os.path.lexists(path) or os.path.isdir(path):
        return
    if path == target:
        raise UsageError(f"--target {target} is a file; restore into a directory")
    raise UsageError(f"--target {target} is below {path}, which is not a directory; restore "
                     "into a directory")


def raise_named(exc: OSError, dest: str, target: str, in_place: bool) -> NoReturn:
    """Raise ``exc``, met writing ``dest`` below ``target``, as a one-line error naming
    them and the fix. One that names another absolute path (a file of the repository, read
    for the content) is raised as it is: that path is the user's to see."""
    name = str(exc.filename or "")
    if (name and os.path.isabs(name) and not os.path.basename(name).startswith(TEMP_PREFIX)
            and (in_place or not _below(name, target))):
        raise exc
    if exc.errno == errno.EROFS and not in_place:
        raise SnapkitError(f"cannot write below --target {target}: read-only file system; "
                           "restore into a writable directory") from exc
    if exc.errno == errno.EROFS:
        raise SnapkitError(f"cannot write {dest}: read-only file system; remount it "
                           "read-write, or restore into a --target elsewhere") from exc
    if exc.errno in _FULL:
        raise SnapkitError(f"no space left on the disk while writing {dest}; free space there "
                           "(or pass another --target) and restore again") from exc
    if exc.errno in (errno.EACCES, errno.EPERM):
        raise SnapkitError(f"permission denied writing {dest}; restore into a --target you "
                           "can write to") from exc
    raise SnapkitError(f"{exc.strerror or exc} while restoring {dest}") from exc


def _below(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)
