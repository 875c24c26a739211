"""Scheduled snapshots: ``snapkit schedule install|status|remove`` and the hidden
``schedule run`` the scheduler starts.

One job per user, written for the scheduler the machine has: a systemd user timer and service
(:mod:`.systemd`), a launchd LaunchAgent (:mod:`.launchd`), a Windows Scheduled Task
(:mod:`.schtasks`), or a crontab line (:mod:`.cron`). Each module renders its files as pure
functions, and reads them back for ``status``. The job runs one command, the same on every
scheduler (:func:`.manage.run_argv`), whose outcome ``schedule run`` records in a status file
(:mod:`.record`); :mod:`.manage` installs, inspects and removes; :mod:`.run` takes the
snapshot (and the forget) and writes that record.
"""
