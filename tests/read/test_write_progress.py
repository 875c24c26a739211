"""The progress hook of the sinks that write files (issue 16): a big file's bytes counted as
they pass, taken back as it ends, and counted whole by ``on_file``; the totals reported never
go back nor beyond what was written."""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator

from snapkit.ops.events import Event, FileCounter, FileWritten
from snapkit.read.write_progress import COUNTED_FROM, HeldMembers, counted, write_progress

MiB = 1 << 20


def _counter() -> tuple[FileCounter, list[FileWritten]]:
    seen: list[FileWritten] = []

    def keep(event: Event) -> None:
        assert isinstance(event, FileWritten)
        seen.append(event)

    counter = FileCounter(keep, interval=0)
    counter.planned(2, 10 * MiB)
    return counter, seen


def _chunks(n: int, size: int = MiB) -> Iterator[bytes]:
    return (b"x" * size for _ in range(n))


def test_a_big_file_counts_as_it_is_written_then_whole() -> None:
    counter, seen = _counter()
    assert write_progress(counter) is counter and write_progress(print) is None
    for _ in counted(_chunks(8), counter, 8 * MiB, "/t/big", tick=True):
        pass
    counter("/t/big", 8 * MiB)
    counter("/t/small", 2 * MiB)
    done = [e.bytes for e in seen]
    assert done[:8] == [n * MiB for n in range(1, 9)] and done[-2:] == [8 * MiB, 10 * MiB]
    assert all(e.path == "/t/big" for e in seen[:9]) and seen[-1].files == 2
    assert done == sorted(done) and max(done) == 10 * MiB


def test_a_small_file_or_a_plain_callback_is_not_counted_per_chunk() -> None:
    counter, seen = _counter()
    chunks = _chunks(2)
    assert counted(chunks, counter, COUNTED_FROM - 1, "/t/a") is chunks
    assert counted(chunks, None, 10 * COUNTED_FROM, "/t/a") is chunks
    counter.tick()  # nothing under way: nothing reported
    assert seen == []


def test_a_file_that_fails_midway_is_taken_back() -> None:
    counter, seen = _counter()
    stream = counted(_chunks(6), counter, 6 * MiB, "/t/bad", tick=True)
    assert isinstance(stream, Generator)
    next(stream), next(stream), next(stream)
    stream.close()  # (the writer raised: the rest is never asked for)
    counter("/t/next", MiB)
    assert seen[-1].bytes == 2 * MiB  # the bytes shown never go back...
    counter("/t/next2", 2 * MiB)
    assert seen[-1].bytes == 3 * MiB  # ...and the failed file's are not kept


def test_held_members_count_half_read_back_half_written_then_report() -> None:
    counter, seen = _counter()
    out = io.BytesIO()
    track = HeldMembers(out, counter, big=True)
    assert track.sink is not out
    for _ in track.reading(_chunks(8), 8 * MiB, "/t/big"):
        pass
    assert seen[-1].bytes == 4 * MiB and seen[-1].files == 0  # half of it, read back
    track.done("/t/big", 8 * MiB, held=True)  # its member held back: not reported yet
    assert seen[-1].files == 0

    def write_member() -> None:
        for _ in range(9):  # the header and the content
            track.sink.write(b"y" * MiB)

    track.write(write_member)
    assert len(out.getvalue()) == 9 * MiB
    assert (seen[-1].files, seen[-1].bytes) == (1, 8 * MiB)
    assert [e.bytes for e in seen] == sorted(e.bytes for e in seen)
    plain = HeldMembers(out, counter, big=False)  # no big file: the stream itself
    assert plain.sink is out and plain.progress is None
