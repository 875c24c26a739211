"""The cache directory tag (https://bford.info/cachedir/): a ``CACHEDIR.TAG`` file whose
content begins with the tag's signature marks its directory as a cache (``snap
--exclude-caches`` leaves it out)."""

from __future__ import annotations

import os
import stat

#: The cache directory tag (https://bford.info/cachedir/), and how its file must begin.
CACHEDIR_TAG = "CACHEDIR.TAG"
CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"


def is_cache_tag(path: str) -> bool:
    """``path`` is a regular file starting with the cache directory tag's signature."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, len(CACHEDIR_SIGNATURE)) \
            == CACHEDIR_SIGNATURE
    except OSError:
        return False
    finally:
        os.close(fd)
