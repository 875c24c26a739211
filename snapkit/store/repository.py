"""The Repository: config, index, blob loading, blob saving and snapshot manifests.

Operations take the narrowest piece they need: a ``load_blob``/``load_tree`` callable for
readers, a :class:`BlobSaver` (``snapkit.store.saver``) for writers. Write order is packs →
index → manifest; the manifest is the commit point, so an interrupted run leaves at most
unreferenced packs.

Damage is contained, not fatal: an index file or a snapshot manifest that cannot be read is
skipped with a warning (:attr:`Repository.warnings`, also passed to :attr:`on_warning`), and a
blob that fails to read back is recorded as damaged (:meth:`record_damage`, written as a small
index file by :meth:`flush_damage`) so that no later run trusts that copy.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from snapkit.format.errors import (
    BlobUnreadable,
    IntegrityError,
    PassphraseNeeded,
    SnapkitError,
    UsageError,
)
from snapkit.format.model import (
    BlobEntry,
    Damage,
    Snapshot,
    Tree,
    content_id,
    decode_snapshot,
    decode_tree,
    encode_snapshot,
    snapshot_order,
)
from snapkit.format.repo_config import DEFAULT_ZSTD_LEVEL
from snapkit.format.repo_config import PACK_TARGET as PACK_TARGET
from snapkit.format.repo_config import REPO_MAGIC as REPO_MAGIC
from snapkit.format.repo_config import RepoConfig as RepoConfig
from snapkit.store import keys, local_cache
from snapkit.store.backend import Backend, NotFound
from snapkit.store.cipher import PLAIN, Cipher, Sealed
from snapkit.store.cipher import verified_blob as _verified
from snapkit.store.connect import backend_for, ensure_vacant, read_config, write_new
from snapkit.store.connect import is_vacant as is_vacant
from snapkit.store.index import Index, write_index
from snapkit.store.location import default_repo_path as default_repo_path
from snapkit.store.lock import repository_lock
from snapkit.store.pack import load_runs

if TYPE_CHECKING:  # loaded when used: the writers' side (saver() below; commands that only
    # read never import the saver, its threads and pool)
    from snapkit.format.crypto import KdfParams
    from snapkit.store.saver import BlobSaver

#: ``read_blobs`` reads at most this many blobs, or about this many stored bytes, at a time.
READ_WINDOW_BLOBS = 256
READ_WINDOW_BYTES = 2 * 1024 * 1024


class SnapshotList(list[tuple[str, Snapshot]]):
    """:meth:`Repository.snapshots`: the readable snapshots, oldest first, and ``damaged``,
    the manifests skipped as damaged (id → why)."""

    damaged: dict[str, str] = {}  # noqa: RUF012 - replaced per instance, never mutated


class Repository:
    """An opened repository."""

    def __init__(self, backend: Backend, config: RepoConfig, cipher: Cipher = PLAIN) -> None:
        self.backend = backend
        self.config = config
        #: how objects are stored: plainly, or sealed under the repository's key
        self.cipher = cipher
        use_cipher = getattr(backend, "use_cipher", None)  # S3: its cache reads pack trailers
        if cipher.encrypted and use_cipher is not None:
            use_cipher(cipher)
        #: the key file the passphrase opened (an encrypted repository), else None
        self.key_name: str | None = None
        self._index: Index | None = None  # read when first asked for (see :attr:`index`)
        self._tree_cache: OrderedDict[str, Tree] = OrderedDict()
        #: one line per object skipped as damaged, in the order found
        self.warnings: list[str] = []
        #: called with each warning as it is found (ops pass their event callback)
        self.on_warning: Callable[[str], None] | None = None
        #: snapshot id → why its manifest could not be read (skipped by :meth:`snapshots`)
        self.damaged_snapshots: dict[str, str] = {}
        self._new_damage: list[Damage] = []
        #: why the config file could not be read (the repository was opened with
        #: :meth:`RepoConfig.fallback`), or None
        self.config_damaged: str | None = None

    @property
    def index(self) -> Index:
        """The blob index, read from the index files when first asked for: a command that
        reads only manifests (``snapshots``, ``tag``, ``forget`` without ``--prune``) never
        reads it (a million blobs take a second), and one that takes a lock reads it under
        the lock. An index file that cannot be read is a warning, then."""
        if self._index is None:
            self._index = Index.load(self.backend, self.cipher)
            if self._index.broken and not self._index.files and not self.cipher.encrypted:
                keys.refuse_if_sealed(self.backend, list(self._index.broken))
            for name, reason in sorted(self._index.broken.items()):
                self._warn(f"index file {name} is damaged ({reason}) and was skipped: the "
                           "blobs only it listed look missing until `snapkit repair index` "
                           "rebuilds the index")
        return self._index

    @index.setter
    def index(self, index: Index) -> None:
        self._index = index

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)

    def set_on_warning(self, on_warning: Callable[[str], None]) -> None:
        """Pass every warning, the ones found while opening included, to ``on_warning``."""
        self.on_warning = on_warning
        for message in self.warnings:
            on_warning(message)

    # ------------------------------------------------------------------ damage

    def record_damage(self, blob_id: str, pack: str, reason: str) -> None:
        """Remember that the copy of ``blob_id`` in ``pack`` cannot be read back: from now on
        the index prefers another copy and the saver stores the blob again. Kept in memory
        until :meth:`flush_damage` writes it."""
        if (blob_id, pack) in self.index.damaged:
            return
        record = Damage(blob_id, pack, reason)
        self.index.add_damage([record])
        self._new_damage.append(record)

    def flush_damage(self) -> None:
        """Write the damage recorded since the last flush as one index file (no entries, a
        ``damaged`` list). Best-effort: a repository that cannot be written (read-only, no
        space) keeps it in memory only, with a warning."""
        if not self._new_damage:
            return
        records, self._new_damage = self._new_damage, []
        try:
            self.index.files.add(write_index(self.backend, [], records, self.cipher))
        except (OSError, SnapkitError) as exc:
            self._warn(f"could not record {len(records)} damaged blob(s) in the repository "
                       f"({exc}); `snapkit check --read-data` will find them again")

    # ------------------------------------------------------------------ open / init

    @staticmethod
    def init(location: str | Path, zstd_level: int = DEFAULT_ZSTD_LEVEL,
             passphrase: bytes | None = None, kdf: KdfParams | None = None) -> Repository:
        """Create a repository at a local path or an ``s3:`` location (see ``location.py``),
        encrypted under a new key wrapped by ``passphrase`` when one is given. The key is
        derived before anything is made; the key file, then the config (the commit point) are
        written last, and what was made is removed again if that is interrupted."""
        backend = backend_for(location)
        ensure_vacant(backend)
        config = RepoConfig(id=os.urandom(16).hex(), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            zstd_level=zstd_level)
        cipher: Cipher = PLAIN
        key_file: tuple[str, bytes] | None = None
        if passphrase is not None:
            config, cipher, key_file = keys.encrypt_new(config, passphrase, kdf)
        write_new(backend, config, key_file)
        local_cache.forget_location(backend.location)
        if isinstance(cipher, Sealed):
            keys.remember(backend, config, cipher)
        return Repository(backend, config, cipher)

    @staticmethod
    def open(location: str | Path,
             passphrase: Callable[[], bytes] | None = None) -> Repository:
        """Open the repository at a local path or an ``s3:`` location; an encrypted one is
        unlocked with what ``passphrase`` gives (asked only then), PassphraseNeeded without.
        A config that was altered (its MAC fails, or a plain one where key files are, or
        where this machine saw the repository encrypted) is refused (IntegrityError)."""
        return _open(location, passphrase, repairing=False)

    @staticmethod
    def open_to_repair(location: str | Path,
                       passphrase: Callable[[], bytes] | None = None) -> Repository:
        """:meth:`open` for ``repair config``: an altered config is damaged (as a missing one:
        :attr:`config_damaged`), the repository opened through its key files."""
        return _open(location, passphrase, repairing=True)

    def lock(self, exclusive: bool, operation: str) -> AbstractContextManager[None]:
        return repository_lock(self.backend, exclusive, operation, self.cipher)

    # ------------------------------------------------------------------ reading

    def load_blob(self, blob_id: str) -> bytes:
        """The plain bytes of a blob, verified against its id. A copy that cannot be read back
        raises :class:`BlobUnreadable` and is recorded as damaged."""
        entry = self._entry(blob_id)
        try:
            try:
                stored = self.backend.load("packs", entry.pack, entry.offset, entry.length)
            except NotFound as exc:
                raise _pack_missing(blob_id, entry.pack) from exc
            return _verified(self.cipher, blob_id, entry, stored)
        except BlobUnreadable as exc:
            self.record_damage(exc.blob, exc.pack, exc.message)
            raise

    def read_blobs(self, blob_ids: Sequence[str]) -> Iterator[bytes]:
        """The plain bytes of ``blob_ids`` (a file's content), in order, each verified.

        Read a window at a time (:data:`READ_WINDOW_BLOBS` blobs or :data:`READ_WINDOW_BYTES`
        stored bytes): per pack, every range in one ``load_ranges`` in pack order — one open
        file, or a few ranged requests on S3 — instead of one read per blob.
        """
        start = 0
        while start < len(blob_ids):
            window: list[tuple[str, BlobEntry]] = []
            size = 0
            unknown: IntegrityError | None = None  # raised where its blob stands, not before
            while (start < len(blob_ids) and len(window) < READ_WINDOW_BLOBS
                   and size < READ_WINDOW_BYTES):
                try:
                    entry = self._entry(blob_ids[start])
                except IntegrityError as exc:  # not in the index: after the blobs before it
                    if not window:
                        raise
                    unknown = exc
                    break
                window.append((blob_ids[start], entry))
                size += entry.length
                start += 1
            by_pack: dict[str, list[int]] = {}
            for i, (_, entry) in enumerate(window):
                by_pack.setdefault(entry.pack, []).append(i)
            stored: dict[int, bytes] = {}
            missing: set[str] = set()
            for pack, members in by_pack.items():
                members.sort(key=lambda i: window[i][1].offset)
                try:
                    loaded = load_runs(self.backend, pack, [(window[i][1].offset,
                                                            window[i][1].length)
                                                           for i in members])
                except NotFound:
                    loaded = [b""] * len(members)  # each blob fails below, in order
                    missing.add(pack)
                stored.update(zip(members, loaded, strict=True))
            for i in range(len(window)):  # decoded one at a time: memory stays at the window
                blob_id, entry = window[i]
                try:
                    if entry.pack in missing:
                        raise _pack_missing(blob_id, entry.pack)
                    plain = _verified(self.cipher, blob_id, entry, stored.pop(i))
                except BlobUnreadable as exc:
                    self.record_damage(exc.blob, exc.pack, exc.message)
                    raise
                yield plain
            if unknown is not None:
                raise unknown

    def _entry(self, blob_id: str) -> BlobEntry:
        entry = self.index.get(blob_id)
        if entry is None:
            raise IntegrityError(f"blob {blob_id} is not in the index (repository damaged; "
                                 "run `snapkit check`)")
        return entry

    def load_tree(self, tree_id: str) -> Tree:
        tree = self._tree_cache.get(tree_id)
        if tree is not None:
            self._tree_cache.move_to_end(tree_id)
            return tree
        tree = decode_tree(self.load_blob(tree_id))
        self._tree_cache[tree_id] = tree
        if len(self._tree_cache) > 4096:
            self._tree_cache.popitem(last=False)
        return tree

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, snap: Snapshot) -> str:
        data = self.cipher.seal(encode_snapshot(snap), "snapshot")
        snap_id = content_id(data)
        self.backend.save("snapshots", snap_id, data)
        return snap_id

    def load_snapshot(self, snap_id: str) -> Snapshot:
        try:
            data = self.backend.load("snapshots", snap_id)
        except NotFound as exc:
            raise UsageError(f"no snapshot {snap_id}; list them with `snapkit snapshots`") from exc
        if content_id(data) != snap_id:
            raise IntegrityError(f"snapshot manifest {snap_id} does not match its id "
                                 "(file damaged)")
        return decode_snapshot(self.cipher.open(data, "snapshot", f"snapshot manifest {snap_id}"))

    def snapshot_ids(self) -> list[str]:
        return sorted(self.backend.list("snapshots"))

    def snapshots(self) -> SnapshotList:
        """All readable snapshots, oldest first (``model.snapshot_order``: ties by time put an
        imported snapshot before one taken here). A damaged manifest is skipped with a warning
        and kept in :attr:`damaged_snapshots`."""
        out = SnapshotList()
        for sid in self.snapshot_ids():
            try:
                out.append((sid, self.load_snapshot(sid)))
            except UsageError:
                continue  # removed since the listing (a concurrent forget)
            except IntegrityError as exc:
                if sid not in self.damaged_snapshots:
                    self.damaged_snapshots[sid] = exc.message
                    self._warn(f"{exc.message}: skipped; `snapkit repair snapshots --forget` "
                               "removes it")
        out.sort(key=snapshot_order)
        listed = set(self.snapshot_ids()) if self.damaged_snapshots else set()
        out.damaged = {sid: why for sid, why in self.damaged_snapshots.items() if sid in listed}
        return out

    def remove_snapshot(self, snap_id: str) -> None:
        self.backend.remove("snapshots", snap_id)

    def saver(self, workers: int = 2, zstd_level: int | None = None) -> BlobSaver:
        from snapkit.store.saver import BlobSaver

        return BlobSaver(self, workers=workers, zstd_level=zstd_level)


def _open(location: str | Path, passphrase: Callable[[], bytes] | None,
          repairing: bool) -> Repository:
    backend = backend_for(location)
    where = backend.location
    config = read_config(backend)
    if isinstance(config, str):
        return _without_config(backend, config, passphrase)
    if not config.encrypted:
        why = keys.plain_refused(backend, config)
        if why is None:
            return Repository(backend, config)
        if not repairing:
            raise IntegrityError(keys.altered_plain(where, why))
        return _without_config(backend, f"it says the repository is not encrypted, but {why}",
                               passphrase, config)
    if passphrase is None:
        raise PassphraseNeeded(f"{where} is encrypted; give its passphrase with "
                               "SNAPKIT_PASSWORD_FILE / --password-file, "
                               "SNAPKIT_PASSWORD_COMMAND or SNAPKIT_PASSWORD")
    name, sealed = keys.unlock_sealed(backend, passphrase())
    altered = keys.config_altered(backend, config, sealed)
    if altered is not None:
        if not repairing:
            raise IntegrityError(altered)
        return _without_config(backend, "its MAC under the repository key does not match "
                               "(altered)", passphrase, config, (name, sealed))
    repo = Repository(backend, config, sealed)
    repo.key_name = name
    keys.remember(backend, config, sealed)
    return repo


def _without_config(backend: Backend, reason: str, passphrase: Callable[[], bytes] | None,
                    old: RepoConfig | None = None,
                    unlocked: tuple[str, Sealed] | None = None) -> Repository:
    """The repository opened with :meth:`RepoConfig.fallback`, warning that its config is
    damaged and how to write it again; an encrypted one (it has key files) unlocked first,
    with the fallback of an encrypted repository (its MAC under the key, the ``old`` config's
    id kept when this machine saw it under that key)."""
    where = backend.location
    if unlocked is None and next(iter(backend.list("keys")), None) is None:
        if local_cache.seen_encrypted(old.id if old else None, where) is not None:
            raise IntegrityError(keys.keys_gone(where))
        repo = Repository(backend, RepoConfig.fallback())
        how = "reading it with the version-1 defaults"
    else:
        if unlocked is None:
            if passphrase is None:
                raise PassphraseNeeded(f"{where} is encrypted (it has key files); give its "
                                       "passphrase to open it and repair its config")
            unlocked = keys.unlock_sealed(backend, passphrase())
        name, sealed = unlocked
        repo = Repository(backend, keys.trusted_config(backend, sealed, old), sealed)
        repo.key_name = name
        how = "the repository is encrypted: opened through its key files, with the fixed chunker"
    repo.config_damaged = reason
    repo._warn(f"the repository config is damaged ({reason}); {how} — `snapkit repair config` "
               "writes the file again")
    return repo


def _pack_missing(blob_id: str, pack: str) -> BlobUnreadable:
    return BlobUnreadable(f"pack {pack} holding blob {blob_id} is missing", blob_id, pack,
                          missing=True)
