"""The S3 backend: the repository layout on S3-compatible object storage, through botocore
(boto3's client).

Keys mirror the local layout below an optional prefix: ``<prefix>/config``,
``<prefix>/packs/<xx>/<id>``, ``<prefix>/index/<id>``, ``<prefix>/snapshots/<id>``,
``<prefix>/locks/<id>``. Every save is one ``PutObject``, which S3 applies atomically (readers
see the old object or the whole new one, never a part), so there are no temp files; loads of a
part use a ``Range`` request. Write order (packs → index → manifest) makes a crash safe here
exactly as it does on disk. See ``docs/s3.md``. Requests run concurrently where it pays: packs
are uploaded in the background (``s3_write``: an index file or a manifest waits for them), and
packs are read ahead in growing windows (``s3_read``: a restore reads each pack front to back
in a few large ranged GETs instead of one per file).

With a cache directory (``connect`` passes snapkit's), immutable objects are kept on the local
disk (``s3_cache``): index files and snapshot manifests as they are read or written, and the
trees of each pack as it is uploaded or when a tree of it is first read (then the pack's
trailer is read, and all its trees in a few requests at once), so an unchanged snapshot reads
no tree from S3. Listings always come from S3.

botocore is imported when an S3 repository is opened (boto3, the ``s3`` extra, must be
installed; ``s3_client`` builds the client once per process), so snapkit runs without it;
botocore failures become one-line :class:`~snapkit.format.errors.SnapkitError` messages:
access denied, missing credentials and an unreachable endpoint exit 10 (the repository cannot
be reached), anything else S3 reports exits 1.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from snapkit.format.errors import RepositoryMissing, SnapkitError
from snapkit.store.backend import KINDS, NotFound, TempFile, check_name, check_temp_name
from snapkit.store.cipher import PLAIN, Cipher
from snapkit.store.location import S3Location, redact
from snapkit.store.pack import FOOTER
from snapkit.store.s3_cache import ObjectCache, fetch_trees, pack_trees
from snapkit.store.s3_client import (
    DEFAULT_REGION,
    DENIED_CODES,
    client_for,
    error_code,
    failure_reason,
    http_status,
    is_missing,
)
from snapkit.store.s3_read import PackReader
from snapkit.store.s3_write import Uploads

#: ``load_ranges``: ranges this close together are fetched in one request, up to this size.
RANGE_GAP = 256 * 1024
RANGE_SPAN = 32 * 1024 * 1024
class S3Backend:
    """A repository under a key prefix of an S3 bucket."""

    def __init__(self, where: S3Location, *, access_key: str | None = None,
                 secret_key: str | None = None, cache_dir: Path | None = None) -> None:
        self.where = where
        self.location = str(where)
        self.bucket = where.bucket
        self._client, self.region = client_for(where.endpoint, access_key, secret_key,
                                               cache_dir)
        self._cache = ObjectCache(cache_dir, self.location) if cache_dir is not None else None
        self._uncached: set[str] = set()  # packs whose trees could not be cached
        self._cipher: Cipher = PLAIN  # what opens the trailers of packs (see use_cipher)
        # Sizes of packs seen in a listing: packs are content-addressed and never change,
        # so prune and check need not HEAD each one.
        self._pack_sizes: dict[str, tuple[int, float]] = {}
        self._uploads = Uploads(self._put_pack)
        self._reader = PackReader(lambda pack, offset, length: self._get("packs", pack, offset,
                                                                         length))

    def use_cipher(self, cipher: Cipher) -> None:
        """Open pack trailers with the repository's cipher, so that the local cache keeps
        the trees of an encrypted repository's packs too (their trailers are sealed)."""
        self._cipher = cipher
        self._uncached.clear()

    def uncached(self) -> S3Backend:
        """This backend without its local cache: every read asks S3, so ``check`` verifies
        what the bucket holds, not the cache's copy of it (the same client, uploads and
        listings)."""
        if self._cache is None:
            return self
        other = copy.copy(self)
        other._cache = None
        return other

    # ------------------------------------------------------------------ keys and errors

    def _key(self, kind: str, name: str) -> str:
        check_name(kind, name)
        if kind == "config":
            rel = "config"
        elif kind == "packs":
            rel = f"packs/{name[:2]}/{name}"
        else:
            rel = f"{kind}/{name}"
        return f"{self.where.prefix}/{rel}" if self.where.prefix else rel

    def _kind_prefix(self, kind: str) -> str:
        return f"{self.where.prefix}/{kind}/" if self.where.prefix else f"{kind}/"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn botocore failures into one-line errors (NotFound is the caller's business)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError

        try:
            yield
        except ClientError as exc:
            code, status = error_code(exc), http_status(exc)
            if code in DENIED_CODES or status == 403:
                raise RepositoryMissing(
                    f"S3 access denied for bucket {self.bucket}: check AWS_ACCESS_KEY_ID/"
                    f"AWS_SECRET_ACCESS_KEY ({code or status} {doing})"
                ) from exc
            message = exc.response.get("Error", {}).get("Message") or code or status
            raise SnapkitError(redact(f"S3 {doing} failed on {self.location}: {message}")
                               ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise RepositoryMissing(
                f"no S3 credentials for {self.location}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            ) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            endpoint = self.where.endpoint or self._client.meta.endpoint_url
            raise RepositoryMissing(redact(
                f"cannot reach S3 endpoint {endpoint}: {failure_reason(exc)}; check the URL in "
                "--repo and that the server is up")) from exc
        except BotoCoreError as exc:
            raise SnapkitError(redact(f"S3 {doing} failed on {self.location}: {exc}")) from exc

    # ------------------------------------------------------------------ the Backend interface

    def exists(self) -> bool:
        try:
            self._head("config", "config")
        except NotFound:
            return False
        return True

    def create(self) -> None:
        """Create the bucket when it does not exist (keys need no directories)."""
        from botocore.exceptions import ClientError

        with self._errors("checking the bucket"):
            try:
                self._client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if not is_missing(exc):
                    raise
            kw: dict[str, Any] = {}
            if self.where.endpoint is None and self.region != DEFAULT_REGION:
                kw["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            try:
                self._client.create_bucket(Bucket=self.bucket, **kw)
            except ClientError as exc:
                if error_code(exc) == "BucketAlreadyOwnedByYou":
                    return
                if error_code(exc) != "BucketAlreadyExists":
                    raise
                # Created meanwhile by someone: fine if it is ours to use.
                self._client.head_bucket(Bucket=self.bucket)

    def save(self, kind: str, name: str, data: bytes) -> None:
        """One ``PutObject``; a pack's in the background (:mod:`snapkit.store.s3_write`),
        every pack under way stored before an index file or a manifest is written."""
        key = self._key(kind, name)
        if self._cache is not None:
            self._cache.drop(kind, name)  # cached again once written
        if kind == "packs":
            self._pack_sizes.pop(name, None)
            self._reader.forget(name)
            self._uploads.start(name, data)
            return
        if kind in ("index", "snapshots"):
            self._uploads.wait_all()
        self._put(key, data)
        if self._cache is not None and kind in ("index", "snapshots"):
            self._cache.put(kind, name, data)

    def _put_pack(self, name: str, data: bytes) -> None:
        """Upload a pack (in an upload thread); then cache its trees."""
        self._put(self._key("packs", name), data)
        trees = pack_trees(name, data, self._cipher) if self._cache is not None else None
        if self._cache is not None and trees is not None:
            self._cache.put_trees(name, trees)

    def _put(self, key: str, data: bytes) -> None:
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        with self._errors(f"writing {key}"):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=md5,
                                    ContentType="application/octet-stream")

    def load(self, kind: str, name: str, offset: int = 0, length: int | None = None) -> bytes:
        if length == 0:
            self.size(kind, name)  # NotFound when missing
            return b""
        if kind == "packs":
            self._uploads.wait(name)
        if kind == "packs" and length is not None:
            tree = self._cached_tree(name, offset, length)
            if tree is not None:
                return tree
            return self._reader.read(name, [(offset, offset + length)])[0]
        if self._cache is not None and kind in ("index", "snapshots") and not offset \
                and length is None:
            data = self._cache.get(kind, name)
            if data is None:
                data = self._get(kind, name)[0]
                self._cache.put(kind, name, data)
            return data
        return self._get(kind, name, offset, length)[0]

    def _cached_tree(self, pack: str, offset: int, length: int) -> bytes | None:
        """The tree at ``offset`` of ``pack`` from the cache, the pack's trees cached first
        when it has no entry (None: not a tree, no cache, or they could not be read)."""
        known = self._pack_sizes.get(pack)
        if self._cache is None or (known and offset + length >= known[0] - FOOTER.size):
            return None  # no cache, or the pack's footer or trailer (``check``, ``repair``)
        if self._cache.trees(pack) is None and pack not in self._uncached:
            try:
                found = fetch_trees(
                    pack, lambda offset, length: self._get("packs", pack, offset, length),
                    lambda spans: self._reader.read_alone(pack, spans), self._cipher)
            except (NotFound, SnapkitError):  # the read below fails (or not) as it would
                found = None
            if found is None:
                self._uncached.add(pack)
            else:
                self._cache.put_trees(pack, found)
        return self._cache.tree(pack, offset, length)

    def _get(self, kind: str, name: str, offset: int = 0, length: int | None = None
             ) -> tuple[bytes, int | None]:
        """One GET (ranged when ``offset`` or ``length`` is given): the bytes and the object's
        size when the response says it."""
        from botocore.exceptions import ClientError

        key = self._key(kind, name)
        kw: dict[str, Any] = {}
        if offset < 0:  # the last -offset bytes
            kw["Range"] = f"bytes={offset}"
        elif offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            kw["Range"] = f"bytes={offset}-{end}"
        with self._errors(f"reading {key}"):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=key, **kw)
            except ClientError as exc:
                if is_missing(exc):
                    raise NotFound(f"{kind}/{name}") from exc
                if error_code(exc) == "InvalidRange" or http_status(exc) == 416:
                    return b"", None  # the range starts at or past the end of the object
                raise
            data: bytes = response["Body"].read()
        total = str(response.get("ContentRange", "")).rpartition("/")[2]
        return data, int(total) if total.isdigit() else (None if kw else len(data))

    def load_ranges(self, kind: str, name: str,
                    ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Runs of nearby ranges (gaps up to :data:`RANGE_GAP`, spans up to
        :data:`RANGE_SPAN`) read as one span each, instead of one request per range; a pack's
        spans through the read-ahead of :class:`~snapkit.store.s3_read.PackReader` (several
        at once, a pack read front to back in growing windows)."""
        out: list[bytes] = [b""] * len(ranges)
        order = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
        spans: list[tuple[int, int, list[int]]] = []  # (start, end, members)
        for i in order:
            offset, length = ranges[i]
            end = offset + length
            if spans and offset - spans[-1][1] <= RANGE_GAP and end - spans[-1][0] <= RANGE_SPAN:
                start, last, members = spans[-1]
                spans[-1] = (start, max(last, end), [*members, i])
            else:
                spans.append((offset, end, [i]))
        spans = [span for span in spans if span[1] > span[0]]  # empty ranges read nothing
        if kind == "packs":
            self._uploads.wait(name)
            loaded = self._reader.read(name, [(start, end) for start, end, _ in spans])
        else:
            loaded = [self.load(kind, name, start, end - start) for start, end, _ in spans]
        for (start, _end, members), data in zip(spans, loaded, strict=True):
            for i in members:
                offset, length = ranges[i]
                out[i] = data[offset - start: offset - start + length]
        return out

    def _head(self, kind: str, name: str) -> tuple[int, float]:
        from botocore.exceptions import ClientError

        key = self._key(kind, name)
        with self._errors(f"reading {key}"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if is_missing(exc):
                    raise NotFound(f"{kind}/{name}") from exc
                raise
        return int(head["ContentLength"]), float(head["LastModified"].timestamp())

    def size(self, kind: str, name: str) -> int:
        return self._stat(kind, name)[0]

    def modified(self, kind: str, name: str) -> float | None:
        return self._stat(kind, name)[1]

    def _stat(self, kind: str, name: str) -> tuple[int, float]:
        if kind == "packs":
            self._uploads.wait(name)
        known = self._pack_sizes.get(name) if kind == "packs" else None
        if known is None and kind == "packs":  # a pack never changes: its size neither
            known = self._pack_sizes[name] = self._head(kind, name)
        return known or self._head(kind, name)

    def list(self, kind: str) -> Iterator[str]:
        from botocore.exceptions import ClientError

        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        if kind == "config":
            if self.exists():
                yield "config"
            return
        if kind == "packs":
            self._uploads.wait_all(check=False)  # a failed upload is just not listed
        base = self._kind_prefix(kind)
        depth = 2 if kind == "packs" else 1
        paginator = self._client.get_paginator("list_objects_v2")
        listed: list[str] = []
        with self._errors(f"listing {base}"):
            try:
                for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                    for obj in page.get("Contents", ()):
                        parts = obj["Key"][len(base):].split("/")
                        name = parts[-1]
                        if len(parts) != depth or not name or name.startswith("."):
                            continue
                        if kind == "packs":
                            self._pack_sizes[name] = (int(obj["Size"]),
                                                      float(obj["LastModified"].timestamp()))
                        listed.append(name)
                        yield name
            except ClientError as exc:
                if error_code(exc) != "NoSuchBucket":
                    raise
        if self._cache is not None and kind in ("index", "snapshots", "packs"):
            self._cache.keep_only(kind, listed)  # the whole listing was read

    def remove(self, kind: str, name: str) -> None:
        from botocore.exceptions import ClientError

        key = self._key(kind, name)
        if kind == "packs":
            self._uploads.wait(name, forget=True)
            self._pack_sizes.pop(name, None)
            self._reader.forget(name)
        if self._cache is not None:
            self._cache.drop(kind, name)
        with self._errors(f"removing {key}"):
            try:
                self._client.delete_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if not is_missing(exc):
                    raise

    def local_root(self) -> Path | None:
        return None

    def temp_files(self) -> Iterator[TempFile]:
        return iter(())  # a PUT is atomic: an interrupted write leaves no object behind

    def remove_temp(self, name: str) -> bool:
        check_temp_name(name)
        return False
