"""``snapkit schedule install|status|remove`` and the hidden ``schedule run`` the scheduler
starts (:mod:`snapkit.ops.schedule`; rendering in ``schedule_view``)."""

from __future__ import annotations

import functools
import os
from datetime import datetime

import click

from snapkit.cli.common import ProgressLine, Settings, repo_path, with_settings
from snapkit.cli.forget_options import keep_options

_SCHEDULERS = ["systemd", "launchd", "schtasks", "cron"]
_scheduler_option = click.option(
    "--scheduler", type=click.Choice(_SCHEDULERS), default=None,
    help="Look only at this scheduler's job [default: every scheduler's].")


@click.group("schedule")
def schedule() -> None:
    """Take snapshots on a schedule: a systemd timer, LaunchAgent, Scheduled Task or crontab
    line.

    \b
    snapkit schedule install --daily --forget   every day at 03:00, then forget and prune
    snapkit schedule status                     what is installed, the last run and the next
    snapkit schedule remove                     remove exactly what install wrote
    """


@schedule.command("install")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--daily", "every_day", is_flag=True, help="Every day at 03:00 (the default).")
@click.option("--hourly", "every_hour", is_flag=True, help="Every hour, on the hour.")
@click.option("--at", "at", metavar="HH:MM", help="Every day at this local time.")
@click.option("--forget", "forget", is_flag=True,
              help="After each snapshot, forget this host's scheduled snapshots the keep "
                   "policy does not keep, and prune [default policy: the config's "
                   "\"retention\", read at each run].")
@keep_options
@click.option("--mode", default="full", show_default=True, metavar="MODE",
              help="The snapshot's mode (as `snap --mode`).")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Also tag each snapshot TAG (every one is tagged 'scheduled').")
@click.option("--scheduler", type=click.Choice(["auto", *_SCHEDULERS]), default="auto",
              show_default=True,
              help="auto: the first that can run the job here — launchd on macOS, the Task "
                   "Scheduler on Windows, a user systemd that answers, else cron with a "
                   "running cron daemon. A scheduler that cannot run it here is refused "
                   "(exit 2) unless --write-only.")
@click.option("--write-only", is_flag=True,
              help="Write the job even where its scheduler cannot run it now (no user "
                   "systemd, no cron daemon), without enabling it, and print what to run "
                   "to enable it.")
@click.option("--dry-run", "--print", "dry_run", is_flag=True,
              help="Print the files and commands install would write and run; change "
                   "nothing.")
@with_settings
def install(settings: Settings, paths: tuple[str, ...], every_day: bool, every_hour: bool,
            at: str | None, forget: bool, last: int, hourly: int, daily: int, weekly: int,
            monthly: int, yearly: int, within: float | None, keep_tags: tuple[str, ...],
            mode: str, tags: tuple[str, ...], scheduler: str, write_only: bool,
            dry_run: bool) -> None:
    """Install a job that runs `snapkit snap` (with --forget: then `forget --prune`) on a
    schedule, with this repository and config as absolute paths.

    \b
    snapkit schedule install                       daily at 03:00, the OpenClaw installation
    snapkit schedule install --at 12:30 ~/notes    daily at 12:30, another directory
    snapkit schedule install --hourly --forget --keep-hourly 24 --keep-daily 7
    snapkit schedule install --print               show the files and commands, install none
    """
    from snapkit.cli import schedule_view
    from snapkit.maintain.retention import KeepPolicy
    from snapkit.ops.schedule import manage
    from snapkit.ops.schedule.base import Home, Host
    from snapkit.ops.schedule.spec import next_run, parse_schedule

    policy = KeepPolicy(last, hourly, daily, weekly, monthly, yearly, within, keep_tags)
    if not forget and not policy.empty:
        raise click.UsageError("--keep-* options apply with --forget; add --forget")
    when = parse_schedule(every_day, every_hour, at)
    options = manage.RunOptions(
        repo=manage.checked_repo(str(repo_path(settings))),
        config=manage.pinned_config(settings.config),
        paths=tuple(os.path.abspath(os.path.expanduser(p)) for p in paths), mode=mode,
        tags=tags, policy=policy if forget else None)  # empty: the config's retention
    manage.check_sources(options)
    manage.check_passphrase(options.repo)
    note = manage.s3_credentials_note(options.repo)
    if note is not None:
        schedule_view.warn(settings, note)
    home, host, now = Home.from_env(), Host(), datetime.now().astimezone()
    chosen = manage.choose(scheduler, home, host, write_only or dry_run)
    job = manage.make_job(options, when, home)
    if dry_run:
        schedule_view.plan(settings, manage.plan(chosen.scheduler, job, home, now), job,
                           chosen)
        return
    done = manage.install(chosen.scheduler, job, home, host, now, write_only)
    schedule_view.installed(settings, done, job, next_run(when, now),
                            manage.logs_hint(chosen.scheduler, home), chosen)


@schedule.command("status")
@_scheduler_option
@with_settings
def status(settings: Settings, scheduler: str | None) -> None:
    """Show the installed schedule (scheduler, times, the exact command), the last run
    (time, result, exit code, snapshot) and the next run."""
    from snapkit.cli import schedule_view
    from snapkit.ops.schedule import manage
    from snapkit.ops.schedule.base import Home, Host

    home = Home.from_env()
    found = manage.status(home, Host(), datetime.now().astimezone(), scheduler)
    schedule_view.status(settings, found, {name: manage.logs_hint(name, home)
                                           for name in manage.SCHEDULERS})


@schedule.command("remove")
@_scheduler_option
@with_settings
def remove(settings: Settings, scheduler: str | None) -> None:
    """Remove the installed schedule: exactly the files, unit or crontab lines install wrote
    (the last run's record stays)."""
    from snapkit.cli import schedule_view
    from snapkit.ops.schedule import manage
    from snapkit.ops.schedule.base import Home, Host

    done = manage.remove(Home.from_env(), Host(), datetime.now().astimezone(), scheduler)
    schedule_view.removed(settings, done)


@schedule.command("run", hidden=True)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--status-file", required=True, type=click.Path(dir_okay=False),
              help="Where to record the outcome.")
@click.option("--setenv", "setenv", multiple=True, metavar="NAME=VALUE",
              help="Set an environment variable first (the OpenClaw locations at install).")
@click.option("--mode", default="full", show_default=True, metavar="MODE")
@click.option("--tag", "tags", multiple=True, metavar="TAG")
@click.option("--forget", "forget", is_flag=True,
              help="Then forget by the policy (none given: the config's retention), and prune.")
@keep_options
@with_settings
def run(settings: Settings, paths: tuple[str, ...], status_file: str, setenv: tuple[str, ...],
        mode: str, tags: tuple[str, ...], forget: bool, last: int, hourly: int, daily: int,
        weekly: int, monthly: int, yearly: int, within: float | None,
        keep_tags: tuple[str, ...]) -> None:
    """What the scheduler runs: `snap`, then (with --forget) forget and prune; the outcome is
    recorded in --status-file for `schedule status`."""
    from pathlib import Path

    from snapkit.cli import schedule_view, snap_view
    from snapkit.format.errors import EXIT_GATEWAY_DOWN, GatewayDown
    from snapkit.maintain.retention import KeepPolicy
    from snapkit.ops.schedule.run import run_scheduled
    from snapkit.ops.snap import SnapRequest

    for pair in setenv:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--setenv")
        os.environ[name] = value
    policy = KeepPolicy(last, hourly, daily, weekly, monthly, yearly, within, keep_tags)
    request = SnapRequest(paths=paths, tags=tags, mode=mode, config=settings.config)
    line = ProgressLine(settings, interval=0)
    try:
        done = run_scheduled(repo_path(settings), request, policy if forget else None,
                             Path(status_file),
                             on_event=functools.partial(snap_view.on_event, settings, line))
    finally:
        line.clear()
    snap_view.report(settings, done.snap, done.exit_code)
    schedule_view.forgot(settings, done)
    if done.exit_code == EXIT_GATEWAY_DOWN:
        raise GatewayDown(snap_view.gateway_down_message(done.snap))
    if done.exit_code:
        raise SystemExit(done.exit_code)
