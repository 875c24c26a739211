"""``snapkit generate``: shell completion scripts and man pages, from the commands themselves."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from snapkit import __version__
from snapkit.cli.common import Settings, with_settings

_SHELLS = {"bash_completion": "bash", "zsh_completion": "zsh", "fish_completion": "fish"}


def _root() -> click.Group:
    """The ``snapkit`` group this command runs under."""
    root = click.get_current_context().find_root().command
    assert isinstance(root, click.Group)
    return root


def _completion(shell: str) -> str:
    """click's completion script for ``snapkit`` in ``shell`` (it calls ``snapkit`` back with
    ``_SNAPKIT_COMPLETE`` set to ask for the candidates)."""
    from click.shell_completion import get_completion_class

    cli = _root()
    cls = get_completion_class(shell)
    assert cls is not None, shell
    return cls(cli, {}, "snapkit", "_SNAPKIT_COMPLETE").source()


def _roff(text: str) -> str:
    """Plain help text as roff: escapes, and lines starting with '.' or "'" protected."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line[:1] in (".", "'") else line
                     for line in text.splitlines())


def _page(name: str, command: click.Command, parent: click.Context) -> str:
    ctx = click.Context(command, info_name=name.split()[-1], parent=parent,
                        max_content_width=80, terminal_width=80)
    usage = command.get_usage(ctx).removeprefix("Usage: ")
    help_text = command.get_help(ctx).split("\n", 1)[-1].strip("\n")
    title = name.replace(" ", "-")
    date = time.strftime("%Y-%m-%d", time.gmtime())
    return "\n".join([
        f'.TH "{title.upper()}" 1 "{date}" "snapkit {__version__}" "snapkit manual"',
        ".SH NAME", f"{title} \\- {_roff(command.get_short_help_str(200))}",
        ".SH SYNOPSIS", f".B {_roff(usage)}",
        ".SH DESCRIPTION", ".nf", _roff(help_text), ".fi",
        ".SH SEE ALSO", ".BR snapkit (1)" if name != "snapkit" else
        ", ".join(f".BR snapkit\\-{c} (1)" for c in _names()),
        "",
    ])


def _names() -> list[str]:
    from snapkit.cli.help_page import COMMANDS

    return sorted(COMMANDS)


def man_pages(directory: Path) -> list[Path]:
    """``snapkit.1`` and ``snapkit-<command>.1`` for every command (and subcommand), written
    into ``directory``; the paths written."""
    cli = _root()
    directory.mkdir(parents=True, exist_ok=True)
    root = click.Context(cli, info_name="snapkit", max_content_width=80, terminal_width=80)
    written = []
    pages: list[tuple[str, click.Command, click.Context]] = [("snapkit", cli, root)]
    for name in _names():
        command = cli.get_command(root, name)
        assert command is not None, name
        pages.append((f"snapkit {name}", command, root))
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, info_name=name, parent=root)
            pages += [(f"snapkit {name} {sub}", command.commands[sub], sub_ctx)
                      for sub in sorted(command.commands)]
    for name, command, parent in pages:
        path = directory / f"{re.sub(r'[^A-Za-z0-9-]', '-', name.replace(' ', '-'))}.1"
        path.write_text(_page(name, command, parent if command is not cli else root))
        written.append(path)
    return written


@click.command("generate")
@click.option("--bash-completion", type=click.Path(dir_okay=False, allow_dash=True),
              metavar="FILE", help="Write the bash completion script to FILE ('-': stdout).")
@click.option("--zsh-completion", type=click.Path(dir_okay=False, allow_dash=True),
              metavar="FILE", help="Write the zsh completion script to FILE ('-': stdout).")
@click.option("--fish-completion", type=click.Path(dir_okay=False, allow_dash=True),
              metavar="FILE", help="Write the fish completion script to FILE ('-': stdout).")
@click.option("--man", "man_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write a man page for snapkit and for each command into DIR.")
@with_settings
def generate(settings: Settings, bash_completion: str | None, zsh_completion: str | None,
             fish_completion: str | None, man_dir: str | None) -> None:
    """Write shell completion scripts and man pages.

    \b
    snapkit generate --bash-completion ~/.local/share/bash-completion/completions/snapkit
    snapkit generate --zsh-completion ~/.zfunc/_snapkit
    snapkit generate --man ~/.local/share/man/man1
    """
    chosen = {"bash_completion": bash_completion, "zsh_completion": zsh_completion,
              "fish_completion": fish_completion}
    if not any(chosen.values()) and not man_dir:
        raise click.UsageError("say what to write: --bash-completion, --zsh-completion, "
                               "--fish-completion or --man")
    if man_dir == "-":  # (not a directory named "-": the completions' '-' is stdout)
        raise click.UsageError("--man writes one page per command: give it a directory, "
                               "not '-'")
    for option, target in chosen.items():
        if target is None:
            continue
        script = _completion(_SHELLS[option])
        if target == "-":
            click.echo(script, nl=False)
        else:
            Path(target).write_text(script)
            if not settings.quiet:
                click.echo(f"wrote {target}", err=True)
    if man_dir:
        written = man_pages(Path(man_dir))
        if not settings.quiet:
            click.echo(f"wrote {len(written)} man pages to {man_dir}", err=True)
