"""Repository locations: a local path or an S3 URL, parsed, and secrets kept out of messages.

``--repo`` / ``$SNAPKIT_REPO`` accept (see ``docs/s3.md``):

- a local path (absolute, relative or ``~/...``): :class:`~snapkit.store.backend.LocalBackend`;
- ``s3:https://host[:port]/bucket[/prefix]`` (restic's syntax; ``http://`` for a server on
  loopback), or ``s3:host[:port]/bucket[/prefix]`` meaning https: an S3-compatible server
  (MinIO, Ceph, R2, rclone…), addressed path-style;
- ``s3://bucket[/prefix]``: AWS S3, or the endpoint in ``$AWS_ENDPOINT_URL_S3`` /
  ``$AWS_ENDPOINT_URL`` when set (then path-style too).

Parsing is pure and needs no boto3; :func:`snapkit.store.connect.backend_for` picks the backend
that serves a location.

A location must not carry credentials (``s3:https://KEY:SECRET@host/bucket``) or a query
(a presigned ``?X-Amz-Signature=…``): they are refused, and :func:`redact` replaces them by
``***`` in every message that shows a location or URL, so no secret is ever printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from snapkit.format.errors import UsageError

S3_SCHEME = "s3:"
#: S3's bucket naming rules (those S3-compatible servers such as rclone and MinIO enforce too):
#: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end, no "..",
#: not an IP address. Checked when a location is parsed, so init, copy --to and every --repo
#: refuse a malformed name at once (exit 2) instead of the server answering later.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")

#: A URL-like token in a message: an ``s3:`` location or an http(s) URL, up to a space or quote.
_URL_TOKEN = re.compile(r"(?<![\w.+-])(?:s3:|https?://)[^\s'\"<>]+")
#: Its scheme part and the user info before an ``@`` (``KEY:SECRET@``) in the authority.
_USERINFO = re.compile(r"(s3://|s3:https?://|s3:|https?://)([^/?#\s]*)@")
#: ``name=value`` in a query.
_QUERY_VALUE = re.compile(r"([?&][^=&#]*)=[^&#]*")


def redact(text: str) -> str:
    """``text`` with the secrets of every URL in it replaced by ``***``: user info
    (``s3:https://***@host/bucket``) and the value of every query parameter
    (``?X-Amz-Signature=***``). Host, bucket and prefix stay, so the message still says
    which repository is meant. Text without such URLs is returned unchanged."""

    def one(match: re.Match[str]) -> str:
        token = _USERINFO.sub(r"\1***@", match.group(0), count=1)
        if "?" in token:
            head, _, query = token.partition("?")
            token = head + _QUERY_VALUE.sub(r"\1=***", "?" + query)
        return token

    return _URL_TOKEN.sub(one, text)


@dataclass(frozen=True)
class S3Location:
    """Where an S3 repository lives: endpoint (None: AWS's default), bucket and key prefix."""

    bucket: str
    prefix: str = ""  # no leading or trailing "/"; "" is the bucket's root
    endpoint: str | None = None  # "https://host:port"; None means AWS S3
    original: str = ""  # as the user wrote it (normalized), for messages

    def __str__(self) -> str:
        if self.original:
            return self.original
        path = f"{self.bucket}/{self.prefix}".rstrip("/")
        return redact(f"s3:{self.endpoint}/{path}") if self.endpoint else f"s3://{path}"


def is_remote(location: str | Path) -> bool:
    """True for a location that names an object store rather than a local path."""
    return isinstance(location, str) and location.startswith(S3_SCHEME)


def parse_s3(location: str, env: Mapping[str, str] | None = None) -> S3Location:
    """Parse an ``s3:`` location; raise UsageError naming the expected syntax."""
    env = os.environ if env is None else env
    shown_loc = redact(location)
    if not location.startswith(S3_SCHEME):
        raise UsageError(f"{shown_loc!r} is not an S3 location (s3:https://host/bucket/prefix)")
    secrets = UsageError(f"S3 location {shown_loc!r} must not hold credentials, a query or a "
                         "fragment; credentials come from AWS_ACCESS_KEY_ID / "
                         "AWS_SECRET_ACCESS_KEY")
    rest = location[len(S3_SCHEME):]
    if rest.startswith("//"):  # s3://bucket/prefix: AWS, or $AWS_ENDPOINT_URL
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        path = rest[2:]
        if "@" in path.split("/", 1)[0] or "?" in path or "#" in path:
            raise secrets
        shown_base = "s3://"
    else:
        if "://" not in rest:
            rest = "https://" + rest
        url = urlsplit(rest)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise UsageError(f"cannot parse S3 location {shown_loc!r}; write "
                             "s3:https://host[:port]/bucket[/prefix] or s3://bucket[/prefix]")
        if url.query or url.fragment or "@" in url.netloc or "?" in rest or "#" in rest:
            raise secrets
        endpoint = f"{url.scheme}://{url.netloc}"
        path = url.path
        shown_base = f"s3:{endpoint}/"
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise UsageError(f"S3 location {shown_loc!r} names no bucket; write "
                         "s3:https://host[:port]/bucket[/prefix] or s3://bucket[/prefix]")
    bucket, prefix_parts = parts[0], parts[1:]
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP_LIKE.fullmatch(bucket):
        raise UsageError(f"invalid S3 bucket name {bucket!r} in {shown_loc!r}: 3-63 lowercase "
                         "letters, digits, dots and hyphens, starting and ending with a letter "
                         "or digit, not an IP address")
    if any(p in (".", "..") for p in prefix_parts):
        raise UsageError(f"S3 location {shown_loc!r} has a '.' or '..' in its prefix")
    prefix = "/".join(prefix_parts)
    shown = shown_base + "/".join(parts)
    return S3Location(bucket=bucket, prefix=prefix, endpoint=endpoint, original=shown)


def default_repo_path(env: Mapping[str, str] | None = None) -> Path:
    """``$SNAPKIT_REPO``, else ``$XDG_DATA_HOME/snapkit/repo`` (``~/.local/share/...``)."""
    env = os.environ if env is None else env
    if env.get("SNAPKIT_REPO"):
        return Path(env["SNAPKIT_REPO"]).expanduser()
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "snapkit" / "repo"
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "snapkit" / "repo"
