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
from snapkit.format.encoding import CIPHER
from snapkit.format.encoding import ID_FUNCTION as KEYED_ID
from snapkit.format.errors import ConfigDamaged, RepositoryMissing
from snapkit.format.model import FORMAT_VERSION, ID_HASH, ChunkerParams

REPO_MAGIC = "snapkit-repository"
#: A pack is closed once it reaches this many bytes.
PACK_TARGET = 16 * 1024 * 1024
#: The zstd level new blobs are compressed with (``docs/design.md``, "Compression level").
DEFAULT_ZSTD_LEVEL = 3


#: The format version of an encrypted repository (a version-1 reader refuses it).
ENCRYPTED_VERSION = 2
#: ``encryption`` of a repository without it (the key is then left out of the file).
NO_ENCRYPTION = "none"


@dataclass(frozen=True)
class RepoConfig:
    id: str
    version: int = FORMAT_VERSION
    created: str = ""
    hash: str = ID_HASH
    chunker: ChunkerParams = ChunkerParams()
    zstd_level: int = DEFAULT_ZSTD_LEVEL
    pack_size: int = PACK_TARGET
    #: the cipher of an encrypted repository (``crypto.CIPHER``), else :data:`NO_ENCRYPTION`
    encryption: str = NO_ENCRYPTION
    #: an encrypted repository's keyed MAC of the rest of this file (hex), checked once a
    #: key is unlocked: whoever can write the store cannot alter its parameters unseen
    mac: str = ""

    @property
    def encrypted(self) -> bool:
        return self.encryption != NO_ENCRYPTION

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"format": REPO_MAGIC, **asdict(self)}
        if not self.encrypted:  # a version-1 file, exactly as before encryption existed
            del doc["encryption"], doc["mac"]
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    def mac_input(self) -> bytes:
        """The bytes :attr:`mac` is computed over: the file as written without it."""
        return json.dumps({"format": REPO_MAGIC, **asdict(self), "mac": ""},
                          sort_keys=True).encode()

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
        if version not in (FORMAT_VERSION, ENCRYPTED_VERSION):
            raise RepositoryMissing(
                f"repository {location} has format version {version}, this snapkit "
                f"{__version__} reads versions {FORMAT_VERSION} and {ENCRYPTED_VERSION}; use "
                "a matching snapkit release"
            )
        encrypted = version == ENCRYPTED_VERSION
        chunker = doc.get("chunker")
        algorithm = chunker.get("algorithm", "fastcdc2020") if isinstance(chunker, dict) else None
        for key, name, ours in (
                ("id function", doc.get("hash", ID_HASH), KEYED_ID if encrypted else ID_HASH),
                ("cipher", doc.get("encryption", NO_ENCRYPTION),
                 CIPHER if encrypted else NO_ENCRYPTION),
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
                hash=KEYED_ID if encrypted else ID_HASH,
                chunker=ChunkerParams(**doc["chunker"]),
                zstd_level=int(doc.get("zstd_level", DEFAULT_ZSTD_LEVEL)),
                pack_size=int(doc.get("pack_size", PACK_TARGET)),
                encryption=CIPHER if encrypted else NO_ENCRYPTION,
                mac=str(doc.get("mac", "")) if encrypted else "",
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigDamaged(f"{location}/config is damaged: {exc}") from exc

    @classmethod
    def fallback(cls) -> RepoConfig:
        """What a version-1 config holds but its id and time: the chunker parameters are the
        fixed defaults (``snapkit init`` offers no others), so blobs read and dedupe exactly as
        with the lost file. Used to open a repository whose config is damaged."""
        return cls(id="0" * 32, created="")
