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
from functools import partial
from itertools import chain, repeat
from operator import is_not, itemgetter
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


_NONE = type(None)
_TYPED_KEYS = frozenset(_RAW_KEYS.items())
_get, _name = dict.get, itemgetter("name")
_not_none = partial(is_not, None)
_CONTENT_TYPES = frozenset({(NODE_FILE, list), (NODE_DIR, _NONE), (NODE_SYMLINK, _NONE)})


def _all_canonical(nodes: list[Any]) -> bool:
    """Every node is a map exactly as :func:`encode_node` writes it: keys in its order for the
    node's type, the values the builder reads without decoding of its types (a byte-string
    name, content a list of 16-byte ids, hash and subtree None or a 16-byte id). Checked a
    column at a time by C-level passes: a builder decodes every parent tree, and a Python
    call per node was a fifth of an unchanged snapshot's time."""
    if not all(map(isinstance, nodes, repeat(dict))):
        return False
    types = list(map(_get, nodes, repeat("type")))
    if not set(map(type, types)) <= {str}:
        return False
    if not set(zip(types, map(tuple, nodes), strict=True)) <= _TYPED_KEYS:
        return False  # keys in encode_node's order for the node's type (so all keys exist)
    if not set(map(type, map(_name, nodes))) <= {bytes}:
        return False
    contents = list(map(_get, nodes, repeat("content")))
    if not set(zip(types, map(type, contents), strict=True)) <= _CONTENT_TYPES:
        return False
    ids = list(chain.from_iterable(filter(None, contents)))
    ids.extend(filter(_not_none, map(_get, nodes, repeat("hash"))))
    ids.extend(filter(_not_none, map(_get, nodes, repeat("subtree"))))
    return set(map(type, ids)) <= {bytes} and set(map(len, ids)) <= {16}


def decode_tree_raw(data: bytes) -> tuple[list[RawNode], bool]:
    """The stored maps of a tree object's nodes, and whether they are exactly the maps
    :func:`encode_tree` writes (then the tree's id may stand for the same maps: a tree snapkit
    wrote has the id ``encode_tree`` gives them). A tree with other maps comes back with them
    re-spelled as :func:`encode_node` writes them; IntegrityError as :func:`decode_tree`.

    The bytes are not packed again to be compared: only the maps are reused, and a tree whose
    bytes another msgpack writer spelled differently (a wider integer) is still a valid tree
    of these maps under its own verified id (re-packing every parent tree was a twentieth of an
    unchanged snapshot's time)."""
    obj = unpack_obj(data, "tree object")
    if (isinstance(obj, dict) and list(obj) == ["v", "nodes"] and obj["v"] == FORMAT_VERSION
            and type(obj["nodes"]) is list and _all_canonical(obj["nodes"])):
        return obj["nodes"], True
    return [encode_node(n) for n in decode_tree(data).nodes], False


def tree_maps(nodes: Sequence[Node | RawNode]) -> list[RawNode]:
    """The maps a tree of ``nodes`` (some given as their stored maps) stores, in its order."""
    maps = [n if isinstance(n, dict) else encode_node(n) for n in nodes]
    maps.sort(key=_name)
    return maps


def encode_maps(maps: list[RawNode]) -> bytes:
    """The tree object of :func:`tree_maps`'s ``maps``."""
    return pack_obj({"v": FORMAT_VERSION, "nodes": maps})


def encode_tree_raw(nodes: Sequence[Node | RawNode]) -> bytes:
    """:func:`encode_tree` of nodes some of which are given as their stored maps."""
    return encode_maps(tree_maps(nodes))
