"""Measure FastCDC parameter sets and zstd levels on OpenClaw-like data, side by side.

Run from the project root::

    python -m benchmarks.bench_params            # full run (~1-2 minutes on 2 cores)
    python -m benchmarks.bench_params --quick    # smaller inputs, for a smoke test

Everything is generated in memory (or in a temporary directory) from fixed seeds, so two runs
on the same Python/SQLite/zstd versions measure the same bytes; only the MB/s columns vary.
Results are printed as Markdown tables; ``docs/design.md`` quotes them.

Chunking mirrors ``snapkit.capture.chunker``: a file no larger than ``min_size`` is one chunk and
never
reaches the chunker; anything larger is cut by ``pyfastcdc.FastCDC`` (normalization 1, seed 0)
and every chunk is identified by xxh3-128. Note that pyfastcdc's ``avg_size`` is measured past
the minimum (the effective average is about ``min + avg``), so the "mean" columns show the
chunk size actually produced.

Scenarios (each a pair of versions; "new" = bytes of chunks the second version needs that the
first one does not already have, i.e. what an incremental snapshot must upload):

1. SQLite memory DB (~32 MB, page size 4096, a ``memories`` table with text and a float32
   embedding, a secondary index, a UNIQUE hash index and an FTS5 index), then 50 inserts,
   20 scattered updates and 5 deletes in 10 transactions.
2. Append-only JSONL session transcripts of 100 KB, 500 KB, 2 MB and 8 MB, each appended with
   ~20 KB (averaged over several cut points, since the cost depends on where the tail chunk ends).
3. A 50 MB log file and a 50 MB binary file with 1 KiB inserted in the middle (averaged over
   4 insertion points).
4. A tree of 5,000 small files (0.5-20 KB, log-uniform): chunks per file.
5. Single-thread chunking throughput.

Then zstd levels on per-chunk blobs of representative data (transcripts, SQLite pages,
markdown notes, node_modules-like JavaScript, random bytes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pyfastcdc
import xxhash
import zstandard
from pyfastcdc import FastCDC

from benchmarks._common import table

KiB = 1024
MiB = 1024 * 1024
SEED = 20260314


# ---------------------------------------------------------------------------------------------
# Parameter sets and chunking helpers


@dataclass(frozen=True)
class ParamSet:
    label: str
    min_size: int
    avg_size: int  # pyfastcdc's avg_size argument (effective mean ~ min + avg)
    max_size: int

    def cdc(self) -> FastCDC:
        return FastCDC(
            self.avg_size,
            min_size=self.min_size,
            max_size=self.max_size,
            normalized_chunking=1,
            seed=0,
        )


PARAM_SETS: tuple[ParamSet, ...] = (
    ParamSet("8K/16K/64K", 8 * KiB, 16 * KiB, 64 * KiB),
    ParamSet("16K/32K/128K", 16 * KiB, 32 * KiB, 128 * KiB),
    ParamSet("32K/64K/256K", 32 * KiB, 64 * KiB, 256 * KiB),
    ParamSet("64K/128K/1M (current)", 64 * KiB, 128 * KiB, 1 * MiB),
    ParamSet("256K/512K/2M", 256 * KiB, 512 * KiB, 2 * MiB),
    ParamSet("512K/1M/8M (restic-like)", 512 * KiB, 1 * MiB, 8 * MiB),
)

# The chunking used to cut blobs for the compression-level benchmark (the recommended set).
ZSTD_BLOB_PARAMS = PARAM_SETS[1]


def cut(cdc: FastCDC, min_size: int, data: bytes) -> Iterator[memoryview]:
    """Chunks as snapkit's Chunker produces them (small files bypass the chunker)."""
    if len(data) <= min_size:
        if data:
            yield memoryview(data)
        return
    for c in cdc.cut_buf(data):
        yield c.data


def chunk_ids(ps: ParamSet, data: bytes) -> list[tuple[bytes, int]]:
    cdc = ps.cdc()
    return [(xxhash.xxh3_128_digest(c), len(c)) for c in cut(cdc, ps.min_size, data)]


@dataclass
class Delta:
    chunks: int  # chunks of the new version
    new_chunks: int
    new_bytes: int
    new_stored: int  # new chunks after zstd-3 (or raw when that does not pay), + metadata


# Per-chunk metadata in the repository: an index entry and a pack-trailer entry, each a
# msgpack array [kind, id(bin 16), offset, length, raw_length]; plus the 16-byte id (bin 8 = 18
# bytes) in the file's node of its tree object, which is rewritten whenever the file changes.
_ENTRY = len(msgpack.packb([0, b"\0" * 16, 12_345_678, 123_456, 123_456], use_bin_type=True))
TREE_ID_BYTES = 18


def stored_size(data: bytes | memoryview, comp: zstandard.ZstdCompressor) -> int:
    packed = comp.compress(data)
    n = len(data)
    return 1 + (len(packed) if len(packed) < n - (n >> 5) else n)


def delta(ps: ParamSet, old: bytes, new: bytes, *, old_ids: set[bytes] | None = None) -> Delta:
    """What an incremental snapshot of ``new`` must store, given ``old`` is already stored."""
    if old_ids is None:
        old_ids = {h for h, _ in chunk_ids(ps, old)}
    comp = zstandard.ZstdCompressor(level=3)
    seen: set[bytes] = set()
    chunks = new_chunks = new_bytes = new_stored = 0
    for c in cut(ps.cdc(), ps.min_size, new):
        chunks += 1
        h = xxhash.xxh3_128_digest(c)
        if h in old_ids or h in seen:
            continue
        seen.add(h)
        new_chunks += 1
        new_bytes += len(c)
        new_stored += stored_size(c, comp)
    new_stored += new_chunks * 2 * _ENTRY + chunks * TREE_ID_BYTES
    return Delta(chunks, new_chunks, new_bytes, new_stored)


# ---------------------------------------------------------------------------------------------
# Deterministic data generators

_COMMON_TEXT = (
    "the of and to a in is it you that he was for on are with as I his they be at one have "
    "this from or had by not word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them write "
    "would like so these her long make thing see him two has look more day could go come did "
    "number sound no most people my over know water than call first who may down side been now "
    "find any new work part take get place made live where after back little only round man "
    "year came show every good me give our under name very through just form sentence great "
    "think say help low line differ turn cause much mean before move right boy old too same "
    "tell does set three want air well also play small end put home read hand port large spell "
    "add even land here must big high such follow act why ask men change went light kind off "
    "need house picture try us again animal point mother world near build self earth father "
    "file session agent memory config gateway tool model token error request response user "
    "assistant message channel plugin skill workspace task run cron backup snapshot database "
    "node function value return string object array update index query result status check "
    "should because into using then test build deploy branch commit server client cache path"
)
_COMMON = _COMMON_TEXT.split()

_SYLLABLES_TEXT = (
    "ka lo ri ne ta mu so vi de pa ro li an er in on ex st tr pr ch sh th al el ul ar or ur "
    "ba be bi bo co cu da di do fa fe fi ga ge go ha he hi ja ke ki la le ma me mi na ni no "
    "pe pi po ra re sa se si te ti to va ve wa we ya za ze zo"
)
_SYLLABLES = _SYLLABLES_TEXT.split()


class Words:
    """Zipf-distributed words: common English/tech words first, then pseudo-words."""

    def __init__(self, rng: random.Random, vocab_size: int = 6000) -> None:
        self.rng = rng
        vocab = list(dict.fromkeys(_COMMON))
        seen = set(vocab)
        while len(vocab) < vocab_size:
            w = "".join(rng.choices(_SYLLABLES, k=rng.choice((2, 2, 3, 3, 4))))
            if w not in seen:
                seen.add(w)
                vocab.append(w)
        self.vocab = vocab
        acc = 0.0
        cum = []
        for r in range(1, len(vocab) + 1):
            acc += 1.0 / r**1.07
            cum.append(acc)
        self.cum = cum

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self.cum, k=n)

    def sentence(self, lo: int = 5, hi: int = 22) -> str:
        ws = self.words(self.rng.randint(lo, hi))
        ws[0] = ws[0].capitalize()
        return " ".join(ws) + self.rng.choice(".....?!:")

    def paragraph(self, lo: int = 2, hi: int = 7) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(lo, hi)))

    def ident(self) -> str:
        a, b = self.words(2)
        return a + b.capitalize()


def hexid(rng: random.Random, nbytes: int = 16) -> str:
    return rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


def uuid_like(rng: random.Random) -> str:
    h = hexid(rng)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def code_text(w: Words, n_bytes: int, *, minified: bool = False) -> str:
    """node_modules-like JavaScript (CommonJS module or a minified bundle)."""
    rng = w.rng
    out: list[str] = []
    size = 0
    if minified:
        short = [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"]
        while size < n_bytes:
            f, a, b, c = rng.sample(short, 4)
            s = rng.choice(
                (
                    f"function {f}({a},{b}){{return {a}&&{a}.{w.ident()}?{b}({a}):void 0}}",
                    f'var {a}={b}.{w.ident()}||{{}};{a}["{w.ident()}"]={c};',
                    f"{f}.prototype.{w.ident()}=function({a}){{this.{a}={a};return this}};",
                    f'if(!{a})throw new Error("{w.sentence(3, 8)}");',
                    f"for(var {a}=0;{a}<{b}.length;{a}++){c}.push({b}[{a}]);",
                    f"{a}.exports={{{w.ident()}:{b},{w.ident()}:{c}}};",
                )
            )
            out.append(s)
            size += len(s)
        return "".join(out)
    out.append('"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n')
    while size < n_bytes:
        name = w.ident()
        args = ", ".join(w.ident() for _ in range(rng.randint(0, 3)))
        body = []
        for _ in range(rng.randint(2, 9)):
            v = w.ident()
            body.append(
                rng.choice(
                    (
                        f"    const {v} = {w.ident()}.{w.ident()}({args});",
                        f"    if ({v} === undefined) {{\n        return null;\n    }}",
                        f"    // {w.sentence(4, 12)}",
                        f'    throw new TypeError("{w.sentence(3, 9)}");',
                        f"    for (const {v} of {w.ident()}) {{\n"
                        f"        {v}.{w.ident()}();\n    }}",
                        f"    this.{v} = {rng.randint(0, 4096)};",
                    )
                )
            )
        doc = f"/**\n * {w.sentence(5, 16)}\n * @param {{string}} {w.ident()}\n */\n"
        block = f"{doc}function {name}({args}) {{\n" + "\n".join(body) + "\n}\n"
        block += f"exports.{name} = {name};\n"
        out.append(block)
        size += len(block)
    return "".join(out)


def markdown_note(w: Words, n_bytes: int) -> str:
    rng = w.rng
    parts = [f"# {w.sentence(2, 6).rstrip('.?!:')}\n"]
    size = len(parts[0])
    while size < n_bytes:
        kind = rng.random()
        if kind < 0.15:
            s = f"\n## {w.sentence(2, 5).rstrip('.?!:')}\n\n"
        elif kind < 0.45:
            s = "".join(f"- {w.sentence(3, 12)}\n" for _ in range(rng.randint(2, 6))) + "\n"
        elif kind < 0.5:
            s = f"```\n{w.ident()}({w.ident()}, {rng.randint(1, 999)})\n```\n\n"
        else:
            s = w.paragraph() + "\n\n"
        parts.append(s)
        size += len(s)
    return "".join(parts)


class Transcript:
    """OpenClaw-like session JSONL: compact JSON events, one per line, only ever appended."""

    def __init__(self, rng: random.Random, w: Words) -> None:
        self.rng = rng
        self.w = w
        self.ts = 1_773_000_000_000
        self.parent: str | None = None

    def _event(self, message: dict[str, object]) -> str:
        rng = self.rng
        self.ts += rng.randint(200, 90_000)
        eid = hexid(rng, 4)
        t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.ts // 1000))
        ev = {
            "type": "message",
            "id": eid,
            "parentId": self.parent,
            "timestamp": f"{t}.{self.ts % 1000:03d}Z",
            "message": {**message, "timestamp": self.ts},
        }
        self.parent = eid
        return json.dumps(ev, separators=(",", ":"), ensure_ascii=False) + "\n"

    def header(self) -> str:
        return (
            json.dumps(
                {
                    "type": "session",
                    "version": 3,
                    "id": uuid_like(self.rng),
                    "timestamp": "2026-03-08T19:12:40.000Z",
                    "cwd": "/home/user/.openclaw/workspace",
                },
                separators=(",", ":"),
            )
            + "\n"
        )

    def turn(self) -> str:
        rng, w = self.rng, self.w
        lines = [
            self._event({"role": "user", "content": [{"type": "text", "text": w.paragraph(1, 3)}]})
        ]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            call_id = "toolu_" + hexid(rng, 12)
            tool = rng.choice(("exec", "read", "write", "web_fetch", "memory_search"))
            args: dict[str, object] = {"command": f"{w.ident()} --{w.ident()} {w.ident()}.json"}
            if tool == "read":
                args = {"path": f"/home/user/.openclaw/workspace/{w.ident()}/{w.ident()}.md"}
            lines.append(
                self._event(
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "thinking", "thinking": w.paragraph(1, 2)},
                            {"type": "toolCall", "id": call_id, "name": tool, "arguments": args},
                        ],
                        "api": "anthropic-messages",
                        "provider": "anthropic",
                        "model": "claude-sonnet-4-5",
                        "usage": self._usage(),
                        "stopReason": "toolUse",
                    }
                )
            )
            size = int(math.exp(rng.uniform(math.log(150), math.log(12_000))))
            output = code_text(w, size) if rng.random() < 0.5 else markdown_note(w, size)
            lines.append(
                self._event(
                    {
                        "role": "toolResult",
                        "toolCallId": call_id,
                        "toolName": tool,
                        "content": [{"type": "text", "text": output[:size]}],
                        "isError": rng.random() < 0.05,
                    }
                )
            )
        lines.append(
            self._event(
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": w.paragraph(1, 5)}],
                    "api": "anthropic-messages",
                    "provider": "anthropic",
                    "model": "claude-sonnet-4-5",
                    "usage": self._usage(),
                    "stopReason": "stop",
                }
            )
        )
        return "".join(lines)

    def _usage(self) -> dict[str, object]:
        rng = self.rng
        i, o, cr = rng.randint(3, 4000), rng.randint(20, 2500), rng.randint(0, 90_000)
        return {
            "input": i,
            "output": o,
            "cacheRead": cr,
            "cacheWrite": 0,
            "totalTokens": i + o + cr,
            "cost": {"input": i * 3e-6, "output": o * 15e-6, "total": (i * 3 + o * 15) * 1e-6},
        }


def transcript_bytes(seed: int, n_bytes: int) -> bytes:
    rng = random.Random(seed)
    t = Transcript(rng, Words(rng))
    parts = [t.header()]
    size = 0
    while size < n_bytes:
        s = t.turn()
        parts.append(s)
        size += len(s)
    return "".join(parts).encode()


def log_bytes(seed: int, n_bytes: int) -> bytes:
    """gateway.log-like lines: timestamps, levels, subsystems, ids, numbers, some prose."""
    rng = random.Random(seed)
    w = Words(rng, 2000)
    subsystems = ("gateway", "ws", "agent", "cron", "telegram", "whatsapp", "memory", "browser")
    ts = 1_773_000_000.0
    out: list[str] = []
    size = 0
    while size < n_bytes:
        batch = []
        for _ in range(256):
            ts += rng.expovariate(4.0)
            t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
            lvl = rng.choices(("info", "debug", "warn", "error"), (60, 30, 8, 2))[0]
            sub = rng.choice(subsystems)
            k = rng.random()
            if k < 0.4:
                msg = f"request id={hexid(rng, 6)} latency={rng.randint(1, 4000)}ms ok"
            elif k < 0.7:
                msg = f"{w.sentence(3, 10)} session={uuid_like(rng)}"
            elif k < 0.9:
                msg = f"{w.ident()}: {w.ident()}={rng.randint(0, 99999)} {w.ident()}=true"
            else:
                msg = f"Error: {w.sentence(4, 12)}\n    at {w.ident()} (dist/{w.ident()}.js:"
                msg += f"{rng.randint(1, 3000)}:{rng.randint(1, 80)})"
            batch.append(f"{t}.{int(ts * 1000) % 1000:03d}Z [{sub}] {lvl} {msg}\n")
        s = "".join(batch)
        out.append(s)
        size += len(s)
    return "".join(out).encode()[:n_bytes]


# ---------------------------------------------------------------------------------------------
# SQLite


def build_memory_db(path: Path, seed: int, target: int) -> None:
    rng = random.Random(seed)
    w = Words(rng)
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=DELETE")
    con.executescript(
        """
        CREATE TABLE memories(
            id INTEGER PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            agent TEXT NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            text TEXT NOT NULL,
            embedding BLOB NOT NULL
        );
        CREATE INDEX memories_agent_created ON memories(agent, created_at);
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            text, content='memories', content_rowid='id'
        );
        CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
            INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, text) VALUES('delete', old.id, old.text);
        END;
        CREATE TRIGGER memories_au AFTER UPDATE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, text) VALUES('delete', old.id, old.text);
            INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
        END;
        """
    )
    ts = [1_760_000_000]
    while path.stat().st_size < target:
        with con:
            con.executemany(
                "INSERT INTO memories(hash, agent, path, kind, created_at, updated_at, text,"
                " embedding) VALUES (?,?,?,?,?,?,?,?)",
                [_memory_row(rng, w, ts) for _ in range(500)],
            )
    # Leave the FTS5 index settled (one merged segment), as in a DB that has been idle for a
    # while; the bulk load would otherwise still be mid-merge and every later write would
    # continue that merge, rewriting far more pages than the change itself.
    with con:
        con.execute("INSERT INTO memories_fts(memories_fts) VALUES('optimize')")
    con.execute("VACUUM")
    con.close()


_EMB_DIM = 192


def _memory_row(rng: random.Random, w: Words, ts: list[int]) -> tuple[object, ...]:
    ts[0] += rng.randint(5, 900)
    text = markdown_note(w, rng.randint(150, 2400))
    emb = struct.pack(f"<{_EMB_DIM}f", *(rng.gauss(0.0, 0.07) for _ in range(_EMB_DIM)))
    return (
        hexid(rng),
        rng.choice(("main", "main", "main", "work", "family")),
        f"memory/2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}.md",
        rng.choice(("note", "fact", "preference", "episode")),
        ts[0],
        ts[0],
        text,
        emb,
    )


def modify_memory_db(path: Path, seed: int) -> None:
    """A day's worth of memory activity: 50 inserts, 20 scattered updates, 5 deletes."""
    rng = random.Random(seed)
    w = Words(rng)
    con = sqlite3.connect(path)
    (max_id,) = con.execute("SELECT max(id) FROM memories").fetchone()
    (max_ts,) = con.execute("SELECT max(created_at) FROM memories").fetchone()
    ts = [max_ts]
    for i in range(10):
        with con:
            con.executemany(
                "INSERT INTO memories(hash, agent, path, kind, created_at, updated_at, text,"
                " embedding) VALUES (?,?,?,?,?,?,?,?)",
                [_memory_row(rng, w, ts) for _ in range(5)],
            )
            for _ in range(2):
                con.execute(
                    "UPDATE memories SET text = ?, updated_at = ? WHERE id = ?",
                    (markdown_note(w, rng.randint(150, 2400)), ts[0], rng.randint(1, max_id)),
                )
            if i % 2 == 0:
                con.execute("DELETE FROM memories WHERE id = ?", (rng.randint(1, max_id),))
    con.close()


def changed_pages(old: bytes, new: bytes, page: int = 4096) -> int:
    n = 0
    for off in range(0, len(new), page):
        if new[off : off + page] != old[off : off + page]:
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Output


def fmt_bytes(n: float) -> str:
    if n >= 10 * MiB:
        return f"{n / MiB:.1f} MiB"
    if n >= 10 * KiB:
        return f"{n / KiB:.0f} KiB"
    if n >= KiB:
        return f"{n / KiB:.1f} KiB"
    return f"{n:.0f} B"


def timed(fn: Callable[[], object], min_time: float = 0.25, max_runs: int = 20) -> float:
    """Best wall time of ``fn`` over repeated runs (at least one, until ``min_time`` spent)."""
    best = math.inf
    spent = 0.0
    runs = 0
    while runs < 1 or (spent < min_time and runs < max_runs):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        runs += 1
    return best


# ---------------------------------------------------------------------------------------------
# Benchmarks


def bench_sqlite(tmp: Path, quick: bool) -> bytes:
    v1p, v2p = tmp / "memory-v1.sqlite", tmp / "memory-v2.sqlite"
    build_memory_db(v1p, SEED, (8 if quick else 32) * MiB)
    v1 = v1p.read_bytes()
    v2p.write_bytes(v1)
    modify_memory_db(v2p, SEED + 1)
    v2 = v2p.read_bytes()
    pages = changed_pages(v1, v2)
    print(
        f"\nSQLite memory DB: v1 {fmt_bytes(len(v1))}, v2 {fmt_bytes(len(v2))}; "
        f"{pages} of {len(v2) // 4096} 4 KiB pages differ "
        f"(page-level floor {fmt_bytes(pages * 4096)})"
    )
    comp = zstandard.ZstdCompressor(level=3)
    rows = []
    for ps in PARAM_SETS:
        d = delta(ps, v1, v2)
        full_stored = sum(stored_size(c, comp) for c in cut(ps.cdc(), ps.min_size, v2))
        rows.append(
            (
                ps.label,
                d.chunks,
                fmt_bytes(len(v2) / d.chunks),
                fmt_bytes(full_stored),
                d.new_chunks,
                fmt_bytes(d.new_bytes),
                f"{d.new_bytes / (pages * 4096):.1f}x",
                fmt_bytes(d.new_stored),
            )
        )
    table(
        "1. SQLite DB, 50 inserts + 20 updates + 5 deletes",
        (
            "params min/avg/max",
            "chunks",
            "mean chunk",
            "v2 stored (zstd-3)",
            "new chunks",
            "new raw",
            "vs page floor",
            "new stored + meta",
        ),
        rows,
    )
    return v2


def bench_jsonl(quick: bool) -> None:
    sizes = (100 * KiB, 500 * KiB, 2 * MiB, 8 * MiB)
    trials = {100 * KiB: 32, 500 * KiB: 32, 2 * MiB: 24, 8 * MiB: 8}
    if quick:
        sizes = sizes[:3]
        trials = dict.fromkeys(sizes, 4)
    # One long session; each trial takes a different stretch of it as "the file" (a stretch
    # that starts at a line boundary cuts exactly like a file with that content would), so the
    # mean is not dominated by the chunk boundaries of one particular tail.
    data = transcript_bytes(SEED + 2, (6 if quick else 24) * MiB)
    rng = random.Random(SEED + 3)
    cases: list[tuple[int, int, int, int]] = []  # (size class, start, cut1, cut2)
    for s in sizes:
        for _ in range(trials[s]):
            start = rng.randrange(0, len(data) - int(s * 1.2) - 64 * KiB)
            start = data.index(b"\n", start) + 1
            c1 = data.index(b"\n", start + int(s * rng.uniform(0.85, 1.15))) + 1
            c2 = data.index(b"\n", c1 + 20 * KiB - 600) + 1
            cases.append((s, start, c1, c2))
    rows = []
    for ps in PARAM_SETS:
        row: list[object] = [ps.label]
        for s in sizes:
            mine = [(a, c1, c2) for sc, a, c1, c2 in cases if sc == s]
            raw = stored = appended = 0.0
            for a, c1, c2 in mine:
                d = delta(ps, data[a:c1], data[a:c2])
                raw += d.new_bytes
                stored += d.new_stored
                appended += c2 - c1
            n = len(mine)
            row.append(f"{fmt_bytes(raw / n)} / {fmt_bytes(stored / n)}")
        row.append(f"{fmt_bytes(appended / n)}")
        rows.append(row)
    table(
        "2. Append-only JSONL transcript + ~20 KiB: new raw / new stored+meta (mean of trials)",
        ("params", *(f"{fmt_bytes(s)} file" for s in sizes), "appended"),
        rows,
    )


def bench_big(quick: bool) -> bytes:
    size = (16 if quick else 50) * MiB
    log = log_bytes(SEED + 4, size)
    binary = random.Random(SEED + 5).randbytes(size)
    insert = random.Random(SEED + 6).randbytes(KiB)
    points = (0.31, 0.47, 0.53, 0.69)
    rows = []
    for ps in PARAM_SETS:
        row: list[object] = [ps.label]
        for data in (log, binary):
            old_ids = {h for h, _ in chunk_ids(ps, data)}
            tot_raw = tot_chunks = 0
            for p in points:
                off = int(len(data) * p)
                if data is log:
                    off = data.index(b"\n", off) + 1
                d = delta(ps, data, data[:off] + insert + data[off:], old_ids=old_ids)
                tot_raw += d.new_bytes
                tot_chunks += d.new_chunks
            row.append(f"{fmt_bytes(tot_raw / len(points))} ({tot_chunks / len(points):.1f})")
        rows.append(row)
    table(
        f"3. {fmt_bytes(size)} file, 1 KiB inserted mid-file: new raw bytes (new chunks), "
        "mean of 4 offsets",
        ("params", "log text", "random binary"),
        rows,
    )
    return binary


def bench_small_files(tmp: Path, quick: bool) -> None:
    n_files = 1000 if quick else 5000
    rng = random.Random(SEED + 7)
    w = Words(rng)
    root = tmp / "tree"
    sizes = []
    for i in range(n_files):
        size = int(math.exp(rng.uniform(math.log(512), math.log(20 * KiB))))
        if rng.random() < 0.5:
            text = markdown_note(w, size)
        else:
            text = json.dumps({w.ident(): w.sentence() for _ in range(size // 40 + 1)}, indent=2)
        data = text.encode()[:size]
        d = root / f"d{i % 50:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.json").write_bytes(data)
        sizes.append(size)
    files = sorted(root.rglob("*.json"))
    total = sum(sizes)
    print(
        f"\nSmall-file tree: {len(files)} files, {fmt_bytes(total)}, "
        f"sizes {min(sizes)}..{max(sizes)} B, median {sorted(sizes)[len(sizes) // 2]} B"
    )
    rows = []
    for ps in PARAM_SETS:
        cdc = ps.cdc()
        chunks = split = tiny = 0
        raw_chunks = 0
        for f in files:
            data = f.read_bytes()
            lens = [len(c) for c in cut(cdc, ps.min_size, data)]
            # Also what pyfastcdc itself does without snapkit's small-file shortcut.
            raw_chunks += sum(1 for _ in cdc.cut_buf(data))
            chunks += len(lens)
            split += len(lens) > 1
            tiny += sum(1 for n in lens if n < 4 * KiB) if len(lens) > 1 else 0
        rows.append((ps.label, chunks, raw_chunks, split, tiny))
    table(
        "4. Small-file tree: chunks (one per file is ideal)",
        ("params", "chunks", "chunks w/o shortcut", "files split", "split pieces < 4 KiB"),
        rows,
    )


def bench_throughput(data: bytes) -> None:
    rows = []
    mb = len(data) / 1e6
    for ps in PARAM_SETS:
        cdc = ps.cdc()

        def cut_only(cdc: FastCDC = cdc) -> None:
            for _ in cdc.cut_buf(data):
                pass

        def cut_hash(cdc: FastCDC = cdc) -> None:
            for c in cdc.cut_buf(data):
                xxhash.xxh3_128_digest(c.data)

        n = sum(1 for _ in cdc.cut_buf(data))
        rows.append(
            (
                ps.label,
                fmt_bytes(len(data) / n),
                f"{mb / timed(cut_only, 0.5):.0f}",
                f"{mb / timed(cut_hash, 0.5):.0f}",
            )
        )
    t_hash = timed(lambda: xxhash.xxh3_128_digest(data), 0.3)
    table(
        f"5. Chunking throughput, single thread, {fmt_bytes(len(data))} random buffer "
        f"(xxh3-128 alone: {mb / t_hash:.0f} MB/s)",
        ("params", "mean chunk", "cut MB/s", "cut + xxh3-128 MB/s"),
        rows,
    )


def bench_zstd(sqlite_db: bytes, quick: bool) -> None:
    rng = random.Random(SEED + 8)
    w = Words(rng)
    budget = (1 if quick else 3) * MiB
    ps = ZSTD_BLOB_PARAMS
    cdc = ps.cdc()

    def blobs_of(files: Iterable[bytes]) -> list[bytes]:
        return [bytes(c) for f in files for c in cut(cdc, ps.min_size, f)]

    # SQLite: evenly spaced chunks of the whole DB up to the budget.
    db_chunks = blobs_of([sqlite_db])
    step = max(1, sum(map(len, db_chunks)) // budget)
    notes = [
        markdown_note(w, int(math.exp(rng.uniform(math.log(400), math.log(12 * KiB))))).encode()
        for _ in range(budget // (4 * KiB))
    ]
    js_files = []
    size = 0
    while size < budget:
        n = int(math.exp(rng.uniform(math.log(KiB), math.log(80 * KiB))))
        js_files.append(code_text(w, n, minified=rng.random() < 0.25).encode())
        size += n
    corpora = {
        "JSONL transcript": blobs_of([transcript_bytes(SEED + 9, budget)]),
        "SQLite pages": db_chunks[::step],
        "markdown notes (files)": blobs_of(notes),
        "node_modules-like JS": blobs_of(js_files),
        "random bytes": blobs_of([random.Random(SEED + 10).randbytes(budget)]),
    }
    levels = (1, 3, 6, 9, 19)
    dctx = zstandard.ZstdDecompressor()
    rows = []
    for name, blobs in corpora.items():
        raw = sum(map(len, blobs))
        mb = raw / 1e6
        for lvl in levels:
            cctx = zstandard.ZstdCompressor(level=lvl)
            packed = [cctx.compress(b) for b in blobs]
            stored = sum(
                1 + (len(p) if len(p) < len(b) - (len(b) >> 5) else len(b))
                for p, b in zip(packed, blobs, strict=True)
            )
            kept = sum(
                1 for p, b in zip(packed, blobs, strict=True) if len(p) < len(b) - (len(b) >> 5)
            )

            def comp(cctx: zstandard.ZstdCompressor = cctx, blobs: list[bytes] = blobs) -> None:
                for b in blobs:
                    cctx.compress(b)

            def decomp(packed: list[bytes] = packed) -> None:
                for p in packed:
                    dctx.decompress(p)

            t_c = timed(comp, 0.0 if lvl >= 19 else 0.3, 1 if lvl >= 19 else 20)
            t_d = timed(decomp, 0.3)
            rows.append(
                (
                    f"{name} ({len(blobs)} blobs, {fmt_bytes(raw)})" if lvl == levels[0] else "",
                    lvl,
                    f"{raw / stored:.2f}",
                    f"{mb / t_c:.0f}",
                    f"{mb / t_d:.0f}",
                    f"{kept}/{len(blobs)}",
                )
            )
    table(
        f"6. zstd per blob (blobs cut with {ps.label}; stored = codec byte + zstd frame, or raw "
        "when zstd saves < 1/32)",
        ("corpus", "level", "ratio", "compress MB/s", "decompress MB/s", "blobs zstd"),
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_params", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller inputs (smoke test)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print("# snapkit chunking / compression benchmark\n")
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"pyfastcdc {pyfastcdc.__version__}, zstd {zstandard.ZSTD_VERSION}, "
        f"xxhash {xxhash.VERSION}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(
        f"metadata per new chunk: 2 x {_ENTRY} B (index + pack trailer); "
        f"per chunk of a changed file: {TREE_ID_BYTES} B in its tree node"
    )
    with tempfile.TemporaryDirectory(prefix="snapkit-bench-") as td:
        tmp = Path(td)
        db = bench_sqlite(tmp, args.quick)
        bench_jsonl(args.quick)
        binary = bench_big(args.quick)
        bench_small_files(tmp, args.quick)
        bench_throughput(binary)
        bench_zstd(db, args.quick)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
