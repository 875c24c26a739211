"""Pure functions that pick snapshots: by id prefix, ``latest`` or tag; filters; the parent.

They take the list of ``(id, Snapshot)`` pairs (oldest first) and never touch storage.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from snapkit.errors import UsageError
from snapkit.model import Snapshot

Pair = tuple[str, Snapshot]
MIN_PREFIX = 4


def resolve(selector: str, snapshots: Sequence[Pair]) -> Pair:
    """Select one snapshot by full id, unique prefix (4+ hex), ``latest`` or a tag."""
    sel = selector.strip()
    if not snapshots:
        raise UsageError("the repository has no snapshots yet; create one with `snapkit snap`")
    if sel == "latest":
        return snapshots[-1]
    if sel.startswith("latest:") or sel.startswith("tag:"):
        tag = sel.split(":", 1)[1]
        tagged = [p for p in snapshots if tag in p[1].tags]
        if not tagged:
            raise UsageError(f"no snapshot has the tag {tag!r}; see `snapkit snapshots`")
        return tagged[-1]
    low = sel.lower()
    if len(low) >= MIN_PREFIX and all(c in string.hexdigits for c in low):
        matches = [p for p in snapshots if p[0].startswith(low)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(p[0][:12] for p in matches[:10])
            raise UsageError(f"snapshot id prefix {sel!r} is ambiguous: it matches {ids}; "
                             "give more characters")
    tagged = [p for p in snapshots if sel in p[1].tags]
    if tagged:
        return tagged[-1]
    if len(low) < MIN_PREFIX and all(c in string.hexdigits for c in low):
        raise UsageError(f"snapshot id prefix {sel!r} is too short: give at least "
                         f"{MIN_PREFIX} characters")
    raise UsageError(f"no snapshot matches {sel!r}; list them with `snapkit snapshots`")


def filter_snapshots(
    snapshots: Sequence[Pair],
    host: str | None = None,
    tags: Sequence[str] = (),
    path: str | None = None,
) -> list[Pair]:
    """Snapshots of ``host`` carrying all ``tags`` with a source at or above ``path``."""
    out = []
    for sid, snap in snapshots:
        if host and snap.hostname != host:
            continue
        if tags and not all(t in snap.tags for t in tags):
            continue
        if path and not any(_covers(src, path) for src in snap.sources):
            continue
        out.append((sid, snap))
    return out


def _covers(source: str, path: str) -> bool:
    src = source.rstrip("/") or "/"
    p = path.rstrip("/") or "/"
    return p == src or p.startswith(src if src.endswith("/") else src + "/")


def find_parent(
    snapshots: Sequence[Pair], sources: Sequence[str], host: str, mode: str | None = None
) -> Pair | None:
    """The newest snapshot of the same sources (as a set) and host, preferring ``mode``."""
    wanted = sorted(sources)
    same = [p for p in snapshots if p[1].hostname == host and sorted(p[1].sources) == wanted]
    for sid, snap in reversed(same):
        if mode is None or snap.mode == mode:
            return sid, snap
    return same[-1] if same else None
