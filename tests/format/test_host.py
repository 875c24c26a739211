"""``snapkit.format.host``: the host name snapshots and locks record is the one
``socket.gethostname()`` gives (earlier snapshots and other tools' locks hold that one)."""

from __future__ import annotations

import socket

from snapkit.format.host import host_name


def test_host_name_is_sockets() -> None:
    assert host_name() == socket.gethostname()
