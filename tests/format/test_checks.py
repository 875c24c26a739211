"""The version and algorithm checks of the format's readers.

A reader refuses what it cannot read correctly with one clear line, instead of misreading it:
a tree object of another version, a repository whose ids or chunks are made by another
function, an export archive whose metadata has another format.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import msgpack
import pytest
from helpers import ISOLATE_VARS, CliResult, env_for, init_repo, invoke_main

from snapkit.format.errors import EXIT_NO_REPO, EXIT_USAGE, IntegrityError, RepositoryMissing
from snapkit.format.model import Node, Tree, decode_tree, encode_tree
from snapkit.store.repository import RepoConfig, Repository

NODE = {"name": b"x", "type": "file", "mode": 0o644, "mtime": 0}


def test_a_tree_of_version_1_is_read() -> None:
    assert decode_tree(msgpack.packb({"v": 1, "nodes": [NODE]})) == Tree(
        (Node("x", "file", 0o644, 0),))
    assert decode_tree(encode_tree(Tree())) == Tree()


@pytest.mark.parametrize("obj", [{"v": 2, "nodes": [NODE]}, {"nodes": [NODE]},
                                 {"v": "1", "nodes": []}])
def test_a_tree_of_another_version_is_refused(obj: dict[str, object]) -> None:
    with pytest.raises(IntegrityError, match=f"tree object has format version {obj.get('v')}; "
                                             "this snapkit reads version 1"):
        decode_tree(msgpack.packb(obj))


def sk(base: Path, *args: str) -> CliResult:
    return invoke_main(args, {**env_for(base), "SNAPKIT_REPO": str(base / "repo")},
                       isolate=ISOLATE_VARS)


def one_line_error(out: CliResult, code: int, needle: str) -> None:
    assert out.code == code, (out.code, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    assert needle in lines[0], lines[0]


def _rewrite_config(repo: Path, **changes: object) -> None:
    doc = json.loads((repo / "config").read_text())
    for key, value in changes.items():
        if key == "algorithm":
            doc["chunker"]["algorithm"] = value
        else:
            doc[key] = value
    (repo / "config").write_text(json.dumps(doc))


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("hash", "sha256", "uses the id function 'sha256', this snapkit"),
    ("algorithm", "fastcdc2016", "uses the chunker 'fastcdc2016', this snapkit"),
])
def test_a_repository_of_another_id_function_or_chunker_is_refused(
    tmp_path: Path, key: str, value: str, needle: str
) -> None:
    init_repo(tmp_path / "repo")
    _rewrite_config(tmp_path / "repo", **{key: value})
    with pytest.raises(RepositoryMissing, match=needle):
        Repository.open(tmp_path / "repo")
    for args in (["snapshots"], ["check"]):
        one_line_error(sk(tmp_path, *args), EXIT_NO_REPO, needle)


def test_a_config_without_hash_is_xxh3(tmp_path: Path) -> None:
    """Every version-1 repository has the key; a config without it means the default."""
    data = json.loads(RepoConfig(id="0" * 32).to_json())
    del data["hash"], data["chunker"]["algorithm"]
    assert RepoConfig.from_json(json.dumps(data).encode(), "here").hash == "xxh3-128"


def _archive(path: Path, meta: dict[str, object]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": json.dumps({"snapkit": meta})}) as tar:
        info = tarfile.TarInfo("srv/a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"a\n"))
    path.write_bytes(buf.getvalue())
    return path


def test_archive_metadata_of_another_format_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "new.tar", {"format": 2, "snapshot": "ab" * 16,
                                               "files": {"srv/a.txt": ""}})
    needle = f"{archive} carries snapkit metadata format 2; this snapkit reads format 1"
    one_line_error(sk(tmp_path, "verify-archive", str(archive)), EXIT_USAGE, needle)
    init_repo(tmp_path / "repo")
    one_line_error(sk(tmp_path, "import", str(archive)), EXIT_USAGE, needle)
    assert Repository.open(tmp_path / "repo").snapshot_ids() == []


def test_archive_metadata_of_format_1_is_read(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "old.tar", {"format": 1, "snapshot": "ab" * 16,
                                               "files": {"srv/a.txt": ""}})
    out = sk(tmp_path, "verify-archive", str(archive))
    assert out.code == 0, (out.stdout, out.stderr)
