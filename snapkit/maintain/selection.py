"""Pure functions that pick snapshots: by id prefix, ``latest`` or tag, each optionally with
``~N``; filters; the parent.

They take the list of ``(id, Snapshot)`` pairs (oldest first) and never touch storage.

``SELECTOR~N`` is the Nth snapshot before the one SELECTOR names *in its group*: same host, set
of sources and mode, the groups ``forget`` applies its policy to by default. So ``latest~1`` of
a full snapshot is the full snapshot before it, never a ``config-only`` one taken in between.
``~`` alone means ``~1`` and steps add up (``latest~1~2`` is ``latest~3``), as in git. A tag
that itself holds a ``~`` is still selected by its name.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING

from snapkit.format.errors import IntegrityError, UsageError
from snapkit.format.model import Snapshot
from snapkit.store.repository import SnapshotList

if TYPE_CHECKING:
    from snapkit.maintain.retention import Group

Pair = tuple[str, Snapshot]
MIN_PREFIX = 4
_STEPS = re.compile(r"(?:~[0-9]*)+")  # "~", "~2", "~1~3"


def resolve(selector: str, snapshots: Sequence[Pair]) -> Pair:
    """Select one snapshot by full id, unique prefix (4+ hex), ``latest`` or a tag, with an
    optional ``~N`` (the Nth snapshot before it in its group).

    When nothing matches and ``snapshots`` is a repository's listing
    (:class:`~snapkit.store.repository.SnapshotList`) whose skipped damaged manifests the
    selector names, the error says that snapshot is damaged (exit 1) instead of unknown."""
    try:
        return _resolve(selector, snapshots)
    except UsageError:
        damaged = snapshots.damaged if isinstance(snapshots, SnapshotList) else {}
        base = selector.strip().split("~")[0].lower()
        hits = [sid for sid in damaged if len(base) >= MIN_PREFIX and sid.startswith(base)]
        if len(hits) == 1:
            raise IntegrityError(f"{damaged[hits[0]]}: it cannot be read; `snapkit repair "
                                 "snapshots --forget` removes it") from None
        raise


def _resolve(selector: str, snapshots: Sequence[Pair]) -> Pair:
    sel = selector.strip()
    if not snapshots:
        raise UsageError("the repository has no snapshots yet; create one with `snapkit snap`")
    # Where the steps may start; the longest base that names a snapshot wins (a tag may hold
    # a "~"), and a selector that is a tag as a whole is that tag.
    splits = [m.start() for m in re.finditer("~", sel) if m.start() > 0
              and _STEPS.fullmatch(sel, m.start())]
    if not splits or any(sel in p[1].tags for p in snapshots):
        return _resolve_one(sel, snapshots)
    error: UsageError | None = None
    for at in splits[::-1]:
        try:
            base = _resolve_one(sel[:at], snapshots)
        except UsageError as exc:
            error = exc
            continue
        back = sum(int(n) if n else 1 for n in sel[at:].split("~")[1:])
        return nth_before(base, back, snapshots, sel)
    assert error is not None
    raise error


def nth_before(base: Pair, n: int, snapshots: Sequence[Pair], shown: str = "") -> Pair:
    """The ``n``-th snapshot before ``base`` among those of its group (``n`` = 0: ``base``)."""
    from snapkit.maintain.retention import DEFAULT_GROUP_BY, group_of  # (with ~N only)

    group = group_of(base[1], DEFAULT_GROUP_BY)
    same = [p for p in snapshots if group_of(p[1], DEFAULT_GROUP_BY) == group]
    index = next(i for i, p in enumerate(same) if p[0] == base[0])
    if n > index:
        earlier = (f"has only {index} earlier snapshot{'s' if index != 1 else ''}" if index
                   else "has no earlier snapshot")
        raise UsageError(f"{shown or base[0][:8] + f'~{n}'}: snapshot {base[0][:8]} {earlier} "
                         f"in its group ({group.describe()}); list them with `snapkit "
                         "snapshots`")
    return same[index - n]


def _resolve_one(sel: str, snapshots: Sequence[Pair]) -> Pair:
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
            tagged = [p for p in snapshots if sel in p[1].tags]
            if tagged and tagged[-1][0] != matches[0][0]:
                raise UsageError(f"{sel!r} is both a tag and the start of snapshot id "
                                 f"{matches[0][0][:12]}: write tag:{sel} for the tag, or more "
                                 "of the id")
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


#: What a tag or host name must not hold: control characters (a newline breaks the
#: ``snapshots`` table and one-line output) and line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_label(kind: str, value: str) -> str:
    """``value`` as a tag (``kind`` "tag") or host name (``kind`` "host"), or UsageError
    saying what is wrong with it. Both: not empty, no control characters, no spaces at the
    ends (a selector is read without them). A tag must also stay selectable by its name: no
    comma (``--tag a,b`` is two tags in restic's syntax), not ``latest``, not starting with
    ``tag:`` or ``latest:`` (those select by the tag after the colon). A tag that reads as
    an id prefix (``2026``, ``deadbeef``) is accepted: :func:`resolve` refuses it as
    ambiguous when it is also the start of a snapshot's id (``tag:2026`` selects the tag)."""
    what = "a tag" if kind == "tag" else "a host name"
    problem = ""
    if not value:
        problem = f"{what} cannot be empty"
    elif _CONTROL.search(value):
        problem = f"{what} cannot hold control characters (a newline, a tab)"
    elif value != value.strip():
        problem = f"{what} cannot start or end with a space"
    elif kind == "tag" and "," in value:
        problem = "a tag cannot hold a comma; give each tag its own option"
    elif kind == "tag" and (value == "latest" or value.startswith(("latest:", "tag:"))):
        problem = ("a tag cannot be `latest` or start with `latest:` or `tag:`: those are "
                   "selectors (`latest` names the newest snapshot)")
    if problem:
        raise UsageError(f"invalid {kind} {value!r}: {problem}")
    return value


def filter_snapshots(
    snapshots: Sequence[Pair],
    host: str | None = None,
    tags: Sequence[str] = (),
    path: str | None = None,
) -> list[Pair]:
    """Snapshots of ``host`` carrying all ``tags`` with a source at or above ``path``; a
    relative ``path`` (or ``~/...``) is taken from the current directory, as ``snap`` records
    its sources."""
    path = absolute(path) if path else path
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


def absolute(path: str) -> str:
    """``path`` as ``snap`` records a source: ``~`` expanded, made absolute from the current
    directory and normalized (symlinks not resolved)."""
    return os.path.abspath(os.path.expanduser(path))


def describe_filters(host: str | None = None, tags: Sequence[str] = (),
                     path: str | None = None) -> str:
    """The filters given, as options (``--host H --tag T --path /abs``), for a message saying
    that no snapshot matches them; ``""`` when none is given."""
    parts = [f"--host {host}" if host else "", *(f"--tag {t}" for t in tags),
             f"--path {absolute(path)}" if path else ""]
    return " ".join(p for p in parts if p)


def grouped(snapshots: Sequence[Pair], group_by: Sequence[str],
            latest: int | None = None) -> list[tuple[Group, list[Pair]]]:
    """``snapshots`` (oldest first) by group of the ``group_by`` fields, groups in order of
    their first snapshot; with ``latest``, only the newest ``latest`` of each group."""
    from snapkit.maintain.retention import group_of  # (the keep policies: forget's own)

    groups: dict[Group, list[Pair]] = {}
    for pair in snapshots:
        groups.setdefault(group_of(pair[1], group_by), []).append(pair)
    return [(g, members[-latest:] if latest else members) for g, members in groups.items()]


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
