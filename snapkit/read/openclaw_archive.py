"""The archive format of ``openclaw backup create`` (OpenClaw 2026.9), written and read.

Every rule here comes from OpenClaw 2026.9.6's ``dist/`` (``backup-shared-*``,
``backup-create-*``, ``backup-verify-*``, ``backup-verify-manifest-*``, ``backup-restore-*``):

* one top directory, the *archive root* ``<YYYY-MM-DDTHH-MM-SS.mmm+HH-MM>-openclaw-backup``;
  every entry lies below it; ``<root>/manifest.json`` is the one manifest (OpenClaw writes it
  last); the files are ``<root>/payload/posix/<absolute path without its leading />``,
  ``<root>/payload/windows/<DRIVE>/<rest>`` for ``<DRIVE>:\\<rest>``, and
  ``<root>/payload/relative/<path>`` for a source path that is not absolute — a path OpenClaw
  would have taken relative to the working directory of ``openclaw backup create``, which no
  archive records (its own sources are all resolved to absolute paths first, so its archives
  never hold one);
* the manifest (``schemaVersion`` 1) names ``archiveRoot``, ``createdAt`` and ``assets``
  (``kind``, ``sourcePath``, ``archivePath``), each asset's payload present; ``paths.stateDir``
  must be absolute and normalised; at most one ``state`` asset, whose ``archivePath`` is exactly
  its ``sourcePath`` encoded; ``<state>/state/openclaw.sqlite`` (and the agent databases it
  registers) are opened, integrity-checked and their role checked, with no ``-wal``/``-shm``/
  ``-journal`` beside them; a symbolic link must lie inside an asset and, when the manifest
  lists ``externalSymbolicLinks``, that list must name exactly the links whose targets leave
  the state asset; names are refused with ``.``/``..`` segments, backslashes, duplicates, or
  two names equal after NFC normalisation and lower-casing (a "portable path collision").

:func:`plan_layout` turns the selected entries of a snapshot into that layout, with the
manifest OpenClaw's ``verify`` and ``restore`` accept; the format's names and the reading of an
imported archive's manifest (:func:`relative_prefixes`, :func:`snapshot_mode`) are in
:mod:`snapkit.read.openclaw_format` (re-exported here).
"""

from __future__ import annotations

import json
import ntpath
import posixpath
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from snapkit import __version__
from snapkit.format.errors import UsageError
from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node, Snapshot, file_hasher

# The format's names, re-exported: importers use them from here.
from snapkit.read.openclaw_format import CONFIG_ONLY as CONFIG_ONLY
from snapkit.read.openclaw_format import DRIVE as DRIVE
from snapkit.read.openclaw_format import MANIFEST as MANIFEST
from snapkit.read.openclaw_format import MANIFEST_MAX as MANIFEST_MAX
from snapkit.read.openclaw_format import PAYLOAD as PAYLOAD
from snapkit.read.openclaw_format import ROOT_SUFFIX as ROOT_SUFFIX
from snapkit.read.openclaw_format import SCHEMA_VERSION as SCHEMA_VERSION
from snapkit.read.openclaw_format import archive_root as archive_root
from snapkit.read.openclaw_format import created_at as created_at
from snapkit.read.openclaw_format import declared_sources as declared_sources
from snapkit.read.openclaw_format import iso_ns as iso_ns
from snapkit.read.openclaw_format import manifest_doc as manifest_doc
from snapkit.read.openclaw_format import path_text as path_text
from snapkit.read.openclaw_format import payload_parts as payload_parts
from snapkit.read.openclaw_format import relative_prefixes as relative_prefixes
from snapkit.read.openclaw_format import snapshot_mode as snapshot_mode
from snapkit.read.openclaw_format import source_parts as source_parts
from snapkit.read.treewalk import Parts

_CONFIG_NAMES = ("openclaw.json", "clawdbot.json")
#: A workspace's persona files (OpenClaw's agent workspace bootstrap).
_PERSONA = frozenset({"AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md",
                      "HEARTBEAT.md", "BOOTSTRAP.md", "BOOT.md", "MEMORY.md"})


# ------------------------------------------------------------------ writing


@dataclass(frozen=True)
class Asset:
    kind: str  # state | config | credentials | workspace | agent | directory | file
    source: str  # the original path
    parts: Parts


@dataclass(frozen=True)
class Layout:
    """An export in OpenClaw's layout: the entries in archive order, then the manifest."""

    root: str
    entries: list[tuple[str, Node]]
    assets: tuple[Asset, ...]
    manifest_name: str
    manifest: bytes
    manifest_node: Node


NodeAt = Callable[[Parts], "Node | None"]
NamesOf = Callable[[Parts], "set[str]"]


def _openclaw_rules(snap: Snapshot, source: str) -> bool:
    return any(r.startswith(f"{source}: openclaw defaults") for r in snap.rules)


def classify(snap: Snapshot, node_at: NodeAt, names_of: NamesOf) -> list[Asset]:
    """Each source of ``snap`` as an OpenClaw asset kind, from what the snapshot holds: the
    first directory holding ``openclaw.json`` (or ``clawdbot.json``, or
    ``state/openclaw.sqlite``) is the ``state``; a directory holding ``openclaw-agent.sqlite``
    an ``agent`` dir; ``credentials`` (or one holding ``oauth.json``) the OAuth dir; one with
    persona files (``AGENTS.md``, ``SOUL.md``...) or other OpenClaw-rules directories a
    ``workspace``; an OpenClaw file source ``config``; anything else ``directory``/``file``."""
    assets: list[Asset] = []
    state_taken = False
    for source in snap.sources:
        parts = source_parts(source)
        node = node_at(parts) if parts is not None else None
        if parts is None or node is None:
            continue
        openclaw = _openclaw_rules(snap, source)
        if node.type != NODE_DIR:
            kind = "config" if openclaw else "file"
        else:
            names = names_of(parts)
            if not state_taken and (names.intersection(_CONFIG_NAMES)
                                    or "openclaw.sqlite" in names_of((*parts, "state"))):
                kind, state_taken = "state", True
            elif "openclaw-agent.sqlite" in names:
                kind = "agent"
            elif parts[-1:] == ("credentials",) or "oauth.json" in names:
                kind = "credentials"
            elif names & _PERSONA or openclaw:
                kind = "workspace"
            else:
                kind = "directory"
        assets.append(Asset(kind, source, parts))
    assets.sort(key=lambda a: a.kind != "state")  # stable: the state first, then as recorded
    return assets


def _within(parts: Parts, root: Parts) -> bool:
    return parts[: len(root)] == root


def _check_portable(names: Sequence[str]) -> None:
    """Refuse names OpenClaw's verify refuses (see the module docstring)."""
    seen: dict[str, str] = {}
    for name in names:
        name = name.rstrip("/")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{name.encode('utf-8', 'replace').decode()}: not a UTF-8 name, "
                             "which OpenClaw's archives cannot hold; leave it out with "
                             "--exclude") from None
        if "\\" in name:
            raise UsageError(f"{name}: a backslash in a name, which `openclaw backup verify` "
                             "refuses; leave it out with --exclude")
        key = unicodedata.normalize("NFC", name).lower()
        other = seen.setdefault(key, name)
        if other != name:
            raise UsageError(f"{other} and {name} differ only in case or Unicode normalisation; "
                             "`openclaw backup verify` refuses such an archive (a portable path "
                             "collision); leave one out with --exclude")


def _external(entry: str, target: str, state: Asset, state_archive: str, win32: bool) -> bool:
    """Whether OpenClaw counts a link as leaving the state asset (recordArchiveSymbolicLink)."""
    if win32 and ntpath.isabs(target):
        try:
            rel, sep = ntpath.relpath(ntpath.normpath(target), state.source), "\\"
        except ValueError:  # another drive
            return True
    elif not win32 and target.startswith("/"):
        rel, sep = posixpath.relpath(posixpath.normpath(target), state.source), "/"
    else:  # relative: resolved between archive paths
        joined = posixpath.join(posixpath.dirname(entry),
                                target.replace("\\", "/") if win32 else target)
        rel, sep = posixpath.relpath(posixpath.normpath(joined), state_archive), "/"
    return rel.startswith(("/", "\\")) or rel == ".." or rel.startswith(".." + sep)


def plan_layout(snap_id: str, snap: Snapshot, selected: Sequence[tuple[Parts, Node]],
                node_at: NodeAt, names_of: NamesOf, mode: str) -> Layout:
    """The entries of ``selected`` (the export's stored paths and nodes, in archive order)
    renamed into OpenClaw's layout, with synthetic directories for the root and the manifest.

    Raises :class:`UsageError` for what OpenClaw's verify would refuse.
    """
    root = archive_root(snap.time_ns)
    present = {parts for parts, _ in selected}
    assets, skipped = _assets(snap, node_at, names_of, present)

    def name(parts: Parts) -> str:
        return "/".join((root, PAYLOAD, *payload_parts(parts)))

    synthetic = _synthetic_dir(snap, selected, assets)
    top = sorted({payload_parts(p)[0] for p in present})
    entries: list[tuple[str, Node]] = [(root, synthetic), (f"{root}/{PAYLOAD}", synthetic)]
    entries += [(f"{root}/{PAYLOAD}/{t}", synthetic) for t in top]
    entries += [(name(parts), node) for parts, node in selected]
    _check_portable([n for n, _ in entries])

    state = next((a for a in assets if a.kind == "state"), None)
    win32 = any(a.parts[:1] and a.parts[0].endswith(":") for a in assets)
    links = _links(entries, assets, state, win32, name)
    doc = _manifest(snap_id, snap, root, assets, state, present, skipped, links, mode, win32,
                    name)
    data, manifest_node = _manifest_file(doc, snap, synthetic)
    return Layout(root, entries, tuple(assets), f"{root}/{MANIFEST}", data, manifest_node)


def _assets(snap: Snapshot, node_at: NodeAt, names_of: NamesOf, present: set[Parts]
            ) -> tuple[list[Asset], list[dict[str, Any]]]:
    """The exported assets, and the manifest's records of those another asset covers."""
    assets: list[Asset] = []
    skipped: list[dict[str, Any]] = []
    for asset in classify(snap, node_at, names_of):
        if asset.parts not in present:
            continue  # nothing of it is exported
        cover = next((a for a in assets if _within(asset.parts, a.parts)), None)
        if cover is not None:
            skipped.append({"kind": asset.kind, "sourcePath": asset.source,
                            "reason": "covered", "coveredBy": cover.source})
            continue
        assets.append(asset)
    return assets, skipped


def _synthetic_dir(snap: Snapshot, selected: Sequence[tuple[Parts, Node]],
                   assets: Sequence[Asset]) -> Node:
    """The node of the archive's own directories, owned as the first asset is."""
    owner = next((n for p, n in selected if assets and p == assets[0].parts), None)
    return Node("", NODE_DIR, 0o700, snap.time_ns, uid=owner.uid if owner else 0,
                gid=owner.gid if owner else 0, user=owner.user if owner else "",
                group=owner.group if owner else "")


def _links(entries: Sequence[tuple[str, Node]], assets: Sequence[Asset], state: Asset | None,
           win32: bool, name: Callable[[Parts], str]) -> list[dict[str, str]]:
    """The manifest's external links; raises UsageError for a link OpenClaw would refuse."""
    links: list[dict[str, str]] = []
    for entry, node in entries:
        if node.type != NODE_SYMLINK:
            continue
        target = node.target or ""
        if state is not None:
            if _external(entry, target, state, name(state.parts), win32):
                links.append({"entryPath": entry, "linkpath": target})
            continue
        # Without a state asset OpenClaw only accepts relative links that stay inside an asset.
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(entry), target))
        if target.startswith("/") or "\\" in target or DRIVE.match(target) or not any(
                joined == name(a.parts) or joined.startswith(name(a.parts) + "/")
                for a in assets):
            raise UsageError(f"{entry}: a link to {target}, outside the exported sources; "
                             "OpenClaw accepts such a link only in a backup of its state dir. "
                             "Leave it out with --exclude")
    return links


def _manifest_file(doc: dict[str, Any], snap: Snapshot, synthetic: Node) -> tuple[bytes, Node]:
    """The manifest's bytes and its node; raises UsageError when OpenClaw would refuse its size."""
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    if len(data) > MANIFEST_MAX:
        raise UsageError(f"the OpenClaw manifest would be {len(data):,} bytes; OpenClaw "
                         f"refuses more than {MANIFEST_MAX:,}")
    hasher = file_hasher()
    hasher.update(data)
    manifest_node = Node(MANIFEST, NODE_FILE, 0o644, snap.time_ns, size=len(data),
                         uid=synthetic.uid, gid=synthetic.gid, user=synthetic.user,
                         group=synthetic.group, hash=hasher.hexdigest())
    return data, manifest_node


def _manifest(snap_id: str, snap: Snapshot, root: str, assets: Sequence[Asset],
              state: Asset | None, present: set[Parts], skipped: list[dict[str, Any]],
              links: list[dict[str, str]], mode: str, win32: bool,
              name: Callable[[Parts], str]) -> dict[str, Any]:
    only_config = mode == CONFIG_ONLY
    paths: dict[str, Any] = {}
    workspaces = [a.source for a in assets if a.kind == "workspace"]
    if state is not None:
        paths["stateDir"] = state.source
        inside = sorted(p for p in present if len(p) == len(state.parts) + 1
                        and _within(p, state.parts))
        config = next((p for n in _CONFIG_NAMES for p in inside if p[-1] == n), None)
        if config is not None:
            paths["configPath"] = path_text(config)
        if (*state.parts, "credentials") in present:
            paths["oauthDir"] = path_text((*state.parts, "credentials"))
        workspaces += [path_text(p) for p in inside
                       if p[-1] == "workspace" or p[-1].startswith("workspace-")]
    if "configPath" not in paths:
        config_file = next((a.source for a in assets if a.kind == "config"), None)
        if config_file is not None:
            paths["configPath"] = config_file
    if "oauthDir" not in paths:
        oauth = next((a.source for a in assets if a.kind == "credentials"), None)
        if oauth is not None:
            paths["oauthDir"] = oauth
    paths["workspaceDirs"] = sorted(workspaces)
    for s in snap.skipped:
        parts = source_parts(s.path)
        if parts is not None and any(_within(parts, a.parts) for a in assets):
            skipped.append({"kind": "entry", "sourcePath": s.path, "reason": s.reason})
    doc: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "createdAt": created_at(snap.time_ns),
        "archiveRoot": root,
    }
    if win32:
        doc["platform"] = "win32"
    doc.update({
        "options": {"includeWorkspace": bool(workspaces) and not only_config,
                    "onlyConfig": only_config},
        "paths": paths,
        "assets": [{"kind": a.kind, "sourcePath": a.source, "archivePath": name(a.parts)}
                   for a in assets],
        "skipped": skipped,
    })
    if state is not None:  # the list needs a state boundary; without one OpenClaw checks links
        doc["externalSymbolicLinks"] = links  # as relative paths inside the assets instead
    doc["snapkit"] = {"version": __version__, "snapshot": snap_id, "snapshotMode": snap.mode,
                      "mode": mode}
    return doc
