"""The repository's ``config`` file: which format version, id function and chunker parameters
its objects were written with (``docs/format.md``, "config").

Every snapshot must cut and hash exactly as the repository's first one did for chunks to
deduplicate, so these values are fixed when the repository is created; a reader refuses a
version, id function or chunker it does not know (:class:`RepositoryMissing`, exit 10), and
a file that is not a config at all is :class:`ConfigDamaged` (``Repository.open`` then reads
the rest of the repository with :meth:`RepoConfig.fallback`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from snapkit import __version__
from snapkit.format.errors import ConfigDamaged, RepositoryMissing
from snapkit.format.model import FORMAT_VERSION, ID_HASH, ChunkerParams

REPO_MAGIC = "snapkit-repository"
#: A pack is closed once it reaches this many bytes.
PACK_TARGET = 16 * 1024 * 1024
#: The zstd level new blobs are compressed with (``docs/design.md``, "Compression level").
DEFAULT_ZSTD_LEVEL = 3


@dataclass(frozen=True)
class RepoConfig:
    id: str
    version: int = FORMAT_VERSION
    created: str = ""
    hash: str = ID_HASH
    chunker: ChunkerParams = ChunkerParams()
    zstd_level: int = DEFAULT_ZSTD_LEVEL
    pack_size: int = PACK_TARGET

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"format": REPO_MAGIC, **asdict(self)}
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, location: str) -> RepoConfig:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ConfigDamaged(
                f"{location}/config is not a snapkit repository config ({exc})"
            ) from exc
        if not isinstance(doc, dict) or doc.get("format") != REPO_MAGIC:
            raise ConfigDamaged(f"{location} is not a snapkit repository (config has no "
                                f"\"format\": \"{REPO_MAGIC}\")")
        version = doc.get("version")
        if version != FORMAT_VERSION:
            raise RepositoryMissing(
                f"repository {location} has format version {version}, this snapkit "
                f"{__version__} reads version {FORMAT_VERSION}; use a matching snapkit release"
            )
        chunker = doc.get("chunker")
        algorithm = chunker.get("algorithm", "fastcdc2020") if isinstance(chunker, dict) else None
        for key, name, ours in (("id function", doc.get("hash", ID_HASH), ID_HASH),
                                ("chunker", algorithm or "fastcdc2020", "fastcdc2020")):
            if name != ours:  # ids or chunks this snapkit would compute differently
                raise RepositoryMissing(
                    f"repository {location} uses the {key} {name!r}, this snapkit "
                    f"{__version__} knows only {ours!r}; use a matching snapkit release")
        try:
            return cls(
                id=str(doc["id"]),
                version=int(version),
                created=str(doc.get("created", "")),
                hash=ID_HASH,
                chunker=ChunkerParams(**doc["chunker"]),
                zstd_level=int(doc.get("zstd_level", DEFAULT_ZSTD_LEVEL)),
                pack_size=int(doc.get("pack_size", PACK_TARGET)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigDamaged(f"{location}/config is damaged: {exc}") from exc

    @classmethod
    def fallback(cls) -> RepoConfig:
        """What a version-1 config holds but its id and time: the chunker parameters are the
        fixed defaults (``snapkit init`` offers no others), so blobs read and dedupe exactly as
        with the lost file. Used to open a repository whose config is damaged."""
        return cls(id="0" * 32, created="")
