"""``check``'s pack stage: every pack against the index, and which blobs are damaged.

Every pack the index lists is checked: a missing one loses all its indexed blobs; otherwise
its trailer must list every blob the index places in it. Packs chosen for reading (all with
``read_data``, a :class:`Subset` of them with ``--read-data-subset``) are read whole: a pack
whose bytes do not hash to its id is still verified blob by blob — from its trailer when that
is readable, else from the index's entries for it — so the report names exactly the damaged
blobs. Every damaged copy is recorded in the repository (:func:`record_copy`), as is every
copy an earlier run recorded (``Index.damaged``) counted. Packs no index lists are returned
with the blob ids their trailers hold, for the caller to tell whether the snapshots need them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from snapkit.format.errors import IntegrityError, UsageError
from snapkit.format.model import BlobEntry, content_id
from snapkit.maintain.check_report import (
    REPAIR_INDEX,
    REPAIR_PACKS,
    Findings,
    kind_name,
    record_copy,
)
from snapkit.store.backend import NotFound
from snapkit.store.pack import FOOTER, decode_trailer, parse_pack, read_trailer
from snapkit.store.repository import Repository

SUBSET_FORMS = "N% (a percentage of the packs, 0 < N <= 100, e.g. 10%) or n/m (group n of m, " \
               "1 <= n <= m, e.g. 2/7)"


@dataclass(frozen=True)
class Subset:
    """Which packs ``--read-data-subset`` reads: ``percent`` of them (the lowest ids), or group
    ``part[0]`` of ``part[1]`` (by pack id value modulo m, so m runs read every pack once).
    The same argument picks the same packs every time."""

    text: str
    percent: float = 100.0
    part: tuple[int, int] | None = None

    def select(self, packs: Iterable[str]) -> set[str]:
        ordered = sorted(packs, key=_pack_value)
        if self.part is not None:
            n, m = self.part
            return {p for p in ordered if _pack_value(p) % m == n - 1}
        return set(ordered[:math.ceil(len(ordered) * self.percent / 100)])


def parse_subset(text: str) -> Subset:
    """``N%`` or ``n/m``; anything else is a :class:`UsageError` naming the accepted forms."""
    value = text.strip()
    try:
        if value.endswith("%"):
            percent = float(value[:-1])
            if 0 < percent <= 100:
                return Subset(value, percent=percent)
        elif "/" in value:
            n, m = (int(part) for part in value.split("/", 1))
            if 1 <= n <= m:
                return Subset(value, part=(n, m))
    except ValueError:
        pass
    raise UsageError(f"--read-data-subset {text!r} is not a subset: use {SUBSET_FORMS}")


def _pack_value(pack: str) -> int:
    try:
        return int(pack, 16)
    except ValueError:
        return int(content_id(pack.encode()), 16)


# ---------------------------------------------------------------------------------- packs

def check_packs(repo: Repository, found: Findings, read_data: bool,
                subset: Subset | None = None) -> dict[str, set[str] | None]:
    """Check the packs (see the module docstring); return the packs no index lists, each with
    the blob ids its trailer holds (None: the trailer cannot be read)."""
    on_disk = set(repo.backend.list("packs"))
    by_pack: dict[str, list[BlobEntry]] = {}
    for e in repo.index.copies():
        by_pack.setdefault(e.pack, []).append(e)
    found.blobs = len(repo.index)
    for pack in sorted(set(by_pack) - on_disk):
        found.packs_missing.add(pack)
        found.errors.append(f"pack {pack} is in the index but missing "
                            f"({len(by_pack[pack])} blobs lost)")
        for e in by_pack[pack]:
            record_copy(repo, found, e.id, pack, kind_name(e.kind), "pack missing")
    listed = sorted(on_disk & set(by_pack))
    to_read = subset.select(listed) if subset is not None else set(listed) if read_data else set()
    for pack in listed:
        found.packs += 1
        if pack in to_read:
            _read_pack(repo, found, pack, by_pack[pack])
        else:
            _check_trailer(repo, found, pack, by_pack[pack])
    _known_damage(repo, found, by_pack)
    return {pack: _trailer_ids(repo, pack) for pack in sorted(on_disk - set(by_pack))}


def _read_pack(repo: Repository, found: Findings, pack: str, indexed: list[BlobEntry]) -> None:
    """Read the whole pack; verify every blob even when the pack does not match its id."""
    try:
        data = repo.backend.load("packs", pack)
    except NotFound:
        found.errors.append(f"pack {pack} disappeared while being checked")
        return
    found.bytes_read += len(data)
    found.packs_read += 1
    intact = content_id(data) == pack
    trailer: list[BlobEntry] | None = None
    unreadable = ""
    try:
        trailer = parse_pack(pack, data, repo.cipher)
    except IntegrityError as exc:
        unreadable = exc.message
    if trailer is not None:
        _compare(found, pack, trailer, indexed)
    entries = {(e.id, e.offset, e.length): e for e in (*(trailer or ()), *indexed)}
    at = len(found.errors)
    bad = 0
    for e in entries.values():
        reason = _blob_problem(repo, data, e)
        if reason is not None:
            bad += 1
            record_copy(repo, found, e.id, pack, kind_name(e.kind), reason,
                        f"blob {e.id} in pack {pack} is damaged: {reason}")
    if not intact:
        found.packs_damaged.add(pack)
        found.repairs.add(REPAIR_PACKS)
        source = "its trailer" if trailer is not None else \
            f"the index (its trailer is unreadable: {unreadable})"
        found.errors.insert(at, f"pack {pack} does not match its id (damaged): {bad} of "
                                f"{len(entries)} blobs listed by {source} are damaged")


def _blob_problem(repo: Repository, data: bytes, e: BlobEntry) -> str | None:
    """Why the blob at ``e`` in a pack's bytes cannot be read back, or None."""
    stored = data[e.offset:e.offset + e.length]
    if e.offset < 0 or len(stored) != e.length:
        return "the pack ends inside it (pack truncated)"
    try:
        plain = repo.cipher.open_blob(stored, e.raw_length, e.id)
    except IntegrityError as exc:  # (the cipher names the blob: its line names it already)
        return exc.message.replace(f"blob {e.id}: ", "").replace(f"blob {e.id} ", "it ")
    if repo.cipher.content_id(plain) != e.id:
        return "its bytes do not match its id (data corrupted)"
    return None


def _load_trailer(repo: Repository, pack: str) -> tuple[int, list[BlobEntry]]:
    """The pack's size and its trailer's entries, read with two ranged loads."""
    size = repo.backend.size("packs", pack)
    if size < FOOTER.size:
        raise IntegrityError(f"pack {pack} is truncated")
    length = read_trailer(pack, repo.backend.load("packs", pack, size - FOOTER.size,
                                                  FOOTER.size))
    start = size - FOOTER.size - length
    if start < 0:
        raise IntegrityError(f"pack {pack} has a trailer longer than the pack")
    return size, decode_trailer(repo.backend.load("packs", pack, start, length), pack, repo.cipher)


def _check_trailer(repo: Repository, found: Findings, pack: str,
                   indexed: list[BlobEntry]) -> None:
    """Without reading the pack: its trailer lists what the index places in it. A pack cut
    short loses the blobs past its end."""
    try:
        _, entries = _load_trailer(repo, pack)
    except (IntegrityError, NotFound) as exc:
        found.packs_damaged.add(pack)
        found.repairs.add(REPAIR_PACKS)
        found.errors.append(f"{getattr(exc, 'message', str(exc))}; `snapkit check --read-data` "
                            "names its damaged blobs")
        try:
            size = repo.backend.size("packs", pack)
        except NotFound:
            return
        for e in indexed:
            if e.offset + e.length > size:
                record_copy(repo, found, e.id, pack, kind_name(e.kind), "pack truncated",
                            f"blob {e.id} in pack {pack} is cut off (the pack is truncated)")
        return
    _compare(found, pack, entries, indexed)


def _compare(found: Findings, pack: str, trailer: list[BlobEntry],
             indexed: list[BlobEntry]) -> None:
    listed = {(e.id, e.kind, e.offset, e.length) for e in trailer}
    for e in indexed:
        if (e.id, e.kind, e.offset, e.length) not in listed:
            found.repairs.add(REPAIR_INDEX)
            found.errors.append(f"index lists blob {e.id} in pack {pack}, but the pack's "
                                "trailer does not")


def _known_damage(repo: Repository, found: Findings,
                  by_pack: dict[str, list[BlobEntry]]) -> None:
    """Copies an earlier run recorded as damaged count as damaged without reading them."""
    kinds = {(e.id, e.pack): e.kind for entries in by_pack.values() for e in entries}
    for (blob, pack), reason in sorted(repo.index.damaged.items()):
        kind = kinds.get((blob, pack))
        if kind is None or (blob, pack) in found.copies:
            continue
        record_copy(repo, found, blob, pack, kind_name(kind), reason,
                    f"blob {blob} in pack {pack} was recorded as damaged: {reason}")


def _trailer_ids(repo: Repository, pack: str) -> set[str] | None:
    try:
        return {e.id for e in _load_trailer(repo, pack)[1]}
    except (IntegrityError, NotFound):
        return None
