"""The parts of tree objects and manifests ``copy`` needs, handled as their stored maps: the
ids a tree names (:func:`tree_children`), and a tree or manifest with its ids replaced by a
destination's (:func:`rekey_tree`, :func:`rekey_manifest`), every other key and its order
kept, so the bytes are those the destination's own writer would produce for the same entries
(a tree re-keyed there and back is the original, byte for byte)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snapkit.format.encoding import FORMAT_VERSION, id_bytes, id_hex, pack_obj, unpack_obj
from snapkit.format.errors import IntegrityError


def _tree_map(raw: bytes) -> dict[str, Any]:
    obj = unpack_obj(raw, "tree object")
    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        raise IntegrityError("tree object has no node list")
    if obj.get("v") != FORMAT_VERSION:
        raise IntegrityError(f"tree object has format version {obj.get('v')}; this snapkit "
                             f"reads version {FORMAT_VERSION} — upgrade snapkit")
    return obj


def tree_children(raw: bytes) -> tuple[list[str], list[str]]:
    """The subtree ids and the data blob ids a tree object names, in order: all a copy needs
    of it, read without building its nodes. IntegrityError when it is not a tree this
    snapkit reads (as :func:`~snapkit.format.model.decode_tree` would refuse it)."""
    obj = _tree_map(raw)
    subtrees: list[str] = []
    content: list[str] = []
    try:
        for node in obj["nodes"]:
            if node.get("subtree"):
                subtrees.append(id_hex(node["subtree"]))
            content.extend(map(id_hex, node.get("content") or ()))
    except (AttributeError, TypeError) as exc:
        raise IntegrityError(f"malformed node in tree object: {exc}") from exc
    return subtrees, content


def rekey_tree(raw: bytes, new_id: Callable[[str], str]) -> bytes:
    """Tree object ``raw`` (read by :func:`tree_children` already) with each subtree and
    data blob id ``i`` replaced by ``new_id(i)``; nothing else changed."""
    obj = _tree_map(raw)
    for node in obj["nodes"]:
        if node.get("subtree"):
            node["subtree"] = id_bytes(new_id(id_hex(node["subtree"])))
        if node.get("content"):
            node["content"] = [id_bytes(new_id(id_hex(c))) for c in node["content"]]
    return pack_obj(obj)


def rekey_manifest(plain: bytes, tree: str, original: str, parent: str | None) -> bytes:
    """Manifest ``plain`` (decoded by the source already) naming root tree ``tree`` and, when
    given, ``parent``, with ``original`` recorded unless it records one already (a copy of a
    copy names the first); every other key kept as it is."""
    obj = unpack_obj(plain, "snapshot manifest")
    if not isinstance(obj, dict):
        raise IntegrityError("snapshot manifest is not a map")
    obj["tree"] = id_bytes(tree)
    if parent is not None:
        obj["parent"] = parent
    if not obj.get("original"):
        obj["original"] = original
    return pack_obj(obj)
