"""A backend that fails on purpose (after kopia's ``internal/blobtesting/faulty.go``).

:class:`FaultyBackend` wraps any :class:`~snapkit.store.backend.Backend` and forwards every
call to it. Each :class:`Fault` added with :meth:`~FaultyBackend.fail` or
:meth:`~FaultyBackend.corrupt` picks calls by operation and kind and counts the calls it
matches from 0: the ``nth`` one (and ``times - 1`` after it, or every later one) raises the
chosen exception, or has its loaded bytes changed. Every call is counted in ``calls``.

    backend = FaultyBackend(LocalBackend(path))
    backend.fail("save", "packs", nth=1, error=OSError(5, "Input/output error"))
    backend.fail(("save", "remove"), nth=k, error=Crash)          # the k-th change of any kind
    backend.fail("save", "index", error=Crash, after=True)        # written, then the caller fails
    backend.corrupt("packs", how=flip(3), times=None)             # every pack read is damaged
    repo = Repository(backend, Repository.open(path).config)
    backend.calls["save", "packs"]                                # how many pack saves ran

A fault raises before the call reaches the wrapped backend (nothing is written or removed)
unless ``after=True``. ``load_ranges`` counts as a ``load``. Whatever the wrapper does not
define (``root`` of a local backend, the temp-file methods) is the wrapped backend's, unfaulted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from snapkit.store.backend import Backend

Op = Literal["exists", "create", "save", "load", "size", "list", "remove", "modified"]
Error = BaseException | type[BaseException]


def flip(offset: int, mask: int = 0x01) -> Callable[[bytes], bytes]:
    """Corruption: flip bits of the byte at ``offset`` (from the end when negative)."""

    def damage(data: bytes) -> bytes:
        if not data:
            return data
        out = bytearray(data)
        out[offset % len(out)] ^= mask
        return bytes(out)

    return damage


def truncate(keep: int) -> Callable[[bytes], bytes]:
    """Corruption: keep only the first ``keep`` bytes."""
    return lambda data: data[:keep]


@dataclass
class Fault:
    """Which calls fail, and how: ``error`` raised, or the loaded bytes passed through
    ``corrupt``."""

    ops: frozenset[str]
    kind: str | None = None  # None: every kind
    name: str | None = None  # None: every file
    nth: int = 0  # the first matching call hit, counting from 0
    times: int | None = 1  # how many matching calls from the nth are hit; None: all of them
    error: Error | None = None
    after: bool = False  # raise once the wrapped call has completed
    corrupt: Callable[[bytes], bytes] | None = None
    seen: int = 0  # matching calls so far
    hits: int = 0  # calls this fault hit

    def matches(self, op: str, kind: str, name: str | None) -> bool:
        if op not in self.ops or self.kind not in (None, kind):
            return False
        if self.name is not None and name != self.name:
            return False
        index = self.seen
        self.seen += 1
        hit = index >= self.nth and (self.times is None or index < self.nth + self.times)
        self.hits += hit
        return hit


#: The faults one call hit.
Hits = list[Fault]


class InjectedFault(Exception):
    """The default error of :meth:`FaultyBackend.fail`."""


@dataclass
class FaultyBackend:
    """Any backend, with faults injected on chosen calls."""

    inner: Backend
    faults: Hits = field(default_factory=list)
    #: (operation, kind) → calls made, failed ones included
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    location: str = field(init=False)

    def __post_init__(self) -> None:
        self.location = self.inner.location

    def __getattr__(self, attr: str) -> Any:
        # Only reached for what is not defined here (``root`` of a local backend, and any
        # Backend method added later): forwarded as it is, never faulted.
        if attr in ("inner", "faults", "calls", "location"):
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def uncached(self) -> FaultyBackend:
        return self  # the faults stay: a check through it meets them

    def count(self, *ops: str, kind: str | None = None) -> int:
        """Calls made of the operations ``ops`` (of one kind, or of all)."""
        return sum(n for (op, k), n in self.calls.items()
                   if op in ops and kind in (None, k))

    # ------------------------------------------------------------------ configuring

    def fail(self, ops: str | Iterable[str], kind: str | None = None, *, nth: int = 0,
             times: int | None = 1, error: Error = InjectedFault, after: bool = False,
             name: str | None = None) -> Fault:
        """Make matching calls raise ``error`` (an instance, or a class called with a message
        naming the call)."""
        fault = Fault(frozenset([ops] if isinstance(ops, str) else ops), kind, name, nth, times,
                      error=error, after=after)
        self.faults.append(fault)
        return fault

    def corrupt(self, kind: str | None = None, *, how: Callable[[bytes], bytes] | None = None,
                nth: int = 0, times: int | None = 1, name: str | None = None) -> Fault:
        """Make matching loads return their bytes passed through ``how`` (default: the first
        byte's lowest bit flipped)."""
        fault = Fault(frozenset({"load"}), kind, name, nth, times, corrupt=how or flip(0))
        self.faults.append(fault)
        return fault

    # ------------------------------------------------------------------ the machinery

    def _enter(self, op: str, kind: str, name: str | None = None) -> Hits:
        self.calls[op, kind] += 1
        hit = [f for f in self.faults if f.matches(op, kind, name)]
        for f in hit:
            if f.error is not None and not f.after:
                self._raise(f, op, kind, name)
        return hit

    def _leave(self, hit: Hits, op: str, kind: str, name: str | None) -> None:
        for f in hit:
            if f.error is not None and f.after:
                self._raise(f, op, kind, name)

    @staticmethod
    def _raise(f: Fault, op: str, kind: str, name: str | None) -> None:
        error = f.error
        if isinstance(error, type):
            where = f"{kind}/{name}" if name else kind
            raise error(f"injected failure: {op} {where} (call {f.seen - 1})")
        assert error is not None
        raise error

    @staticmethod
    def _damaged(hit: Hits, data: bytes) -> bytes:
        for f in hit:
            if f.corrupt is not None:
                data = f.corrupt(data)
        return data

    # ------------------------------------------------------------------ Backend

    def exists(self) -> bool:
        hit = self._enter("exists", "config")
        out = self.inner.exists()
        self._leave(hit, "exists", "config", None)
        return out

    def create(self) -> None:
        hit = self._enter("create", "config")
        self.inner.create()
        self._leave(hit, "create", "config", None)

    def save(self, kind: str, name: str, data: bytes) -> None:
        hit = self._enter("save", kind, name)
        self.inner.save(kind, name, data)
        self._leave(hit, "save", kind, name)

    def load(self, kind: str, name: str, offset: int = 0, length: int | None = None) -> bytes:
        hit = self._enter("load", kind, name)
        data = self._damaged(hit, self.inner.load(kind, name, offset, length))
        self._leave(hit, "load", kind, name)
        return data

    def load_ranges(self, kind: str, name: str,
                    ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        hit = self._enter("load", kind, name)
        out = [self._damaged(hit, d) for d in self.inner.load_ranges(kind, name, ranges)]
        self._leave(hit, "load", kind, name)
        return out

    def size(self, kind: str, name: str) -> int:
        hit = self._enter("size", kind, name)
        out = self.inner.size(kind, name)
        self._leave(hit, "size", kind, name)
        return out

    def list(self, kind: str) -> Iterator[str]:
        hit = self._enter("list", kind)  # a listing that fails, fails when it is asked for
        names = list(self.inner.list(kind))
        self._leave(hit, "list", kind, None)
        return iter(names)

    def remove(self, kind: str, name: str) -> None:
        hit = self._enter("remove", kind, name)
        self.inner.remove(kind, name)
        self._leave(hit, "remove", kind, name)

    def modified(self, kind: str, name: str) -> float | None:
        hit = self._enter("modified", kind, name)
        out = self.inner.modified(kind, name)
        self._leave(hit, "modified", kind, name)
        return out
