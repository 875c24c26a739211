"""Partial files of interrupted writes: how they are named, and when one is an orphan.

``restore`` writes each file to a temp name beside it and ``export`` writes the archive to a
temp name beside the output, then rename into place. A kill in between leaves the temp file.
Both name it ``<prefix><pid>-<hex><suffix>`` so that the next run into the same directory can
tell its own kind from anything else, and tell a leftover of a process that is gone (removed,
and said so) from the file of a run still at work (left alone).
"""

from __future__ import annotations

import os


def partial_name(prefix: str, suffix: str = "") -> str:
    """A fresh temp name for this process: ``<prefix><pid>-<hex><suffix>``."""
    return f"{prefix}{os.getpid()}-{os.urandom(6).hex()}{suffix}"


def is_orphan(name: str, prefix: str, suffix: str = "") -> bool:
    """True when ``name`` is a partial file of this kind whose process is gone."""
    if not name.startswith(prefix) or not name.endswith(suffix):
        return False
    pid_text = name[len(prefix):].split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    import psutil  # only once a partial file is found: most runs never need it

    return not psutil.pid_exists(pid)
