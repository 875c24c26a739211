"""Tree objects handled as their stored maps, for the snapshot builder's fast path.

A node as stored is the msgpack map :func:`~snapkit.format.model.encode_tree` writes for it
(``docs/format.md``). The builder compares the parent's entries in this form, without building
a :class:`~snapkit.format.model.Node` for each, and stores an unchanged entry's map as it is:
the same map, the same bytes. :func:`decode_tree_raw` says whether a stored tree is exactly
what the encoder writes (only then may its id be reused for the same maps), and
:func:`encode_tree_raw` encodes a mix of maps and nodes exactly as ``encode_tree`` would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from snapkit.format.encoding import pack_obj, unpack_obj
from snapkit.format.model import (
    FORMAT_VERSION,
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    decode_tree,
    encode_node,
)

#: A node's map, as a tree object stores it.
RawNode = dict[str, Any]
_BASE_KEYS = ("name", "type", "mode", "mtime", "ctime", "size", "inode", "uid", "gid", "user",
              "group")
_RAW_KEYS: dict[str, tuple[str, ...]] = {
    NODE_FILE: (*_BASE_KEYS, "content", "hash"),
    NODE_DIR: (*_BASE_KEYS, "subtree"),
    NODE_SYMLINK: (*_BASE_KEYS, "target"),
}


def _is_id(raw: object) -> bool:
    return type(raw) is bytes and len(raw) == 16


def _canonical(d: object) -> bool:
    """``d`` is a node's map exactly as :func:`encode_node` writes it (keys in its order,
    values of its types: the ones the builder reads without decoding are checked)."""
    if not isinstance(d, dict) or tuple(d) != _RAW_KEYS.get(str(d.get("type")), ()):
        return False
    if type(d["name"]) is not bytes:
        return False
    if d["type"] == NODE_FILE:
        content, digest = d["content"], d["hash"]
        return (type(content) is list and all(map(_is_id, content))
                and (digest is None or _is_id(digest)))
    if d["type"] == NODE_DIR:
        return d["subtree"] is None or _is_id(d["subtree"])
    return True


def decode_tree_raw(data: bytes) -> tuple[list[RawNode], bool]:
    """The stored maps of a tree object's nodes, and whether ``data`` is exactly what
    :func:`encode_tree` writes for them (then a tree of the same maps has the same id). A tree
    in any other spelling comes back with its maps re-spelled as :func:`encode_node` writes
    them; IntegrityError as :func:`decode_tree`."""
    obj = unpack_obj(data, "tree object")
    if (isinstance(obj, dict) and list(obj) == ["v", "nodes"] and obj["v"] == FORMAT_VERSION
            and type(obj["nodes"]) is list and all(map(_canonical, obj["nodes"]))
            and pack_obj(obj) == data):
        return obj["nodes"], True
    return [encode_node(n) for n in decode_tree(data).nodes], False


def encode_tree_raw(nodes: Sequence[Node | RawNode]) -> bytes:
    """:func:`encode_tree` of nodes some of which are given as their stored maps."""
    maps = [n if isinstance(n, dict) else encode_node(n) for n in nodes]
    maps.sort(key=lambda d: d["name"])
    return pack_obj({"v": FORMAT_VERSION, "nodes": maps})
