"""``snapkit generate``: completion scripts a shell really uses (the candidates come from a
real ``snapkit`` process, as a shell asks) and man pages for every command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli_env, invoke_main

from snapkit.cli.help_page import COMMANDS


def test_completion_scripts_and_the_candidates_they_ask_for(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for shell in ("bash", "zsh", "fish"):
        out = invoke_main(["generate", f"--{shell}-completion", "-"], env)
        assert out.code == 0 and "_SNAPKIT_COMPLETE" in out.stdout, shell
    target = tmp_path / "snapkit.bash"
    assert invoke_main(["generate", "--bash-completion", str(target)], env).code == 0
    assert "complete -o nosort -F _snapkit_completion snapkit" in target.read_text()
    asked = subprocess.run([sys.executable, "-m", "snapkit"], capture_output=True, text=True,
                           env={**env, "_SNAPKIT_COMPLETE": "bash_complete",
                                "COMP_WORDS": "snapkit res", "COMP_CWORD": "1"},
                           timeout=60, check=True)
    assert asked.stdout.split() == ["plain,restore"]
    if shutil.which("bash"):
        script = f"source {target}; complete -p snapkit"
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0 and "_snapkit_completion" in done.stdout, done.stderr


def test_man_pages_for_every_command(tmp_path: Path) -> None:
    out = invoke_main(["generate", "--man", str(tmp_path / "man")], cli_env(tmp_path))
    assert out.code == 0, out.stderr
    pages = {p.name for p in (tmp_path / "man").iterdir()}
    assert {"snapkit.1", *(f"snapkit-{c}.1" for c in COMMANDS)} <= pages
    assert "snapkit-repair-index.1" in pages  # the subcommands of a group too
    restore = (tmp_path / "man" / "snapkit-restore.1").read_text()
    assert restore.startswith('.TH "SNAPKIT-RESTORE" 1') and "\\-\\-target" in restore
    if shutil.which("groff"):
        rendered = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(
            tmp_path / "man" / "snapkit-restore.1")], capture_output=True, text=True,
            timeout=60, check=True)
        assert "--target" in rendered.stdout.replace("\u2010", "-") and rendered.stderr == ""


def test_generate_without_a_choice_says_what_it_can_write(tmp_path: Path) -> None:
    out = invoke_main(["generate"], cli_env(tmp_path))
    assert out.code == 2 and "--bash-completion" in out.stderr


def test_man_pages_to_stdout_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         ) -> None:
    monkeypatch.chdir(tmp_path)
    out = invoke_main(["generate", "--man", "-"], cli_env(tmp_path))
    assert out.code == 2 and "give it a directory" in out.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("args", [["--help"], []])
def test_a_shell_asking_for_completions_is_not_given_the_help_page(
    tmp_path: Path, args: list[str]
) -> None:
    env = {**cli_env(tmp_path), "_SNAPKIT_COMPLETE": "bash_complete", "COMP_WORDS": "snapkit ",
           "COMP_CWORD": "1"}
    asked = subprocess.run([sys.executable, "-m", "snapkit", *args], capture_output=True,
                           text=True, env=env, timeout=60, check=False)
    assert "Usage:" not in asked.stdout
