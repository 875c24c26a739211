"""This machine's name, as snapshots, locks and schedule records hold it.

``socket.gethostname()`` is what they always held; where ``os.uname`` exists (Linux, macOS,
the BSDs) its ``nodename`` is the same name from the same system call, without importing
``socket`` (2 ms of every command's start, for one string).
"""

from __future__ import annotations

import os


def host_name() -> str:
    """The name of this machine (``socket.gethostname()``)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows

    return socket.gethostname()
