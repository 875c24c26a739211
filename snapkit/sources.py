"""What a snapshot run takes: its source paths and the selection rules for each.

With no paths, the OpenClaw installation is discovered (``snapkit.openclaw``) and its
sources for the chosen mode are used; the error for a missing state dir names the path and
how to pass another.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from snapkit.errors import UsageError
from snapkit.walk import Matcher


@dataclass(frozen=True)
class SourcePlan:
    sources: tuple[str, ...]
    symlinks: str

    def matcher_for(self, source: str) -> tuple[Matcher | None, str]:
        return None, "none"


def plan_sources(paths: Sequence[str], mode: str, symlinks: str | None) -> SourcePlan:
    if paths:
        sources = tuple(os.path.abspath(os.path.expanduser(p)) for p in paths)
        for src in sources:
            if not os.path.lexists(src):
                raise UsageError(f"source {src} does not exist; pass an existing path")
    else:
        from snapkit.openclaw import discover

        inst = discover()
        if not inst.exists:
            raise UsageError(
                f"OpenClaw state dir {inst.state_dir} not found; set OPENCLAW_STATE_DIR or "
                "pass the paths to back up, e.g. `snapkit snap ~/projects`"
            )
        sources = tuple(str(p) for p in inst.sources(mode))
    return SourcePlan(tuple(dict.fromkeys(sources)), symlinks or "skip")
