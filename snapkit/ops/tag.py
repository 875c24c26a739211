"""``tag``: change the tags of snapshots. A manifest is content-addressed, so a snapshot whose
tags change is written again under its new id and the old manifest removed (as restic does);
the data is untouched. Holds the exclusive lock: a ``forget`` must not decide on the old
manifest meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from snapkit.format.errors import UsageError
from snapkit.maintain.selection import check_label, resolve
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.repo import Location, open_repository


@dataclass(frozen=True)
class Retagged:
    """One snapshot: its old id, its new id (the same when its tags did not change), tags."""

    old: str
    new: str
    tags: tuple[str, ...]


def new_tags(current: Sequence[str], add: Sequence[str], remove: Sequence[str],
             set_to: Sequence[str] | None) -> tuple[str, ...]:
    """The tags after ``--set`` (replaces all), then ``--add`` and ``--remove``; in their
    first order, each once."""
    tags = list(set_to) if set_to is not None else list(current)
    tags += [t for t in add if t not in tags]
    return tuple(dict.fromkeys(t for t in tags if t not in set(remove)))


def tag(location: Location, selectors: Sequence[str], *, add: Sequence[str] = (),
        remove: Sequence[str] = (), set_to: Sequence[str] | None = None,
        on_event: OnEvent = ignore) -> list[Retagged]:
    """Change the tags of the snapshots ``selectors`` name; one :class:`Retagged` each."""
    if not selectors:
        raise UsageError("name the snapshots to tag (ids, prefixes, `latest` or tags)")
    if not add and not remove and set_to is None:
        raise UsageError("say what to change: --add TAG, --remove TAG or --set TAG")
    for t in (*add, *(set_to or ())):  # --remove takes any tag a snapshot has
        check_label("tag", t)
    if any(not t for t in remove):
        raise UsageError("invalid tag '' for --remove: name a tag the snapshots carry")
    repo = open_repository(location, on_event=on_event)
    done: list[Retagged] = []
    with repo.lock(exclusive=True, operation="tag"):
        listing = repo.snapshots()
        chosen = list(dict.fromkeys(resolve(s, listing)[0] for s in selectors))
        snaps = dict(listing)
        for sid in chosen:
            snap = snaps[sid]
            tags = new_tags(snap.tags, add, remove, set_to)
            if tags == snap.tags:
                done.append(Retagged(sid, sid, tags))
                continue
            new_id = repo.save_snapshot(replace(snap, tags=tags))  # written before removed
            repo.remove_snapshot(sid)
            done.append(Retagged(sid, new_id, tags))
    return done
