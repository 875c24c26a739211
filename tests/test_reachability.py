"""The reachability walk ``check`` and ``prune`` share (``snapkit.maintain.reachability``)."""

from __future__ import annotations

from collections.abc import Iterator

from snapkit.maintain.reachability import child_path, walk_reachable

#: tree id → its subdirectories (name, subtree id)
GRAPH = {
    "r1": [("a", "A"), ("b", "B")],
    "r2": [("a", "A"), ("c", "C")],  # shares A (and below it, D) with r1
    "A": [("d", "D")],
    "B": [("d", "D")],  # the same subtree twice in one snapshot
    "C": [],
    "D": [],
}


def test_every_tree_is_visited_once_across_snapshots() -> None:
    visits: list[tuple[str, str, str]] = []

    def visit(sid: str, tree: str, where: str) -> list[tuple[str, str]]:
        visits.append((sid, tree, where))
        return [(sub, child_path(where, name)) for name, sub in GRAPH[tree]]

    assert walk_reachable([("s1", "r1"), ("s2", "r2")], visit) == 6
    # Depth first, the last entry first (a stack); a tree seen before is not visited again.
    assert visits == [
        ("s1", "r1", "/"), ("s1", "B", "/b"), ("s1", "D", "/b/d"), ("s1", "A", "/a"),
        ("s2", "r2", "/"), ("s2", "C", "/c"),
    ]


def test_a_visit_decides_where_to_descend_and_roots_are_read_lazily() -> None:
    loaded: list[str] = []

    def roots() -> Iterator[tuple[str, str]]:
        for sid, root in (("s1", "r1"), ("s2", "r2")):
            loaded.append(sid)
            yield sid, root

    def visit(sid: str, tree: str, where: str) -> list[tuple[str, str]]:
        assert loaded[-1] == sid  # the next snapshot is loaded only when this one is done
        return [] if tree == "r1" else [(sub, child_path(where, n)) for n, sub in GRAPH[tree]]

    assert walk_reachable(roots(), visit) == 5  # r1, then r2 → C, A → D
    assert loaded == ["s1", "s2"]


def test_child_path() -> None:
    assert child_path("/", "a") == "/a"
    assert child_path("/a", "b") == "/a/b"
