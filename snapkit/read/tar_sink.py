"""The export's tar side: a PAX member for each stored node, and the member writer that
never puts a file's header in the archive before its content was read back whole.

A tar member's header (with its size) precedes its content, so a file whose content turns out
unreadable halfway would leave a member that lies. :func:`read_verified` reads a file's
content first — each blob checked against its id by the reader, then the size and the
whole-file checksum — holding it in memory up to :data:`SPOOL_MEMORY` and beyond that in an
anonymous temporary file (mode 0600, in the system temp directory, gone when closed). Only
then is the member written. :class:`Members` holds the last member back until the end, so that
a final PAX global header (the list of omitted entries, :mod:`snapkit.format.archive_meta`)
can go before it: Python's ``tarfile`` refuses an archive that ends on a global header.

``tarfile`` sums each header's 504 bytes through a 504-item ``struct`` tuple, twice (signed and
unsigned); that was a sixth of a tar.zst export's main thread. Importing this module replaces
``tarfile.calc_chksums`` with :func:`calc_chksums`, the same two sums at C speed (tested equal
on every byte value), for every archive this process writes or reads.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Any

import xxhash

from snapkit.format.errors import IntegrityError
from snapkit.format.model import NODE_DIR, NODE_SYMLINK, Node, file_hasher

_HIGH = bytes(range(128, 256))
_STDLIB_CALC_CHKSUMS = tarfile.calc_chksums  # type: ignore[attr-defined]


def calc_chksums(buf: bytes) -> tuple[int, int]:
    """``tarfile.calc_chksums``: a header's unsigned and signed byte sums, the checksum field
    counted as spaces (a signed byte is the unsigned one less 256 when its high bit is set)."""
    if len(buf) < tarfile.BLOCKSIZE:
        return _STDLIB_CALC_CHKSUMS(buf)  # type: ignore[no-any-return]  # its error, as before
    head, tail = bytes(buf[:148]), bytes(buf[156:tarfile.BLOCKSIZE])
    unsigned = 256 + sum(head) + sum(tail)
    high = len(head) + len(tail) - len(head.translate(None, _HIGH)) \
        - len(tail.translate(None, _HIGH))
    return unsigned, unsigned - 256 * high


tarfile.calc_chksums = calc_chksums  # type: ignore[attr-defined]

#: Content up to this size is held in memory before its member is written; beyond, on disk.
SPOOL_MEMORY = 64 * 1024 * 1024
_COPY = 1024 * 1024


class ContentReader(io.RawIOBase):
    """A file object over a node's chunks, hashing what is read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self.hasher = file_hasher()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buf = chunk
            self.hasher.update(self._buf)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _mtime_fields(ns: int) -> tuple[int, dict[str, str]]:
    sec, frac = divmod(ns, 1_000_000_000)
    if not frac:
        return sec, {}
    # PAX times are a signed decimal: before 1970, -1.5 s is "-1.5" (not floor "-2" + ".5").
    whole, part = divmod(abs(ns), 1_000_000_000)
    sign = "-" if ns < 0 else ""
    return sec, {"mtime": f"{sign}{whole}.{part:09d}".rstrip("0")}


def tarinfo(name: str, node: Node) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name + "/" if node.type == NODE_DIR else name)
    sec, pax = _mtime_fields(node.mtime_ns)
    info.mtime = sec
    info.pax_headers = pax
    info.mode = node.mode
    info.uid, info.gid = node.uid, node.gid
    info.uname, info.gname = node.user, node.group
    if node.type == NODE_DIR:
        info.type = tarfile.DIRTYPE
    elif node.type == NODE_SYMLINK:
        info.type = tarfile.SYMTYPE
        info.linkname = node.target or ""
    else:
        info.type = tarfile.REGTYPE
        info.size = node.size
    return info


class Spooled:
    """A file's content read back whole: the chunks in memory, or an anonymous temp file."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.file: IO[bytes] | None = None

    @classmethod
    def holding(cls, data: bytes) -> Spooled:
        spool = cls(len(data))
        spool.write(data)
        return spool

    def write(self, chunk: bytes) -> None:
        if self.file is None and self.size + len(chunk) > self.limit:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
            for c in self.chunks:
                self.file.write(c)
            self.chunks = []
        if self.file is not None:
            self.file.write(chunk)
        else:
            self.chunks.append(chunk)
        self.size += len(chunk)

    def reader(self) -> IO[bytes]:
        if self.file is not None:
            self.file.seek(0)
            return self.file
        return io.BufferedReader(ContentReader(iter(self.chunks)), _COPY)

    def pieces(self) -> Iterator[bytes]:
        """The content, in the chunks held or 1 MiB reads of the temp file."""
        if self.file is None:
            yield from self.chunks
            return
        self.file.seek(0)
        while piece := self.file.read(_COPY):
            yield piece

    def close(self) -> None:
        self.chunks = []
        if self.file is not None:
            self.file.close()
            self.file = None


def read_verified(chunks: Iterator[bytes], node: Node, name: str,
                  limit: int = SPOOL_MEMORY) -> Spooled:
    """``node``'s whole content, checked against its size and checksum; raises
    :class:`IntegrityError` (a ``BlobUnreadable`` among them) with nothing kept."""
    spool = Spooled(limit)
    # One chunk whose id is the file's checksum: checked as it was read (ids are the same
    # xxh3-128 of the same bytes), no second pass over it.
    hasher: xxhash.xxh3_128 | None = None if node.content == (node.hash,) else file_hasher()
    try:
        for chunk in chunks:
            spool.write(chunk)
            if hasher is not None:
                hasher.update(chunk)
        if spool.size != node.size or (node.hash and hasher is not None
                                       and hasher.hexdigest() != node.hash):
            raise IntegrityError(f"{name}: stored content does not match its size or checksum")
    except BaseException:
        spool.close()
        raise
    return spool


class Records(io.RawIOBase):
    """What ``tarfile`` writes, passed on in 10 KiB records as its stream mode (``w|``) does —
    the compressors see the same writes, so give the same bytes — without its copying of the
    whole buffer at each record; counts what went through (``tarfile`` asks ``tell``).
    :meth:`close` writes the last record (it does not close ``out``). ``records=False`` for a
    stream whose bytes do not depend on how they are cut (zstd, a plain file)."""

    def __init__(self, out: IO[bytes], records: bool = True) -> None:
        self._out = out
        self._records = records  # False: each write passed on as it comes
        self._buf = bytearray()
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n: int = memoryview(b).nbytes
        self._written += n
        if not self._records:
            self._out.write(b)
            return n
        self._buf += b
        if len(self._buf) > tarfile.RECORDSIZE:  # as _Stream: a full record stays until more
            cut = (len(self._buf) - 1) // tarfile.RECORDSIZE * tarfile.RECORDSIZE
            for start in range(0, cut, tarfile.RECORDSIZE):
                self._out.write(bytes(self._buf[start:start + tarfile.RECORDSIZE]))
            del self._buf[:cut]
        return n

    def tell(self) -> int:
        return self._written

    def close(self) -> None:
        if not self.closed and self._buf:
            self._out.write(bytes(self._buf))
            self._buf = bytearray()
        super().close()


_PLAIN_TYPES = frozenset((tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE))
_TAIL = tarfile.NUL * (8 + 8 + 155)  # device numbers (none) and the prefix (unused in PAX)
_PAX_UTF8 = (tarfile.PAX_FORMAT, "utf-8", "surrogateescape")  # the export's archives
#: PAX's string fields that go to an extended header when too long or not ASCII, and the
#: number fields that go there when they do not fit in octal (tarfile's order: it is kept)
_TEXT_FIELDS = (("path", 100), ("linkpath", 100), ("uname", 32), ("gname", 32))
_NUMBER_FIELDS = (("uid", 0o10000000), ("gid", 0o10000000), ("size", 0o100000000000),
                  ("mtime", 0o100000000000))
_pax_records = tarfile.TarInfo._create_pax_generic_header  # type: ignore[attr-defined]
_PAX_NAME = b"././@PaxHeader"  # tarfile's name for an extended header


def pax_header(info: tarfile.TarInfo) -> bytes:
    """``info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")``, the same bytes built
    directly (``tarfile`` checks every field through a dict and builds the header a field at a
    time: a tenth of a tar.zst export's main thread) for a file, directory or symlink with
    whole numbers; anything else through ``tobuf``."""
    texts = (info.name, info.linkname, info.uname, info.gname)
    numbers: list[Any] = [info.uid, info.gid, info.size, info.mtime]  # ints: checked below
    if (info.type not in _PLAIN_TYPES or type(info.mode) is not int
            or any(type(t) is not str for t in texts) or any(type(n) is not int for n in numbers)
            or (info.type == tarfile.DIRTYPE and not info.name.endswith("/"))):
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    pax = info.pax_headers
    for text, (key, length) in zip(texts, _TEXT_FIELDS, strict=True):
        if (len(text) > length or not text.isascii()) and key not in pax:
            pax = {**pax, key: text}
    for i, (key, limit) in enumerate(_NUMBER_FIELDS):
        if not 0 <= numbers[i] < limit:
            if key not in pax:
                pax = {**pax, key: str(numbers[i])}
            numbers[i] = 0
    name, link, uname, gname = (t.encode("ascii", "replace") for t in texts)
    block = _ustar(name, info.mode & 0o7777, numbers, info.type, link, uname, gname)
    return _extended(pax) + block if pax else block


def _ustar(name: bytes, mode: int, numbers: list[int], kind: bytes, link: bytes, uname: bytes,
           gname: bytes) -> bytes:
    """``tarfile.TarInfo._create_header`` of a USTAR block (``numbers``: uid, gid, size,
    mtime, each within its field)."""
    block = b"".join((
        name[:100].ljust(100, tarfile.NUL),
        b"%07o\0%07o\0%07o\0%011o\0%011o\0        " % (mode, *numbers),
        kind,
        link[:100].ljust(100, tarfile.NUL),
        tarfile.POSIX_MAGIC,
        uname[:32].ljust(32, tarfile.NUL),
        gname[:32].ljust(32, tarfile.NUL),
        _TAIL,
    )).ljust(tarfile.BLOCKSIZE, tarfile.NUL)
    return b"%s%06o\0%s" % (block[:148], calc_chksums(block)[0], block[155:])


def _extended(pax: Mapping[str, str]) -> bytes:
    """``tarfile.TarInfo._create_pax_generic_header(pax, XHDTYPE, "utf-8")``: the extended
    header block, then its records padded to a block (values that are not UTF-8 through
    ``tarfile``: they take its ``hdrcharset=BINARY`` form)."""
    records = []
    for key, value in pax.items():
        try:
            field = b"%s=%s\n" % (key.encode("utf-8"), value.encode("utf-8"))
        except UnicodeEncodeError:
            return _pax_records(pax, tarfile.XHDTYPE, "utf-8")  # type: ignore[no-any-return]
        size = len(field) + 1  # with the space after the length, then the length's digits
        total = size + len(str(size))
        total = size + len(str(total))  # (one more digit moves the length at most once)
        records.append(b"%d %s" % (total, field))
    data = b"".join(records)
    head = _ustar(_PAX_NAME, 0, [0, 0, len(data), 0], tarfile.XHDTYPE, b"", b"", b"")
    return head + data.ljust(-(-len(data) // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE, tarfile.NUL)


def add_member(tar: tarfile.TarFile, info: tarfile.TarInfo, content: Spooled | None) -> None:
    """``tar.addfile`` (but not listed in ``tar.members``: nothing reads them back), the
    content written in the pieces it is held in, not copied through 16 KiB reads."""
    assert tar.fileobj is not None
    buf = (pax_header(info) if (tar.format, tar.encoding, tar.errors) == _PAX_UTF8
           else info.tobuf(tar.format, tar.encoding, tar.errors))
    tar.fileobj.write(buf)
    tar.offset += len(buf)
    if content is not None:
        for piece in content.pieces():
            tar.fileobj.write(piece)
        blocks, remainder = divmod(info.size, tarfile.BLOCKSIZE)
        if remainder:
            tar.fileobj.write(tarfile.NUL * (tarfile.BLOCKSIZE - remainder))
            blocks += 1
        tar.offset += blocks * tarfile.BLOCKSIZE


class Members:
    """Writes members to a tar stream, with ``hold_last`` the last one held back until
    :meth:`finish`."""

    def __init__(self, tar: tarfile.TarFile, hold_last: bool = True) -> None:
        self.tar = tar
        self.hold_last = hold_last
        self._pending: tuple[tarfile.TarInfo, Spooled | None] | None = None

    def add(self, info: tarfile.TarInfo, content: Spooled | None = None) -> None:
        self._flush()
        self._pending = (info, content)
        if not self.hold_last:
            self._flush()

    def _flush(self) -> None:
        if self._pending is None:
            return
        info, content = self._pending
        self._pending = None
        try:
            add_member(self.tar, info, content)
        finally:
            if content is not None:
                content.close()

    def finish(self, final_record: dict[str, str] | None = None) -> None:
        """Write ``final_record`` as a PAX global header, then the member held back."""
        if final_record:
            buf = tarfile.TarInfo.create_pax_global_header(final_record)
            assert self.tar.fileobj is not None
            self.tar.fileobj.write(buf)
            self.tar.offset += len(buf)
        self._flush()

    def discard(self) -> None:
        if self._pending is not None and self._pending[1] is not None:
            self._pending[1].close()
        self._pending = None
