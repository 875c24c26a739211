"""The service-aware lifecycle: stop the OpenClaw gateway around a snapshot — only when needed,
only when it can be brought back, and never leave the user with a gateway silently down.

OpenClaw's gateway keeps writing while a snapshot runs: session transcripts (``*.jsonl``) grow,
WAL-mode SQLite stores commit, and on Windows a file held open cannot be read at all. The
package is one module per step:

1. :mod:`~snapkit.capture.service.detection` — whether this install's gateway runs (``openclaw
   gateway
   status --json``, and processes matching ``service.process_pattern``, titled
   ``openclaw-gateway``), whether a service manager runs it, which files under the sources are
   open for writing and which SQLite databases are live (:mod:`~snapkit.capture.service.processes`,
   :mod:`~snapkit.capture.service.status`), and whether OpenClaw would refuse ``gateway stop|start``
   for this environment (:mod:`~snapkit.capture.service.identity`).
2. :mod:`~snapkit.capture.service.decision` (pure) — stop or not: ``auto`` only when files need it,
   ``always`` whenever the gateway runs, ``never`` never; and only a gateway snapkit can bring
   back (a service manager runs it, or the user configured ``service.start_command``).
   Otherwise the snapshot is taken with the gateway running (databases go through SQLite's
   online backup API anyway) and one warning says why.
3. :mod:`~snapkit.capture.service.lifecycle` — the context manager the snapshot runs in: stop, wait
   for the files, yield, and in every case start the gateway again, check that it is back,
   retry, and report a gateway left down loudly (the CLI exits with ``EXIT_GATEWAY_DOWN``).

What happened is kept in a :class:`ServiceRecord`, which goes into the snapshot manifest's
``service`` map.
"""

from __future__ import annotations

from snapkit.capture.service.decision import (
    Decision,
    best_effort_note,
    command_text,
    decide,
    restart_blocker,
    shorten,
)
from snapkit.capture.service.detection import Detection, detect, selector
from snapkit.capture.service.identity import identity_problem
from snapkit.capture.service.lifecycle import (
    PROMPT,
    RESTART_ATTEMPTS,
    ServiceRecord,
    gateway_lifecycle,
    gateway_up,
)
from snapkit.capture.service.processes import Selector
from snapkit.capture.service.status import GatewayStatus, parse_status, status_says_running

__all__ = [
    "PROMPT",
    "RESTART_ATTEMPTS",
    "Decision",
    "Detection",
    "GatewayStatus",
    "Selector",
    "ServiceRecord",
    "best_effort_note",
    "command_text",
    "decide",
    "detect",
    "gateway_lifecycle",
    "gateway_up",
    "identity_problem",
    "parse_status",
    "restart_blocker",
    "selector",
    "shorten",
    "status_says_running",
]
