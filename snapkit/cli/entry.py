"""The ``snapkit`` console script: ``snapkit --help`` (and a bare ``snapkit``) printed without
importing click, everything else handed to :func:`snapkit.cli.main.main`.

The help page is the one click would print (``snapkit.cli.help_page``; equal at every terminal
width, checked by tests/test_startup.py), at a third of the start-up: the first command a new
user types, and what shells and scripts run to probe the tool.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console entry point."""
    if sys.argv[1:] in ([], ["--help"], ["-h"]):
        from snapkit.cli.help_page import group_help

        sys.stdout.write(group_help())
        sys.stdout.flush()
        sys.exit(0)
    from snapkit.cli.main import main as run

    run()
