"""Whether OpenClaw's own ``gateway stop|start`` would refuse to act for this environment.

OpenClaw 2026.9 guards every service mutation (``gateway stop``, ``start``, ``restart``,
``install``…) with ``assertGatewayServiceMutationAllowed`` (``dist/gateway-supervision-*.mjs``,
``isDefaultInstallIdentity`` in ``dist/paths-*.mjs``). It refuses when

* ``OPENCLAW_SUPERVISOR_MODE=external``: an external supervisor owns the gateway's lifecycle;
* ``OPENCLAW_HOME`` is set;
* ``HOME`` is not the account's home (the passwd entry of the user running it);
* ``OPENCLAW_PROFILE`` names a profile that conflicts with the native service identity
  (macOS/Windows: not lowercase; macOS: ``gateway``/``node``), or ``OPENCLAW_SYSTEMD_UNIT`` /
  ``OPENCLAW_LAUNCHD_LABEL`` disagree with the profile's unit/label;
* the state dir (``OPENCLAW_STATE_DIR``, else ``~/.openclaw`` if it exists, else a legacy
  ``~/.clawdbot`` if it exists, else ``~/.openclaw``) is not the profile's canonical
  ``~/.openclaw[-<profile>]``;
* with a named profile or ``OPENCLAW_CONFIG_PATH``, the config path is not
  ``<canonical state dir>/openclaw.json``.

Paths are compared after resolving symlinks, as OpenClaw does. :func:`identity_problem` mirrors
these rules for the environment snapkit runs the commands in and returns the reason, so snapkit
never stops a gateway that ``openclaw gateway start`` would then refuse to bring back. It does
not read OpenClaw's ``.env`` files; a variable set only there makes ``gateway stop`` refuse as
well, and a refused stop leaves the gateway running.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

_PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z", re.IGNORECASE)
STATE_DIRNAME = ".openclaw"
LEGACY_STATE_DIRNAMES = (".clawdbot",)
CONFIG_NAMES = ("openclaw.json", "clawdbot.json")


def account_home() -> str | None:
    """The home directory of this process's user in the passwd database (POSIX), or None."""
    try:
        import pwd
    except ImportError:  # Windows
        return None
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return None


def _value(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    return raw if raw and raw not in ("undefined", "null") else None


def _same(a: str, b: str) -> bool:
    return os.path.realpath(os.path.abspath(a)) == os.path.realpath(os.path.abspath(b))


def _user_path(text: str, home: str) -> str:
    if text == "~" or text.startswith(("~/", "~\\")):
        text = home + text[1:]
    return os.path.abspath(text)


def _profile_conflict(profile: str | None, env: Mapping[str, str], platform: str) -> str | None:
    if profile is None:
        return None
    if platform in ("darwin", "win32"):
        if profile != profile.lower():
            return f'OPENCLAW_PROFILE "{profile}" is not lowercase'
        if platform == "darwin" and profile in ("gateway", "node"):
            return f'OPENCLAW_PROFILE "{profile}" conflicts with a reserved LaunchAgent label'
    if platform == "linux":
        unit = _value(env, "OPENCLAW_SYSTEMD_UNIT")
        expected = f"openclaw-gateway-{profile}.service"
        if unit and (unit if unit.endswith(".service") else unit + ".service") != expected:
            return f"OPENCLAW_SYSTEMD_UNIT={unit} is not the profile's unit {expected}"
    if platform == "darwin":
        label = _value(env, "OPENCLAW_LAUNCHD_LABEL")
        expected = f"ai.openclaw.{profile}"
        if label and label != expected:
            return f"OPENCLAW_LAUNCHD_LABEL={label} is not the profile's label {expected}"
    return None


def _state_dir(env: Mapping[str, str], home: str) -> str:
    override = _value(env, "OPENCLAW_STATE_DIR")
    if override:
        return _user_path(override, home)
    new = os.path.join(home, STATE_DIRNAME)
    if os.path.exists(new):
        return new
    for name in LEGACY_STATE_DIRNAMES:
        legacy = os.path.join(home, name)
        if os.path.exists(legacy):
            return legacy
    return new


def _config_path(env: Mapping[str, str], home: str, state_dir: str) -> str:
    override = _value(env, "OPENCLAW_CONFIG_PATH")
    if override:
        return _user_path(override, home)
    candidates: list[str] = []
    if _value(env, "OPENCLAW_STATE_DIR"):
        candidates += [os.path.join(state_dir, name) for name in CONFIG_NAMES]
    for dirname in (STATE_DIRNAME, *LEGACY_STATE_DIRNAMES):
        candidates += [os.path.join(home, dirname, name) for name in CONFIG_NAMES]
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    return os.path.join(state_dir, CONFIG_NAMES[0])


def identity_problem(env: Mapping[str, str] | None = None, *, platform: str = sys.platform,
                     account: str | None = None) -> str | None:
    """Why OpenClaw's ``gateway stop|start`` would refuse in ``env`` (see the module
    docstring), or None when they would act. ``account`` is the account's home (default:
    :func:`account_home`)."""
    env = os.environ if env is None else env
    mode = env.get("OPENCLAW_SUPERVISOR_MODE", "").strip().lower()
    if mode == "external":
        return "OPENCLAW_SUPERVISOR_MODE=external (an external supervisor manages the gateway)"
    if _value(env, "OPENCLAW_HOME"):
        return "OPENCLAW_HOME is set"
    account = account if account is not None else account_home()
    home = _value(env, "HOME") or _value(env, "USERPROFILE") or account
    if home is None:
        return None  # nothing to compare: OpenClaw falls back to the same place
    home = os.path.abspath(home)
    if account is not None and not _same(home, account):
        return f"HOME ({home}) is not this account's home ({account})"
    raw_profile = _value(env, "OPENCLAW_PROFILE")
    profile = raw_profile if raw_profile and raw_profile.lower() != "default" else None
    if profile is not None and not _PROFILE_NAME.match(profile):
        return f'OPENCLAW_PROFILE "{profile}" is not a valid profile name'
    conflict = _profile_conflict(profile, env, platform)
    if conflict:
        return conflict
    canonical = os.path.join(home, STATE_DIRNAME + (f"-{profile}" if profile else ""))
    state = _state_dir(env, home)
    if not _same(state, canonical):
        return f"the state dir {state} is not the canonical {canonical}"
    if profile is None and not _value(env, "OPENCLAW_CONFIG_PATH"):
        return None
    config = _config_path(env, home, state)
    expected = os.path.join(canonical, CONFIG_NAMES[0])
    if not _same(config, expected):
        return f"the config file {config} is not the canonical {expected}"
    return None
