"""Encrypted repositories through the CLI: ``snapkit init --encryption`` and its default per
place, the passphrase from ``SNAPKIT_PASSWORD``, ``--password-file`` (``SNAPKIT_PASSWORD_FILE``)
and ``SNAPKIT_PASSWORD_COMMAND``, one-line errors for a wrong or missing passphrase (exit 12),
nothing readable in the store, and export's note that its archive is not encrypted.

Repositories are mostly made in process with the smallest key derivation the format allows,
so that each unlock costs milliseconds; ``snapkit init`` itself tunes scrypt (~0.5 s here).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import (
    assert_trees_equal,
    cli_env,
    make_tree,
    one_line_error,
    restored,
)
from helpers import invoke_own_passphrase as invoke
from s3server import S3Server

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.ops.repo import default_encryption
from snapkit.store.repository import Repository

PASSWORD = "correct horse battery staple"
MARKER = b"KnownPlainContent-of-a-secret-7d41e9"
SECRET_NAME = "giraffe-credentials-file.json"


#: For tests that make a plain repository: the encrypted test mode (``tests/encrypted_mode.py``)
#: makes every repository encrypted.
plain_repositories = pytest.mark.skipif(os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1",
                                        reason="needs plain repositories")


def fast(path: Path, passphrase: str = PASSWORD) -> Repository:
    """An encrypted repository whose key file unlocks in milliseconds."""
    return Repository.init(path, passphrase=passphrase.encode(),
                           kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))


def own_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """:func:`cli_env` for a real process, without the encrypted test mode's passphrase."""
    env = cli_env(tmp_path, **extra)
    env.pop("SNAPKIT_PASSWORD", None)
    return env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """HOME is tmp_path (the repositories below it are in the home directory, on its
    filesystem), the XDG folders below it."""
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
            "OPENCLAW_STATE_DIR": str(tmp_path / "no-openclaw")}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {
        f"d/{SECRET_NAME}": MARKER + os.urandom(4096),  # incompressible: stored as it is
        "d/big.bin": os.urandom(300_000),
        "top.txt": b"hello\n",
    })


# --------------------------------------------------------------------------- init


def test_the_default_encryption_follows_the_place(tmp_path: Path, elsewhere: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "sub").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    assert default_encryption("s3:https://host/bucket/p")[0] == "repokey"
    assert default_encryption(home / "repo") == ("none", "in your home directory")
    assert default_encryption(home / "not" / "yet")[0] == "none"
    assert default_encryption(home / "sub" / ".." / "repo")[0] == "none"
    # outside the home directory, on its filesystem too: /srv/backups, /tmp
    assert default_encryption(tmp_path / "repo") == ("repokey", "outside your home directory")
    assert default_encryption(home / ".." / "repo")[0] == "repokey"
    (home / "out").symlink_to(tmp_path)  # a link in the home to a place outside it
    assert default_encryption(home / "out" / "repo")[0] == "repokey"
    assert default_encryption(elsewhere / "repo") == ("repokey", "outside your home directory")
    # in the home directory, but another filesystem mounted there (a USB disk below ~)
    monkeypatch.setenv("HOME", "/")
    if os.stat("/").st_dev != os.stat(elsewhere).st_dev:
        assert default_encryption(elsewhere / "repo") == (
            "repokey", "on another filesystem than your home directory")


def test_init_outside_the_home_is_encrypted_and_needs_a_passphrase(
        tmp_path: Path, elsewhere: Path, env: dict[str, str]) -> None:
    repo = elsewhere / "repo"
    out = invoke(["init", "--repo", str(repo)], env)
    one_line_error(out, 12, f"{repo} is outside your home directory",
                   "SNAPKIT_PASSWORD", "--encryption none")
    assert not repo.exists()
    out = invoke(["init", "--repo", str(repo)], {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert out.code == 0, out.stderr
    assert out.stdout.startswith("created repository ") and "(encrypted, repokey)" in out.stdout
    assert out.stderr.count("\n") == 1 and "keep the passphrase safe" in out.stderr
    assert "snapkit key add" in out.stderr
    config = (repo / "config").read_text()
    assert '"encryption": "aes-256-gcm"' in config and len(os.listdir(repo / "keys")) == 1
    # outside the home directory on its own filesystem too (`/srv/backups`)
    beside = tmp_path.parent / f"{tmp_path.name}-beside"
    out = invoke(["init", "--repo", str(beside)], env)
    one_line_error(out, 12, f"{beside} is outside your home directory", "--encryption none")
    assert not beside.exists()


@plain_repositories
def test_init_on_another_filesystem_is_plain_when_asked(elsewhere: Path,
                                                        env: dict[str, str]) -> None:
    out = invoke(["init", "--repo", str(elsewhere / "plain"), "--encryption", "none", "--json"],
                 env)
    assert out.code == 0, out.stderr
    assert out.json()["encrypted"] is False and out.stderr == ""


@plain_repositories
def test_init_in_the_home_filesystem_is_plain_unless_asked(tmp_path: Path,
                                                           env: dict[str, str]) -> None:
    out = invoke(["init", "--repo", str(tmp_path / "plain"), "--json"], env)
    assert out.code == 0, out.stderr
    made = out.json()
    assert (made["encrypted"], made["encryption"], made["version"], made["key"]) == (
        False, "none", 1, None)
    out = invoke(["init", "--repo", str(tmp_path / "enc"), "--encryption", "repokey",
                  "--json"], {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert out.code == 0, out.stderr
    made = out.json()
    assert (made["encrypted"], made["encryption"], made["version"]) == (True, "repokey", 2)
    assert os.listdir(tmp_path / "enc" / "keys") == [made["key"]]
    assert out.stderr == ""  # --json: no note
    # asked for encryption without a passphrase anywhere: one line, nothing created
    out = invoke(["init", "--repo", str(tmp_path / "enc2"), "--encryption", "repokey"], env)
    one_line_error(out, 12, "encrypting needs a passphrase")
    assert not (tmp_path / "enc2").exists()
    # an existing repository is named before any passphrase is asked for
    out = invoke(["init", "--repo", str(tmp_path / "enc"), "--encryption", "repokey"], env)
    one_line_error(out, 2, "a repository already exists")


@plain_repositories
def test_the_first_snap_creates_a_repository_only_where_it_would_be_plain(
        tmp_path: Path, elsewhere: Path, env: dict[str, str], src: Path) -> None:
    out = invoke(["snap", str(src), "--repo", str(elsewhere / "r")], env)
    one_line_error(out, 10, f"no repository at {elsewhere / 'r'}",
                   f"snapkit init --repo {elsewhere / 'r'}")
    assert not (elsewhere / "r").exists()
    out = invoke(["snap", str(src), "--repo", str(tmp_path / "r")], env)
    assert out.code == 0, out.stderr
    assert out.stderr == (f"created a new repository at {tmp_path / 'r'} (not encrypted: it is in "
                          "your home directory; `snapkit init --encryption repokey` makes an "
                          "encrypted one)\n")
    assert not Repository.open(tmp_path / "r").config.encrypted


# --------------------------------------------------------------------------- the passphrase


def test_round_trip_with_each_passphrase_source(tmp_path: Path, env: dict[str, str],
                                                src: Path) -> None:
    fast(tmp_path / "repo")
    env = {**env, "SNAPKIT_REPO": str(tmp_path / "repo")}
    out = invoke(["snap", str(src), "--json"], {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert out.code == 0, out.stderr
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)  # (else each use warns: keep it 0600)
    command = f"{sys.executable} -c \"print('{PASSWORD}')\""
    for i, (args, extra) in enumerate([
        (["--password-file", str(pw)], {}),  # before the command
        ([], {"SNAPKIT_PASSWORD_FILE": str(pw)}),
        ([], {"SNAPKIT_PASSWORD_COMMAND": command}),
        ([], {"SNAPKIT_PASSWORD_FILE": str(tmp_path / "missing")}),  # replaced by the option
    ]):
        after = ["--password-file", str(pw)] if i == 3 else []
        out = invoke([*args, "restore", "latest", "--target", str(tmp_path / f"t{i}"), *after],
                     {**env, **extra})
        assert out.code == 0, out.stderr
        assert_trees_equal(src, restored(tmp_path / f"t{i}", src))
    # the option beats the variable: a wrong file named by the option fails
    bad = tmp_path / "bad"
    bad.write_text("not it")
    bad.chmod(0o600)
    out = invoke(["snapshots", "--password-file", str(bad)],
                 {**env, "SNAPKIT_PASSWORD_FILE": str(pw)})
    one_line_error(out, 12, "wrong passphrase for")


def test_a_wrong_or_missing_passphrase_is_one_line_exit_12(tmp_path: Path,
                                                           env: dict[str, str]) -> None:
    fast(tmp_path / "repo")
    env = {**env, "SNAPKIT_REPO": str(tmp_path / "repo")}
    for args in (["snapshots"], ["check"], ["key", "list"]):
        line = one_line_error(invoke(args, {**env, "SNAPKIT_PASSWORD": "wrong"}), 12,
                              f"wrong passphrase for {tmp_path / 'repo'}")
        assert "wrong\n" not in line and "'wrong'" not in line
        one_line_error(invoke(args, env), 12, "encrypted and no passphrase was given",
                       "SNAPKIT_PASSWORD_FILE")
    out = invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD_COMMAND": "false"})
    one_line_error(out, 2, "SNAPKIT_PASSWORD_COMMAND failed (exit 1); it must print the "
                   "passphrase and exit 0: run it yourself to see what fails")
    out = invoke(["snapshots", "--password-file", str(tmp_path / "nope")], env)
    one_line_error(out, 2, "cannot read the password file")


def test_real_processes_round_trip_and_refuse(tmp_path: Path, src: Path) -> None:
    fast(tmp_path / "repo")
    env = own_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"),
                  SNAPKIT_PASSWORD_COMMAND=f"{sys.executable} -c \"print('{PASSWORD}')\"")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "snapkit", *args], env={**env, **extra},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120, check=False)

    p = run("snap", str(src))
    assert p.returncode == 0, p.stderr
    p = run("restore", "latest", "--target", str(tmp_path / "t"))
    assert p.returncode == 0, p.stderr
    assert_trees_equal(src, restored(tmp_path / "t", src))
    p = run("snapshots", SNAPKIT_PASSWORD_COMMAND=f"{sys.executable} -c \"print('nope')\"")
    assert p.returncode == 12 and p.stderr.count("\n") == 1, p.stderr
    assert p.stderr.startswith("snapkit: error: wrong passphrase") and "Traceback" not in p.stderr
    p = run("snapshots", SNAPKIT_PASSWORD_COMMAND="")  # none at all, no terminal
    assert p.returncode == 12 and p.stderr.count("\n") == 1, p.stderr
    assert "no passphrase was given" in p.stderr


# --------------------------------------------------------------------------- at rest, export


@plain_repositories
def test_the_store_holds_no_content_and_no_names(tmp_path: Path, env: dict[str, str],
                                                 src: Path) -> None:
    fast(tmp_path / "enc")
    needles = [MARKER, SECRET_NAME.encode(), str(src).encode()]
    for repo in ("enc", "plain"):
        out = invoke(["snap", str(src), "--repo", str(tmp_path / repo)],
                     {**env, "SNAPKIT_PASSWORD": PASSWORD})
        assert out.code == 0, out.stderr
    stored = {repo: b"".join(f.read_bytes() for f in (tmp_path / repo).rglob("*")
                             if f.is_file()) for repo in ("enc", "plain")}
    assert MARKER in stored["plain"]  # (the search finds content where it is plain)
    for needle in needles:
        assert needle not in stored["enc"], needle


@plain_repositories
def test_export_of_an_encrypted_repository_says_the_archive_is_not(
        tmp_path: Path, env: dict[str, str], src: Path) -> None:
    fast(tmp_path / "repo")
    env = {**env, "SNAPKIT_REPO": str(tmp_path / "repo"), "SNAPKIT_PASSWORD": PASSWORD}
    assert invoke(["snap", str(src)], env).code == 0
    out = invoke(["export", "latest", "-o", str(tmp_path / "a.tar.gz")], env)
    assert out.code == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if "not" in line]
    assert len(notes) == 1 and notes[0].startswith("snapkit: note: the repository is "
                                                   "encrypted, the archive is not"), out.stderr
    assert "age -r" in notes[0]
    out = invoke(["export", "latest", "-o", "-"], env)  # to stdout: a plain tar.gz still
    assert out.code == 0 and "age -r" in out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout_bytes), mode="r:gz") as tar:
        assert any(name.endswith(SECRET_NAME) for name in tar.getnames())
    assert "age -r" not in invoke(["export", "latest", "-q", "-o", "-"], env).stderr
    # a plain repository: no note
    plain = {**env, "SNAPKIT_REPO": str(tmp_path / "plain")}
    assert invoke(["snap", str(src)], plain).code == 0
    out = invoke(["export", "latest", "-o", str(tmp_path / "b.tar.gz")], plain)
    assert out.code == 0 and "not encrypted" not in out.stderr and "age" not in out.stderr


def test_a_scheduled_job_carries_where_the_passphrase_is_never_the_passphrase(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from snapkit.ops.schedule.manage import RunOptions, run_argv

    monkeypatch.chdir(tmp_path)
    argv = run_argv(RunOptions(repo="/r"), tmp_path / "status.json",
                    {"SNAPKIT_PASSWORD_FILE": "pw", "SNAPKIT_PASSWORD_COMMAND": "pass snapkit",
                     "SNAPKIT_PASSWORD": "secret"})
    assert f"SNAPKIT_PASSWORD_FILE={tmp_path / 'pw'}" in argv  # made absolute
    assert "SNAPKIT_PASSWORD_COMMAND=pass snapkit" in argv
    assert not [a for a in argv if "secret" in a]


# --------------------------------------------------------------------------- on a terminal


def on_terminal(args: Sequence[str], env: dict[str, str], answers: Sequence[str],
                timeout: float = 120) -> tuple[int, str]:
    """Run ``python -m snapkit ARGS`` on a real pseudo-terminal, typing each answer when its
    passphrase prompt appears; the exit code and everything the terminal showed."""
    import pty
    import re
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: snapkit, with the pty as its controlling terminal
        try:
            os.execve(sys.executable, [sys.executable, "-m", "snapkit", *args], env)
        finally:
            os._exit(127)
    shown, typed, deadline = b"", 0, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child is gone
                    break
                if not chunk:
                    break
                shown += chunk
            prompts = len(re.findall(rb"[Pp]assphrase: ", shown))
            if typed < prompts <= len(answers):
                os.write(fd, answers[typed].encode() + b"\n")
                typed += 1
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX pseudo-terminals")
def test_the_passphrase_is_asked_on_a_terminal(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    env = own_env(tmp_path, SNAPKIT_REPO=str(repo))
    code, shown = on_terminal(["init", "--encryption", "repokey"], env, ["one", "two"])
    assert code == 2 and "the passphrases do not match" in shown, shown
    assert not repo.exists()
    code, shown = on_terminal(["init", "--encryption", "repokey"], env, [PASSWORD, PASSWORD])
    assert code == 0 and "New passphrase: " in shown and "Repeat the passphrase: " in shown
    assert PASSWORD not in shown  # never echoed
    assert "(encrypted, repokey)" in shown and "keep the passphrase safe" in shown
    assert "encrypted by default" not in shown  # (chosen: no note why)
    usb = tmp_path.parent / f"{tmp_path.name}-usb"  # outside the home: encrypted by default
    code, shown = on_terminal(["init", "--repo", str(usb)], env, [PASSWORD, PASSWORD])
    assert code == 0, shown
    assert (f"snapkit: note: {usb} is outside your home directory, so it is encrypted by "
            "default (--encryption none for a plain one); choose its passphrase") in shown
    assert shown.index("choose its passphrase") < shown.index("New passphrase: ")
    shutil.rmtree(usb)
    code, shown = on_terminal(["snapshots"], env, [PASSWORD])
    assert code == 0 and shown.count("assphrase: ") == 1 and "no snapshots" in shown, shown
    code, shown = on_terminal(["snapshots"], env, ["wrong"])
    assert code == 12 and "wrong passphrase for" in shown, shown
    # key add: the current passphrase, then the new one twice
    code, shown = on_terminal(["key", "add"], env, [PASSWORD, "spare", "spare"])
    assert code == 0 and "added key" in shown and "2 keys now open" in shown, shown


# --------------------------------------------------------------------------- on S3


def test_an_s3_repository_is_encrypted_by_default(tmp_path: Path, s3_server: S3Server,
                                                  src: Path) -> None:
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "laptop")
    env = {k: v for k, v in own_env(tmp_path).items() if not k.startswith("AWS_")}
    env.update(s3_server.env(), SNAPKIT_REPO=loc)
    out = invoke(["init"], env)
    one_line_error(out, 12, f"{loc} is an S3 repository, so it is encrypted by default",
                   "--encryption none")
    env["SNAPKIT_PASSWORD"] = PASSWORD
    out = invoke(["init", "--json"], env)
    assert out.code == 0, out.stderr
    assert out.json()["encrypted"] is True
    assert invoke(["snap", str(src)], env).code == 0
    out = invoke(["restore", "latest", "--target", str(tmp_path / "t")], env)
    assert out.code == 0, out.stderr
    assert_trees_equal(src, restored(tmp_path / "t", src))
    client = s3_server.client()
    keys = s3_server.keys(bucket)
    assert [k for k in keys if k.startswith("laptop/keys/")]
    for key in keys:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert MARKER not in body and SECRET_NAME.encode() not in body, key
    one_line_error(invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD": "wrong"}), 12,
                   f"wrong passphrase for {loc}")


@plain_repositories
def test_copy_re_keys_between_encrypted_and_plain_repositories(
        tmp_path: Path, env: dict[str, str], src: Path) -> None:
    """Both directions copy (ids re-keyed; tests/test_copy_rekey.py has the whole story),
    the passphrase given once serving both, and each destination checks clean."""
    fast(tmp_path / "enc")
    Repository.init(tmp_path / "plain")
    env = {**env, "SNAPKIT_PASSWORD": PASSWORD}
    assert invoke(["snap", str(src), "--repo", str(tmp_path / "enc")], env).code == 0
    assert invoke(["snap", str(src), "--repo", str(tmp_path / "plain")], env).code == 0
    for source, to in (("enc", "plain"), ("plain", "enc")):
        out = invoke(["copy", "--repo", str(tmp_path / source), "--to", str(tmp_path / to),
                      "--json"], env)
        assert out.code == 0 and out.json()["snapshots_copied"] == 1, out.stderr
        assert invoke(["check", "--read-data", "--repo", str(tmp_path / to)], env).code == 0


def test_a_scheduled_job_opens_an_encrypted_repository_or_is_not_installed(
        tmp_path: Path, env: dict[str, str], src: Path) -> None:
    import json

    from helpers import REPO_ROOT

    fast(tmp_path / "repo")
    env = {**env, "SNAPKIT_REPO": str(tmp_path / "repo")}
    install = ["schedule", "install", "--dry-run", "--scheduler", "cron", str(src)]
    out = invoke(install, {**env, "SNAPKIT_PASSWORD": PASSWORD})  # never carried: refused
    one_line_error(out, 2, "is encrypted and a scheduled job has no terminal",
                   "--password-file")
    bad = tmp_path / "bad"
    bad.write_text("wrong\n")
    bad.chmod(0o600)  # (else each use warns: keep it 0600)
    one_line_error(invoke([*install, "--password-file", str(bad)], env), 12, "wrong passphrase",
                   f"the passphrase from the password file {bad} opens none")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)
    out = invoke([*install, "--password-file", str(pw), "--json"], env)
    assert out.code == 0, out.stderr
    command = json.loads(out.stdout)["command"]
    assert f"SNAPKIT_PASSWORD_FILE={pw}" in command
    # the job's command as cron runs it: a small environment, no terminal
    job = subprocess.run(command, env={"HOME": env["HOME"], "PATH": "/usr/bin:/bin",
                                       "PYTHONPATH": str(REPO_ROOT),
                                       "XDG_CACHE_HOME": env["XDG_CACHE_HOME"]},
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=120, check=False)
    assert job.returncode == 0, job.stderr
    assert len(Repository.open(tmp_path / "repo", lambda: PASSWORD.encode()).snapshots()) == 1
