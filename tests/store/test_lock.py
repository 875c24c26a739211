"""Repository locks: shared vs exclusive, cleanup, and stale-lock removal."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Sleeper, dead_pid, plant_lock, wait_for

from snapkit.format.errors import EXIT_LOCKED, RepositoryLocked
from snapkit.format.model import decode_lock, encode_lock
from snapkit.format.repo_config import RepoConfig
from snapkit.store import lock as lock_module
from snapkit.store.backend import LocalBackend
from snapkit.store.lock import STALE_AFTER_S, repository_lock


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    """A plain repository (its locks are plain: ``repository_lock`` is given no cipher); the
    empty layout alone is no repository (``connect.is_vacant``)."""
    b = LocalBackend(tmp_path / "repo")
    b.create()
    b.save("config", "config", RepoConfig(id=os.urandom(16).hex()).to_json())
    return b


@pytest.fixture
def sleeper() -> Iterator[Sleeper]:
    s = Sleeper()
    yield s
    s.stop()


def locks(b: LocalBackend) -> list[str]:
    return sorted(b.list("locks"))


def test_lock_file_exists_while_held_and_is_removed_after(backend: LocalBackend) -> None:
    with repository_lock(backend, exclusive=False, operation="snap"):
        names = locks(backend)
        assert len(names) == 1
        info = decode_lock(backend.load("locks", names[0]))
        assert info["exclusive"] is False
        assert info["operation"] == "snap"
        assert isinstance(info["pid"], int)
    assert locks(backend) == []


def test_lock_is_removed_when_the_block_raises(backend: LocalBackend) -> None:
    with pytest.raises(ZeroDivisionError), repository_lock(backend, True, "prune"):
        1 / 0  # noqa: B018
    assert locks(backend) == []


def test_shared_locks_coexist(backend: LocalBackend) -> None:
    with repository_lock(backend, False, "snap"), repository_lock(backend, False, "snap"):
        assert len(locks(backend)) == 2
    assert locks(backend) == []


@pytest.mark.parametrize(("held", "wanted"), [(False, True), (True, False), (True, True)])
def test_exclusive_conflicts(backend: LocalBackend, held: bool, wanted: bool) -> None:
    with repository_lock(backend, held, "first"):
        before = locks(backend)
        with pytest.raises(RepositoryLocked) as err, repository_lock(backend, wanted, "second"):
            pass  # pragma: no cover
        assert locks(backend) == before  # the loser leaves no lock behind
    assert err.value.exit_code == EXIT_LOCKED
    assert "first" in err.value.message
    assert locks(backend) == []


def test_planted_live_exclusive_lock_conflicts(
    backend: LocalBackend, sleeper: Sleeper
) -> None:
    name = plant_lock(backend.root, sleeper.pid, exclusive=True)
    for exclusive in (False, True):
        with pytest.raises(RepositoryLocked) as err, repository_lock(backend, exclusive, "snap"):
            pass  # pragma: no cover
        assert str(sleeper.pid) in err.value.message
        assert name in err.value.message  # says which file to remove
    assert locks(backend) == [name]


def test_planted_live_shared_lock_allows_shared_only(
    backend: LocalBackend, sleeper: Sleeper
) -> None:
    name = plant_lock(backend.root, sleeper.pid, exclusive=False, operation="snap")
    with repository_lock(backend, False, "snap"):
        pass
    with pytest.raises(RepositoryLocked), repository_lock(backend, True, "prune"):
        pass  # pragma: no cover
    assert locks(backend) == [name]


@pytest.mark.parametrize("exclusive", [False, True])
def test_stale_lock_of_a_dead_process_is_removed(backend: LocalBackend, exclusive: bool) -> None:
    plant_lock(backend.root, dead_pid(), exclusive=exclusive)
    with repository_lock(backend, True, "prune"):
        assert len(locks(backend)) == 1  # only ours
    assert locks(backend) == []


def test_old_lock_from_another_host_is_stale(backend: LocalBackend) -> None:
    plant_lock(backend.root, 1, host="some-other-host",
               started=time.time() - STALE_AFTER_S - 60)
    with repository_lock(backend, True, "prune"):
        pass
    assert locks(backend) == []


def test_recent_lock_from_another_host_is_respected(backend: LocalBackend) -> None:
    # We cannot see the other host's processes, so even a "dead-looking" pid counts.
    name = plant_lock(backend.root, dead_pid(), host="some-other-host")
    with pytest.raises(RepositoryLocked), repository_lock(backend, False, "snap"):
        pass  # pragma: no cover
    assert locks(backend) == [name]


def test_unreadable_lock_file_is_ignored(backend: LocalBackend) -> None:
    backend.save("locks", "d" * 32, b"\xc1 not msgpack")
    with repository_lock(backend, True, "prune"):
        pass


def test_a_live_holder_is_never_stale_however_old(backend: LocalBackend, sleeper: Sleeper) -> None:
    """A lock taken two days ago by a process that still runs on this host is respected (it
    used to be removed after 24 h, under a long-running restore's feet)."""
    name = plant_lock(backend.root, sleeper.pid, started=time.time() - 2 * 86400)
    with pytest.raises(RepositoryLocked), repository_lock(backend, True, "prune"):
        pass  # pragma: no cover
    assert locks(backend) == [name]


def test_a_reused_pid_is_stale(backend: LocalBackend, sleeper: Sleeper) -> None:
    """The pid runs, but it is another process than the one that took the lock (its start
    time differs): the lock is stale."""
    name = plant_lock(backend.root, sleeper.pid)
    info = decode_lock(backend.load("locks", name))
    info["pid_start"] = 12345.0  # long before the sleeper started
    backend.save("locks", name, encode_lock(info))
    with repository_lock(backend, True, "prune"):
        assert len(locks(backend)) == 1  # only ours
    assert locks(backend) == []


def test_another_hosts_lock_lives_as_long_as_it_is_refreshed(backend: LocalBackend) -> None:
    name = plant_lock(backend.root, 1, host="some-other-host", started=time.time() - 86400)
    info = decode_lock(backend.load("locks", name))
    info["refreshed"] = time.time() - 60
    backend.save("locks", name, encode_lock(info))
    with pytest.raises(RepositoryLocked), repository_lock(backend, True, "prune"):
        pass  # pragma: no cover
    info["refreshed"] = time.time() - STALE_AFTER_S - 60
    backend.save("locks", name, encode_lock(info))
    with repository_lock(backend, True, "prune"):
        pass
    assert locks(backend) == []


def test_a_held_lock_is_refreshed(backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_module, "REFRESH_S", 0.05)
    with repository_lock(backend, False, "restore"):
        (name,) = locks(backend)
        first = decode_lock(backend.load("locks", name))
        assert first["pid_start"] is not None
        assert wait_for(lambda: decode_lock(backend.load("locks", name))["refreshed"]
                        > first["refreshed"], timeout=5)
    assert locks(backend) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names fds through /proc")
def test_locks_are_atomic_but_not_fsynced_while_store_files_are(
    backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spy on the real fsync (it still runs): which files and directories were flushed.
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    with repository_lock(backend, exclusive=True, operation="snap"):
        assert len(locks(backend)) == 1
        assert not [p for p in os.listdir(backend.root / "locks") if p.startswith(".")]
        backend.save("snapshots", "ab" * 16, b"x")
    assert locks(backend) == []
    root = str(backend.root.resolve())
    assert synced == [f"{root}/snapshots/" + synced[0].rsplit("/", 1)[1], f"{root}/snapshots"]
    assert synced[0].rsplit("/", 1)[1].startswith(".tmp-")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="Linux /proc")
def test_a_locks_process_start_time_is_psutils_without_importing_it() -> None:
    import psutil

    for pid in (os.getpid(), os.getppid(), 1):
        assert lock_module._start_time(pid) == pytest.approx(psutil.Process(pid).create_time(),
                                                             abs=0.02)
    assert lock_module._linux_start_time(dead_pid()) is None
