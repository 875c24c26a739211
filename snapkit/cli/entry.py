"""The ``snapkit`` console script: ``snapkit --help`` (and a bare ``snapkit``) printed without
importing click, everything else handed to :func:`snapkit.cli.main.main`.

The help page is the one click would print (``snapkit.cli.help_page``; equal at every terminal
width, checked by tests/test_startup.py), at a third of the start-up: the first command a new
user types, and what shells and scripts run to probe the tool.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Console entry point."""
    # (a shell asking for completions runs a bare `snapkit` with _SNAPKIT_COMPLETE set)
    if sys.argv[1:] in ([], ["--help"], ["-h"]) and "_SNAPKIT_COMPLETE" not in os.environ:
        from snapkit.cli.help_page import group_help

        try:
            sys.stdout.write(group_help())
            sys.stdout.flush()
        except BrokenPipeError:  # `snapkit --help | head -1`: as the full CLI, no traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        sys.exit(0)
    from snapkit.cli.main import main as run

    run()
