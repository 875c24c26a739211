"""The results of ``benchmarks.compare`` and the Markdown report it writes
(``benchmarks/results.md``, overwritten by every run, partial results included).

A :class:`Result` is one scenario on one data set: a :class:`Row` per tool (its samples, the
bytes it stored) and the floor (what the scenario cannot go below: reading every file once, a
bare ``lstat`` walk, ``tar --zstd -x``, a bare interpreter; for snapkit on S3, snapkit on a
local directory). Every row shows its min and median
wall time, its peak RSS, the bytes stored, and its min over the best peer's min and over the
floor's min. :func:`targets` checks the targets of issue 14 against the results.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.compare_peers import Sample

#: The tool measured against the others.
SELF = "snapkit"
#: Records one target: (what, measured, met).
Check = Callable[[str, str, bool], None]


@dataclass(frozen=True)
class Row:
    """One tool (or the floor) in one scenario."""

    tool: str
    samples: tuple[Sample, ...] = ()
    stored: int | None = None
    note: str = ""
    floor: bool = False
    missing: str = ""  # why there are no samples ("not installed", ...)

    @property
    def ok(self) -> bool:
        return bool(self.samples) and all(s.ok for s in self.samples) and not self.missing

    @property
    def min(self) -> float:
        return min(s.wall for s in self.samples)

    @property
    def median(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def rss(self) -> int:
        return max(s.rss for s in self.samples)


@dataclass(frozen=True)
class Result:
    """One scenario on one data set."""

    key: str  # e.g. "stdlib/first"
    title: str
    rows: tuple[Row, ...]
    note: str = ""

    def row(self, tool: str) -> Row | None:
        for r in self.rows:
            if r.tool == tool and r.ok:
                return r
        return None

    def best_peer(self) -> Row | None:
        peers = [r for r in self.rows if r.ok and not r.floor and r.tool != SELF]
        return min(peers, key=lambda r: r.min) if peers else None

    def floor(self) -> Row | None:
        return next((r for r in self.rows if r.floor and r.ok), None)


@dataclass(frozen=True)
class Report:
    command: str
    machine: str
    versions: tuple[str, ...]
    datasets: tuple[str, ...]
    notes: tuple[str, ...] = ()
    results: tuple[Result, ...] = field(default=())


def secs(t: float) -> str:
    if t < 0.1:
        return f"{t * 1000:.1f} ms"
    return f"{t:.2f} s" if t < 10 else f"{t:.1f} s"


def size(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n / 1e6:,.1f} MB" if n < 10e9 else f"{n / 1e9:,.2f} GB"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 else ""


def _row_cells(res: Result, r: Row) -> list[str]:
    if not r.ok:
        why = r.missing or (next((s.error for s in r.samples if not s.ok), "") or "no run")
        return [r.tool, why.replace("|", "/")[:160], "", "", "", "", "", "", ""]
    best, fl = res.best_peer(), res.floor()
    vs_best = ratio(r.min, best.min) + f" {best.tool}" if best and best is not r else ""
    vs_floor = ratio(r.min, fl.min) if fl and not r.floor else ""
    stored_vs = ""
    if best and best is not r and r.stored and best.stored:
        stored_vs = ratio(r.stored, best.stored)
    return [f"**{r.tool}**" if r.tool == SELF else r.tool, secs(r.min), secs(r.median),
            str(len(r.samples)), f"{r.rss / 2**20:,.0f} MiB", size(r.stored), stored_vs,
            vs_best, vs_floor]


def table(res: Result) -> str:
    head = ["tool", "min", "median", "runs", "peak RSS", "stored", "stored ÷ best peer's",
            "min ÷ best peer's", "min ÷ floor's"]
    lines = [f"### {res.title}\n"]
    if res.note:
        lines.append(res.note + "\n")
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|---" + "|---:" * (len(head) - 1) + "|")
    for r in res.rows:
        cells = _row_cells(res, r)
        if r.floor:
            cells[0] = f"floor: {r.tool}"
        if r.note:
            cells[0] += f" ({r.note})"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render(report: Report) -> str:
    out = ["# snapkit side by side: restic, borg, openclaw and the floor\n",
           "Written by `python -m benchmarks.compare` (see `benchmarks/README.md`); "
           "overwritten by every run.\n",
           f"Command: `{report.command}`\n",
           f"Machine: {report.machine}\n",
           "Versions: " + "; ".join(report.versions) + "\n",
           "Data sets:\n", *[f"- {d}" for d in report.datasets], ""]
    out += [f"{n}\n" for n in report.notes]
    out.append("Times are wall seconds of the whole command (start-up included), min and "
               "median of interleaved runs (run k: snapkit, restic, borg, openclaw, floor); "
               "peak RSS is the largest `ru_maxrss` of the runs; stored is `du -sb` of the "
               "repository (the archive for tar and openclaw). The ratios divide mins.\n")
    if report.results:
        out.append("## Summary: snapkit's min time over each tool's (below 1: snapkit is "
                   "faster)\n")
        out += [*summary(report.results), ""]
    rows = targets(report.results)
    if rows:
        out.append("## Targets of issue 14\n")
        out.append("| target | measured | met |")
        out.append("|---|---|---|")
        out += [f"| {t} | {m} | {ok} |" for t, m, ok in rows]
        out.append("")
    out.append("## Scenarios\n")
    out += [table(r) for r in report.results]
    return "\n".join(out)


def write(report: Report, path: Path) -> None:
    path.write_text(render(report), encoding="utf-8")


def dump(report: Report, path: Path) -> None:
    """Save ``report`` as JSON (for ``--merge``)."""
    path.write_text(json.dumps(dataclasses.asdict(report), indent=1), encoding="utf-8")


def load(path: Path) -> Report:
    """A report saved by :func:`dump`."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    results = tuple(
        Result(r["key"], r["title"], tuple(
            Row(row["tool"], tuple(Sample(**s) for s in row["samples"]), row["stored"],
                row["note"], row["floor"], row["missing"]) for row in r["rows"]), r["note"])
        for r in raw["results"])
    return Report(raw["command"], raw["machine"], tuple(raw["versions"]),
                  tuple(raw["datasets"]), tuple(raw["notes"]), results)


def merge(old: Report, new: Report) -> Report:
    """``new`` with the results of ``old`` it did not measure again (listed first)."""
    keys = {r.key for r in new.results}
    kept = tuple(r for r in old.results if r.key not in keys)
    if not kept:
        return new
    datasets = tuple(d for d in old.datasets if d not in new.datasets) + new.datasets
    return dataclasses.replace(
        new, command=f"{old.command}`, then `{new.command}", datasets=datasets,
        notes=tuple(n if n.startswith("(") else f"(earlier command) {n}" for n in old.notes)
        + new.notes,
        results=kept + new.results)


def _fast(me: Row, other: Row) -> float:
    """How many times faster ``me`` is than ``other`` (min over min)."""
    return other.min / me.min


def targets(results: Sequence[Result]) -> list[tuple[str, str, str]]:
    """(target, what was measured, met?) for every target of issue 14 the results cover."""
    out: list[tuple[str, str, str]] = []

    def check(title: str, measured: str, ok: bool) -> None:
        out.append((title, measured, "yes" if ok else "**no**"))

    for key, res in ((r.key, r) for r in results):
        me, best, fl = res.row(SELF), res.best_peer(), res.floor()
        if me is None:
            continue
        kind = key.split("/")[-1]
        if key.startswith("s3-"):
            _s3(res, me, fl, check)
            continue
        if kind == "startup" and fl:
            check("start-up `snapkit --help` ≤ 3× a bare interpreter",
                  f"{secs(me.min)} = {me.min / fl.min:.2f}× `python -c pass`",
                  me.min <= 3 * fl.min)
        elif kind == "unchanged" and fl:
            check(f"{res.title}: ≤ 2× the lstat walk + interpreter start",
                  f"{secs(me.min)} = {me.min / fl.min:.2f}× ({secs(fl.min)}); "
                  f"RSS {me.rss / 2**20:,.0f} MiB", me.min <= 2 * fl.min)
            if key.startswith("files-"):
                n = int(key.split("/")[0].split("-")[1])
                limit = 6 * n / 1e6
                scaled = "" if n == 1_000_000 else f" (6 s scaled to {n:,} files)"
                check(f"{res.title}: ≤ {limit:.3g} s{scaled}, RSS ≤ 300 MiB",
                      f"{secs(me.min)}, {me.rss / 2**20:,.0f} MiB",
                      me.min <= limit and me.rss <= 300 * 2**20)
        elif kind == "first" and key.startswith(("stdlib", "files-")):
            _first(res, me, check)
        elif kind == "restore":
            _restore(res, me, best, fl, check)
        elif kind in ("export-tar.gz", "export-tar.zst") and best:
            want_t, want_s = (5.0, 1.1) if kind.endswith("gz") else (1 / 1.2, None)
            ok = _fast(me, best) >= want_t and (
                want_s is None or (me.stored or 0) <= want_s * (best.stored or 0))
            what = "≥ 5× faster than `tar czf` at ≤ 1.1× its size" if want_s else \
                "within 1.2× of `tar --zstd`"
            check(f"{res.title}: {what}",
                  f"{me.min / best.min:.2f}× the time of `{best.tool}`, "
                  f"{ratio(me.stored or 0, best.stored or 1)} its size", ok)
        if key.startswith("fixture"):
            _openclaw(res, me, check)
    for hist in (r for r in results if r.key.startswith("fixture") and r.key.endswith("/history")):
        mine, theirs = hist.row(SELF), hist.row("openclaw")
        if mine and theirs and mine.stored and theirs.stored:
            check(f"{hist.title}: the history ≤ 1/10 of one `openclaw backup create` archive "
                  "a day",
                  f"{size(mine.stored)} vs {size(theirs.stored)} = "
                  f"1/{theirs.stored / mine.stored:.1f}", mine.stored * 10 <= theirs.stored)
    return out


def _first(res: Result, me: Row, check: Check) -> None:
    peers = [r for r in (res.row("restic"), res.row("borg")) if r]
    if not peers:
        return
    best = min(peers, key=lambda r: r.min)
    restic = res.row("restic")
    stored = ""
    ok_size = True
    if restic and restic.stored and me.stored:
        stored = f"; stored {ratio(me.stored, restic.stored)} restic's"
        ok_size = me.stored <= restic.stored
    check(f"{res.title}: ≥ 1.5× faster than the faster of restic and borg, stored ≤ restic's",
          f"{_fast(me, best):.2f}× {best.tool}{stored}", _fast(me, best) >= 1.5 and ok_size)


def _restore(res: Result, me: Row, best: Row | None, fl: Row | None, check: Check) -> None:
    if best:
        check(f"{res.title}: ≥ 2× faster than the faster peer",
              f"{_fast(me, best):.2f}× {best.tool}", _fast(me, best) >= 2)
    if fl:
        check(f"{res.title}: within 1.5× of `tar --zstd -x`",
              f"{me.min / fl.min:.2f}×", me.min <= 1.5 * fl.min)


def _s3(res: Result, me: Row, local: Row | None, check: Check) -> None:
    """S3 on loopback: within 2× the same command on a local directory (the scenario's
    floor)."""
    if local:
        check(f"{res.title}: ≤ 2× the same on a local directory",
              f"{me.min / local.min:.2f}× ({secs(me.min)} vs {secs(local.min)})",
              me.min <= 2 * local.min)


def _openclaw(res: Result, me: Row, check: Check) -> None:
    oc = res.row("openclaw")
    kind = res.key.split("/")[-1]
    if oc is None or kind not in ("first", "unchanged", "history"):
        return
    want = 5 if kind == "first" else 20
    check(f"{res.title}: ≥ {want}× faster than `openclaw backup create`",
          f"{_fast(me, oc):.1f}×", _fast(me, oc) >= want)


def summary(results: Sequence[Result]) -> list[str]:
    """One line per scenario: snapkit's min and its ratios to each peer, the floor, and the
    stored bytes to restic's and borg's (below 1: snapkit is faster / smaller)."""
    peers = ("restic", "borg", "openclaw")
    head = ["scenario", "snapkit", *(f"÷ {p}" for p in peers), "÷ tar", "÷ floor",
            "stored ÷ restic", "stored ÷ borg"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for res in results:
        me = res.row(SELF)
        if me is None:
            continue
        cells = [res.title, secs(me.min)]
        for p in peers:
            other = res.row(p)
            cells.append(ratio(me.min, other.min) if other else "")
        tar = next((r for r in res.rows if r.tool.startswith("tar ") and r.ok), None)
        cells.append(ratio(me.min, tar.min) if tar and not tar.floor else "")
        fl = res.floor()
        cells.append(ratio(me.min, fl.min) if fl else "")
        for p in ("restic", "borg"):
            other = res.row(p)
            ok = other is not None and other.stored and me.stored
            cells.append(ratio(me.stored or 0, other.stored or 1) if ok and other else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines
