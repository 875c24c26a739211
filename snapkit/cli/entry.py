"""The ``snapkit`` console script: ``snapkit --help`` (and a bare ``snapkit``) printed without
importing click, everything else handed to :func:`snapkit.cli.main.main`.

The help page is the one click would print (``snapkit.cli.help_page``; equal at every terminal
width, checked by tests/test_startup.py), at a third of the start-up: the first command a new
user types, and what shells and scripts run to probe the tool.

Once the command has ended (its exit code decided, every ``with`` block left), the process
exits without the interpreter's teardown — freeing every module and object one by one, 10 ms
of a ``snapkit snapshots`` — after doing what that teardown would do that matters: the other
threads joined, the ``atexit`` handlers run, stdout and stderr flushed. Not under a tracer or
profiler (coverage, cProfile, a debugger), which write their results at teardown.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


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
        except (OSError, AttributeError) as exc:  # a full disk; no stdout at all (`>&-`)
            if sys.stderr is not None:
                sys.stderr.write(f"snapkit: error: cannot write the help: "
                                 f"{getattr(exc, 'strerror', None) or 'no standard output'}\n")
            os._exit(1)
        sys.exit(0)
    try:
        from snapkit.cli.main import main as run

        run()
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # Ctrl-C while the modules load, before the CLI handles it
        if sys.stderr is not None:
            sys.stderr.write("snapkit: interrupted; nothing was done\n")
        code = 130
    else:
        code = 0
    _exit(code)


def _exit(code: str | int | None) -> None:
    """Exit with ``code`` (as ``sys.exit`` would take it) without the interpreter's teardown;
    see the module docstring."""
    shutdown = getattr(threading, "_shutdown", None)
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if sys.gettrace() or sys.getprofile() or shutdown is None or run_exitfuncs is None:
        sys.exit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, exit 1
        if sys.stderr is not None:
            sys.stderr.write(f"{code}\n")
        code = 1
    shutdown()  # the other threads joined, as at a normal exit
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with that descriptor closed (`2>&-`)
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`snapkit snapshots | head -1`)
            code = code or 1
    os._exit(code)
