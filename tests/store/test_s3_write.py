"""Pack uploads of the S3 backend in the background (``snapkit.store.s3_write.Uploads``): a
pack's ``save`` returns while it is sent, at most ``DEPTH`` at a time; the index file and the
manifest are written only after every pack under way is stored; a failed upload is raised once
there (one line, nothing indexed), or to whoever reads that pack."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from s3server import S3Server

from snapkit.format.errors import SnapkitError
from snapkit.store.repository import RepoConfig, Repository
from snapkit.store.s3_write import DEPTH, Uploads


class SlowStore:
    """``put`` that takes ``delay`` seconds, records what it stored and how many ran at once."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.stored: dict[str, bytes] = {}
        self.fail: set[str] = set()
        self.running = self.most = 0
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.delay)
            if name in self.fail:
                raise SnapkitError(f"S3 writing packs/{name} failed: SlowDown")
            self.stored[name] = data
        finally:
            with self._lock:
                self.running -= 1


def test_uploads_run_in_the_background_a_few_at_a_time() -> None:
    store = SlowStore()
    uploads = Uploads(store.put)
    t0 = time.perf_counter()
    for i in range(6):
        uploads.start(f"p{i}", b"x" * i)
    started = time.perf_counter() - t0
    uploads.wait_all()
    assert store.stored == {f"p{i}": b"x" * i for i in range(6)}
    assert store.most == DEPTH
    assert started < 6 * store.delay  # start() did not wait for each upload


def test_a_failed_upload_is_raised_once_by_wait_all() -> None:
    store = SlowStore(delay=0.01)
    store.fail = {"bad"}
    uploads = Uploads(store.put)
    uploads.start("good", b"g")
    uploads.start("bad", b"b")
    with pytest.raises(SnapkitError, match="packs/bad failed: SlowDown"):
        uploads.wait_all()
    uploads.wait_all()  # raised once: the write it guarded did not happen
    assert store.stored == {"good": b"g"}


def test_wait_for_one_pack_raises_its_own_error_and_forget_drops_it() -> None:
    store = SlowStore(delay=0.01)
    store.fail = {"bad"}
    uploads = Uploads(store.put)
    uploads.start("bad", b"b")
    uploads.start("good", b"g")
    uploads.wait("good")
    with pytest.raises(SnapkitError, match="packs/bad"):
        uploads.wait("bad")
    uploads.wait("bad", forget=True)  # removed (or written again): no longer an error
    uploads.wait_all()


# --------------------------------------------------------------------------- on a real S3


def _throttled(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PutObject of a pack answers 503 SlowDown (botocore's retries used up)."""
    from botocore.exceptions import ClientError

    put = backend._client.put_object

    def slow_down(**kw: Any) -> Any:
        if "/packs/" in f"/{kw['Key']}":
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your "
                                         "request rate."},
                               "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")
        return put(**kw)

    monkeypatch.setattr(backend._client, "put_object", slow_down)


def test_a_throttled_pack_upload_fails_the_index_write_in_one_line(
        s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = s3_server.backend(s3_server.new_bucket(), "repo")
    backend.create()
    config = RepoConfig(id="c1" * 16)
    backend.save("config", "config", config.to_json())
    _throttled(backend, monkeypatch)
    with pytest.raises(SnapkitError) as caught, Repository(backend, config).saver() as saver:
        saver.save_data(os.urandom(5000))
    message = caught.value.message
    assert "\n" not in message and "Please reduce your request rate" in message
    assert "packs/" in message
    assert list(backend.list("packs")) == [] and list(backend.list("index")) == []
    monkeypatch.undo()
    with Repository(backend, config).saver() as saver:  # the next run works
        blob = saver.save_data(b"after the storm")
    assert Repository(backend, config).load_blob(blob) == b"after the storm"


def test_a_pack_is_readable_as_soon_as_save_returns(s3_server: S3Server) -> None:
    backend = s3_server.backend(s3_server.new_bucket())
    backend.create()
    name = "ab" * 16
    data = os.urandom(3 * 1024 * 1024)
    backend.save("packs", name, data)
    assert backend.load_ranges("packs", name, [(10, 5), (len(data) - 3, 10)]) == [
        data[10:15], data[-3:]]
    assert backend.size("packs", name) == len(data)
    assert list(backend.list("packs")) == [name]
    backend.save("packs", name, data)
    backend.remove("packs", name)
    assert list(backend.list("packs")) == []
