"""``repair index``: rebuild the index from the packs themselves.

Every pack's trailer lists its blobs, so the index can always be rebuilt from the packs
(restic's ``repair index``). :func:`plan_index_rebuild` reads every trailer and decides the new
index without changing anything; :func:`write_rebuilt_index` writes it as ONE new index file,
then removes every old index file (broken ones included). Killed in between, blobs are listed
twice (old and new files): harmless, and the next run merges them again.

A pack whose trailer is damaged is salvaged from its bytes: the entries an old index lists for
it (each blob verified), and a scan from the first blob on. A zstd-coded blob (codec ``0x01``)
is self-delimiting — the frame ends where the decoder stops — and its id is the xxh3-128 of the
plain bytes; it is a tree when it decodes as a tree object, else data. A raw-coded blob
(``0x00``) does not say where it ends: it is recovered only where an old index lists it; past
one the scan resynchronises at the next zstd frame. Such a pack keeps its damaged bytes, so
``snapkit repair packs`` must rewrite it afterwards.

Damage records (:class:`~snapkit.format.model.Damage`) of the old index are carried over while
their pack is still there and still holds the blob.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import zstandard

from snapkit.format.errors import IntegrityError
from snapkit.format.model import (
    KIND_DATA,
    KIND_TREE,
    BlobEntry,
    Damage,
    content_id,
    decode_tree,
    encode_index,
)
from snapkit.store import codec
from snapkit.store.backend import Backend, NotFound
from snapkit.store.cipher import PLAIN, Cipher
from snapkit.store.index import Index, write_index
from snapkit.store.pack import FOOTER, MAGIC, decode_trailer, read_trailer
from snapkit.store.repository import Repository

Step = Callable[[str], None]

#: The first bytes of a zstd-coded blob: the codec byte, then the zstd frame magic.
ZSTD_START = bytes((codec.CODEC_ZSTD,)) + b"\x28\xb5\x2f\xfd"
#: A scanned frame that decodes to more than this is not one snapkit wrote.
MAX_SCANNED_BLOB = 64 * 1024 * 1024
_FEED = 64 * 1024


@dataclass(frozen=True)
class PackSalvage:
    """A pack whose trailer is damaged, and what could be recovered of it."""

    pack: str
    reason: str  # why its trailer could not be read
    from_index: int  # blobs recovered from an old index's entries (verified)
    scanned: int  # further blobs recovered by scanning its zstd frames
    unrecognised: int  # bytes no blob was found in (raw blobs, the trailer, damage)
    known_lost: int  # blobs an old index lists there that do not verify
    sealed: bool = False  # an encrypted repository's: its blobs cannot be found by scanning

    @property
    def recovered(self) -> int:
        """Blobs indexed again: none, and no index lists the pack (``prune`` removes it)."""
        return self.from_index + self.scanned


@dataclass(frozen=True)
class IndexRebuild:
    """What :func:`write_rebuilt_index` will write; nothing has been changed yet."""

    entries: tuple[BlobEntry, ...]  # by pack, then offset
    damaged: tuple[Damage, ...]  # damage records that still apply
    packs_read: int
    salvaged: tuple[PackSalvage, ...]
    unreadable: tuple[tuple[str, str], ...]  # (pack, reason): could not be read at all
    dropped: int  # old entries of packs that are gone
    dropped_packs: tuple[str, ...]
    added: int  # blobs the old index did not list (a lost index file, an orphan pack)
    old_files: tuple[str, ...]  # every index file now, broken ones included
    broken_files: tuple[str, ...]
    new_name: str  # the id of the new index file's plain bytes (see _index_name)
    old_names: tuple[str, ...] = ()  # the same of each index file there now

    @property
    def nothing_to_do(self) -> bool:
        """The new index would be exactly the one index file already there."""
        if not self.entries:
            return not self.old_files
        return self.old_names == (self.new_name,)

    @property
    def complete(self) -> bool:
        """Every pack was read through its trailer: the rebuilt index lists everything."""
        return not self.salvaged and not self.unreadable


@dataclass(frozen=True)
class IndexWritten:
    """What :func:`write_rebuilt_index` did."""

    index_files_written: int
    index_files_removed: int


def plan_index_rebuild(repo: Repository, on_step: Step | None = None) -> IndexRebuild:
    """Read every pack's trailer (salvage the damaged ones) and decide the new index."""
    step = on_step or (lambda _msg: None)
    backend = repo.backend
    old = repo.index
    old_by_pack: dict[str, list[BlobEntry]] = {}
    for e in old.copies():
        old_by_pack.setdefault(e.pack, []).append(e)
    packs = sorted(backend.list("packs"))
    entries: list[BlobEntry] = []
    salvaged: list[PackSalvage] = []
    unreadable: list[tuple[str, str]] = []
    for n, pack in enumerate(packs, 1):
        step(f"pack {n}/{len(packs)}")
        try:
            found, info = _pack_entries(backend, pack, old_by_pack.get(pack, []), repo.cipher)
        except (NotFound, OSError) as exc:
            unreadable.append((pack, str(exc)))
            continue
        entries.extend(found)
        if info is not None:
            salvaged.append(info)
    entries.sort(key=lambda e: (e.pack, e.offset, e.id))
    on_disk = set(packs)
    dropped_packs = sorted(set(old_by_pack) - on_disk)
    listed = {(e.id, e.pack) for e in entries}
    damaged = sorted((Damage(b, p, r) for (b, p), r in old.damaged.items() if (b, p) in listed),
                     key=lambda d: (d.pack, d.blob))
    old_listed = {(e.id, e.pack) for e in old.copies()}
    old_files = tuple(sorted(backend.list("index")))
    return IndexRebuild(
        entries=tuple(entries),
        damaged=tuple(damaged),
        packs_read=len(packs),
        salvaged=tuple(salvaged),
        unreadable=tuple(unreadable),
        dropped=sum(len(old_by_pack[p]) for p in dropped_packs),
        dropped_packs=tuple(dropped_packs),
        added=len(listed - old_listed),
        old_files=old_files,
        broken_files=tuple(sorted(old.broken)),
        new_name=_index_name(entries, damaged),
        old_names=_plain_names(repo, old_files),
    )


def _pack_entries(backend: Backend, pack: str, known: list[BlobEntry],
                  cipher: Cipher) -> tuple[list[BlobEntry], PackSalvage | None]:
    """A pack's entries from its trailer; salvaged (with the salvage's report) when the trailer
    cannot be read, or when it disagrees with the old index and the pack does not match its
    id (a damaged trailer that still decodes must not replace right entries with wrong ones).
    """
    try:
        listed = read_pack_entries(backend, pack, cipher)
    except IntegrityError as exc:
        return salvage_pack(pack, backend.load("packs", pack), known, exc.message, cipher)
    mine = {(e.id, e.kind, e.offset, e.length, e.raw_length) for e in listed}
    if all((e.id, e.kind, e.offset, e.length, e.raw_length) in mine for e in known):
        return listed, None
    data = backend.load("packs", pack)
    if content_id(data) == pack:
        return listed, None  # the pack is intact: its trailer is right, the old index wrong
    return salvage_pack(pack, data, [*known, *listed],
                        "its trailer disagrees with the index and the pack does not match its id",
                        cipher)


def _index_name(entries: list[BlobEntry], damaged: list[Damage]) -> str:
    """The id of an index file's plain bytes (its name, in a repository without encryption)."""
    return content_id(encode_index(entries, damaged))


def _plain_names(repo: Repository, files: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`_index_name` of each index file: its name, or (sealed) the id of its opened
    bytes — a sealed file's name changes with every sealing, its content does not."""
    if not repo.cipher.encrypted:
        return files
    out: list[str] = []
    for name in files:
        try:
            out.append(content_id(repo.cipher.open(repo.backend.load("index", name), "index",
                                                   f"index file {name}")))
        except (IntegrityError, NotFound):
            out.append(name)
    return tuple(out)


def write_rebuilt_index(repo: Repository, plan: IndexRebuild) -> IndexWritten:
    """Write the planned index as one file, then remove every other index file."""
    backend = repo.backend
    name = (write_index(backend, list(plan.entries), plan.damaged, repo.cipher)
            if plan.entries else None)
    removed = 0
    for old in plan.old_files:
        if old != name:
            with contextlib.suppress(NotFound):
                backend.remove("index", old)
            removed += 1
    repo.index = Index.load(backend, repo.cipher)
    return IndexWritten(1 if name else 0, removed)


def read_pack_entries(backend: Backend, pack: str, cipher: Cipher = PLAIN) -> list[BlobEntry]:
    """The entries a pack's trailer lists, checked to lie inside its data area; raises
    IntegrityError when the trailer cannot be read."""
    size = backend.size("packs", pack)
    if size < len(MAGIC) + FOOTER.size:
        raise IntegrityError(f"pack {pack} is truncated ({size} bytes)")
    length = read_trailer(pack, backend.load("packs", pack, size - FOOTER.size, FOOTER.size))
    start = size - FOOTER.size - length
    if start < len(MAGIC):
        raise IntegrityError(f"pack {pack} has a trailer longer than the pack")
    entries = decode_trailer(backend.load("packs", pack, start, length), pack, cipher)
    for e in entries:
        if e.offset < len(MAGIC) or e.offset + e.length > start or e.kind not in (KIND_DATA,
                                                                                 KIND_TREE):
            raise IntegrityError(f"pack {pack} lists blob {e.id} outside its data area")
    return entries


def verified(e: BlobEntry, data: bytes, cipher: Cipher = PLAIN) -> bool:
    """Whether the bytes of ``data`` at ``e``'s place decode to ``e.id``."""
    stored = data[e.offset: e.offset + e.length]
    if len(stored) != e.length:
        return False
    try:
        return cipher.content_id(cipher.open_blob(stored, e.raw_length, e.id)) == e.id
    except IntegrityError:
        return False


def salvage_pack(pack: str, data: bytes, known: Iterable[BlobEntry], reason: str,
                 cipher: Cipher = PLAIN) -> tuple[list[BlobEntry], PackSalvage]:
    """The blobs recoverable from a pack whose trailer is damaged (see the module docstring);
    in an encrypted repository only those the index knew (sealed blobs cannot be found by
    scanning for zstd frames)."""
    listed = list(dict.fromkeys(known))
    good = [e for e in listed if verified(e, data, cipher)]
    lost = len(listed) - len(good)
    starts = {e.offset: e for e in sorted(good, key=lambda e: -e.length)}
    found: dict[str, BlobEntry] = {e.id: e for e in good}
    scanned = unrecognised = 0
    pos = len(MAGIC)
    while pos < len(data):
        e = starts.get(pos)
        if e is None and not cipher.encrypted and data.startswith(ZSTD_START, pos):
            e = _zstd_blob(pack, data, pos)
            if e is not None and e.id not in found:
                found[e.id] = e
                scanned += 1
        if e is not None:
            pos = e.offset + e.length
            continue
        nxt = [o for o in starts if o > pos]
        frame = data.find(ZSTD_START, pos + 1)
        if frame >= 0:
            nxt.append(frame)
        stop = min(nxt) if nxt else len(data)
        unrecognised += stop - pos
        pos = stop
    return (sorted(found.values(), key=lambda e: e.offset),
            PackSalvage(pack, reason, len(good), scanned, unrecognised, lost, cipher.encrypted))


def _zstd_blob(pack: str, data: bytes, pos: int) -> BlobEntry | None:
    """The zstd-coded blob starting at ``pos``, if a whole frame decodes there."""
    d = zstandard.ZstdDecompressor().decompressobj()
    out: list[bytes] = []
    size = 0
    fed = pos + 1
    try:
        while not d.eof and fed < len(data) and size <= MAX_SCANNED_BLOB:
            piece = d.decompress(data[fed: fed + _FEED])
            fed = min(fed + _FEED, len(data))
            out.append(piece)
            size += len(piece)
    except zstandard.ZstdError:
        return None
    if not d.eof or size > MAX_SCANNED_BLOB:
        return None
    end = fed - len(d.unused_data)
    plain = b"".join(out)
    return BlobEntry(content_id(plain), _kind(plain), pack, pos, end - pos, len(plain))


def _kind(plain: bytes) -> int:
    try:
        decode_tree(plain)
    except Exception:  # arbitrary bytes may upset the decoder in any way: not a tree
        return KIND_DATA
    return KIND_TREE
