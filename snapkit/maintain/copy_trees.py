"""The part of a tree object ``copy`` needs: the ids of its subtrees and of its data blobs,
read without building its nodes (:func:`tree_children`)."""

from __future__ import annotations

from snapkit.format.encoding import FORMAT_VERSION, id_hex, unpack_obj
from snapkit.format.errors import IntegrityError


def tree_children(raw: bytes) -> tuple[list[str], list[str]]:
    """The subtree ids and the data blob ids a tree object names, in order: all a copy needs
    of it, read without building its nodes. IntegrityError when it is not a tree this
    snapkit reads (as :func:`~snapkit.format.model.decode_tree` would refuse it)."""
    obj = unpack_obj(raw, "tree object")
    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        raise IntegrityError("tree object has no node list")
    if obj.get("v") != FORMAT_VERSION:
        raise IntegrityError(f"tree object has format version {obj.get('v')}; this snapkit "
                             f"reads version {FORMAT_VERSION} — upgrade snapkit")
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
