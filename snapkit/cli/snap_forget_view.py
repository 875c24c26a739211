"""Rendering of ``snapkit snap --forget``: what the forget and prune after the snapshot did,
or why they did not run, and the exit status (``snap_view`` renders the snapshot)."""

from __future__ import annotations

from typing import Any

import click

from snapkit.cli import forget_view, prune_view, snap_view
from snapkit.cli.common import Settings, emit_json
from snapkit.format.errors import EXIT_GATEWAY_DOWN, EXIT_LOCKED, GatewayDown, SnapkitError
from snapkit.maintain.retention import DEFAULT_GROUP_BY
from snapkit.ops.snap import SnapResult
from snapkit.ops.snap_forget import ForgetOutcome


def finish(settings: Settings, result: SnapResult, outcome: ForgetOutcome) -> None:
    """``snap --forget``: say what the forget and prune did or why they did not run (JSON:
    the summary, with a ``forget`` document), then end with the exit status: 4, 3, then 11
    when the forget could not lock the repository (the snapshot stands), else 0."""
    code = snap_view.exit_code(result.snapshot)
    done = outcome.result
    pruned = prune_view.report(settings, done.prune) if done and done.prune else None
    if outcome.not_run is not None and not code:
        code = EXIT_LOCKED
    if settings.json:
        forget: dict[str, Any] = {"ran": False, "reason": outcome.not_run,
                                  "policy": outcome.policy.describe(), "removed": [],
                                  "prune": None}
        if done is not None:
            forget = {"ran": True, "reason": None,
                      **forget_view.result_json(done, outcome.policy, DEFAULT_GROUP_BY, pruned)}
        summary = snap_view.summary_dict(result.snapshot_id, result.snapshot, code)
        emit_json({**summary, "forget": forget})
    not_run = (f"snapshot {result.snapshot_id[:8]} was saved, but the forget did not run: "
               f"{outcome.not_run}")
    if code == EXIT_GATEWAY_DOWN:
        raise GatewayDown(snap_view.gateway_down_message(result) + "; the forget did not run")
    if outcome.not_run is not None and code == EXIT_LOCKED:
        raise SnapkitError(not_run, EXIT_LOCKED)
    if outcome.not_run is not None:
        click.echo(f"snapkit: warning: {not_run}", err=True)
    if code:
        raise SystemExit(code)
