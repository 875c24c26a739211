"""Record snapkit's live progress lines in a real terminal (tmux) and check what they show.

Issue 16 asks that "a terminal session recorded with tmux shows the progress line with totals
and ETA". This script makes that recording reproducible:

1. it writes a seeded tree of random files below ``--work`` (the same bytes every run), takes
   a first snapshot of it, unrecorded, so the recorded one has a parent to measure against,
   and writes other bytes into every file (the same names and sizes), so that the recorded
   snapshot reads and stores all of them;
2. it starts a detached tmux session of a fixed size on its own socket (``tmux -L``, so no
   other tmux server is touched) and types, one after the other, ``snapkit snap`` (against
   the parent's totals), ``snapkit restore`` and ``snapkit export`` of the new snapshot;
3. while each runs it captures the pane (``tmux capture-pane -p -e``) every ``--every``
   seconds and writes the frames that changed, with their time, to ``--out``;
4. it checks that, for each command, a frame shows the live line with files done/total, bytes
   done/total, percent, rate, elapsed time and ETA, and exits 1 when one does not.

Run from the checkout, with snapkit installed in the interpreter's environment::

    python docs/recordings/record.py            # writes docs/recordings/progress.txt

Everything it makes is below ``--work`` (default ``/tmp/snapkit-recording``), removed at the
end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOCKET = "snapkit-recording"  # the tmux server's own socket (-L)
SESSION = "progress"
MARKER = ".snapkit-recording"  # in --work: what may be removed
#: The live line with totals: ``12/1,500 files  3.0 MiB/750.2 MiB  0%  120.0 MiB/s  0:02
#: ETA 0:05  path`` (the path may be cut at the pane's width).
LINE = re.compile(r"(?P<files>[\d,]+/[\d,]+) files  (?P<bytes>[\d.]+ \S+/[\d.]+ \S+)  "
                  r"(?P<percent>\d+%)  (?P<rate>[\d.]+ \S+/s)  (?P<elapsed>\d+:\d\d(:\d\d)?)"
                  r"  ETA (?P<eta>\d+:\d\d(:\d\d)?)")


@dataclass(frozen=True)
class Frame:
    command: str
    taken: datetime
    offset_s: float  # since the command was typed
    text: str


def make_tree(root: Path, files: int, max_kib: int, seed: int, day: int) -> int:
    """``files`` files of random bytes (1 KiB to ``max_kib`` KiB) in 20 directories; the
    total size. The same seed gives the same names and sizes, each ``day`` other bytes."""
    sizes, content = random.Random(seed), random.Random(f"{seed}-{day}")
    total = 0
    for i in range(files):
        path = root / f"dir{i % 20:02}" / f"file{i:05}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = sizes.randint(1, max_kib) * 1024
        path.write_bytes(content.randbytes(size))
        total += size
    return total


class Tmux:
    """One detached session on a server of its own."""

    def __init__(self, width: int, height: int, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.status = cwd / "status"  # the shell writes $? there before each prompt
        self.close()  # a server a killed run left on this socket
        self._run("new-session", "-d", "-s", SESSION, "-x", str(width), "-y", str(height),
                  "-c", str(cwd), "bash --norc --noprofile")
        self.type(f"PS1='$ '; PROMPT_COMMAND='echo $? > {self.status}'; clear")

    def _run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", SOCKET, *args], env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def type(self, line: str) -> None:
        self._run("send-keys", "-t", SESSION, line, "Enter")

    def capture(self) -> str:
        lines = self._run("capture-pane", "-p", "-e", "-t", SESSION).rstrip("\n").splitlines()
        return "\n".join(line.rstrip() for line in lines).rstrip("\n")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], env=self.env,
                       capture_output=True, check=False)


def record(tmux: Tmux, name: str, command: str, every: float, timeout: float) -> list[Frame]:
    """Type ``command`` and capture the pane every ``every`` seconds until the shell's next
    prompt; the frames that differ from the one before (the last one: its exit status)."""
    tmux.type("clear")
    time.sleep(0.5)
    tmux.status.unlink(missing_ok=True)
    tmux.type(command)
    start = time.monotonic()
    frames: list[Frame] = []
    while True:
        ended = tmux.status.exists()
        text = tmux.capture()
        if ended:
            code = tmux.status.read_text().strip()
            text += f"\n[record.py: the command ended, exit status {code}]"
        if not frames or text != frames[-1].text:
            frames.append(Frame(name, datetime.now(UTC), time.monotonic() - start, text))
        if ended:
            return frames
        if time.monotonic() - start > timeout:
            raise SystemExit(f"record.py: {name} did not end within {timeout:.0f} s")
        time.sleep(every)


def check(frames: list[Frame], names: list[str]) -> list[str]:
    """For each command, the first frame's live line with every field; a problem per miss."""
    found: list[str] = []
    for name in names:
        hits = [(f, m) for f in frames if f.command == name
                for m in [LINE.search(f.text)] if m]
        if not hits:
            found.append(f"FAIL {name}: no frame shows files done/total, bytes, percent, "
                         "rate, elapsed and ETA")
            continue
        frame, m = hits[0]
        found.append(f"ok   {name}: {len(hits)} frame(s) with the full line; at "
                     f"+{frame.offset_s:.1f} s: files {m['files']}, bytes {m['bytes']}, "
                     f"{m['percent']}, rate {m['rate']}, elapsed {m['elapsed']}, "
                     f"ETA {m['eta']}")
    return found


def write(out: Path, frames: list[Frame], checks: list[str], header: str) -> None:
    parts = [header]
    for i, f in enumerate(frames, 1):
        stamp = f.taken.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        parts.append(f"----- frame {i}  {f.command}  {stamp}  +{f.offset_s:.1f} s -----\n"
                     f"{f.text}\n")
    parts.append("----- checks -----\n" + "\n".join(checks) + "\n")
    out.write_text("\n".join(parts))


def snapkit_exe() -> str:
    here = Path(sys.executable).parent / "snapkit"
    found = str(here) if here.exists() else shutil.which("snapkit")
    if found is None:
        raise SystemExit("record.py: the snapkit command is not installed (pip install -e .)")
    return found


def prepare(work: Path, args: argparse.Namespace) -> tuple[dict[str, str], int]:
    """The tree, its first snapshot and the changes after it; the environment the recorded
    commands run in (everything below ``work``) and the tree's size."""
    if work.exists() and any(work.iterdir()) and not (work / MARKER).exists():
        raise SystemExit(f"record.py: {work} is not empty and not a recording's; pass another "
                         "--work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / MARKER).touch()
    size = make_tree(work / "src", args.files, args.max_kib, args.seed, day=1)
    exe = snapkit_exe()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAPKIT_", "TMUX"))}
    env.update(HOME=str(work / "home"), XDG_CONFIG_HOME=str(work / "xdg-config"),
               XDG_DATA_HOME=str(work / "xdg-data"), XDG_CACHE_HOME=str(work / "xdg-cache"),
               SNAPKIT_REPO=str(work / "repo"), TERM="xterm",
               PATH=f"{Path(exe).parent}{os.pathsep}{env.get('PATH', '')}")
    subprocess.run([exe, "snap", "-q", str(work / "src")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    make_tree(work / "src", args.files, args.max_kib, args.seed, day=2)  # every file changed
    return env, size


def header(args: argparse.Namespace, size: int) -> str:
    version = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    return (f"snapkit's live progress lines, recorded with {version} by\n"
            f"docs/recordings/record.py ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC), pane "
            f"{args.width}x{args.height}.\n"
            f"Data: {args.files:,} files of random bytes, {size / 2**20:,.1f} MiB (seed "
            f"{args.seed}), snapshotted once,\nthen every file rewritten (same names and "
            f"sizes). A frame every {args.every:g} s when the pane changed.\n"
            f"Reproduce: python docs/recordings/record.py --files {args.files} --max-kib "
            f"{args.max_kib} --seed {args.seed}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "progress.txt")
    ap.add_argument("--work", type=Path, default=Path("/tmp/snapkit-recording"))
    ap.add_argument("--files", type=int, default=80_000)
    ap.add_argument("--max-kib", type=int, default=16, help="largest file (KiB)")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--width", type=int, default=132)
    ap.add_argument("--height", type=int, default=8)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between captures")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--keep", action="store_true", help="keep --work")
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("record.py: tmux is not installed (apt-get install tmux)")
    commands = {"snap": "snapkit snap src", "restore": "snapkit restore latest "
                "--target restored", "export": "snapkit export latest -o export.tar.zst"}
    frames: list[Frame] = []
    try:
        env, size = prepare(args.work, args)
        tmux = Tmux(args.width, args.height, env, args.work)
        try:
            for name, command in commands.items():
                frames += record(tmux, name, command, args.every, args.timeout)
        finally:
            tmux.close()
    finally:
        if not args.keep and (args.work / MARKER).exists():  # (never what was there before)
            shutil.rmtree(args.work, ignore_errors=True)
    checks = check(frames, list(commands))
    write(args.out, frames, checks, header(args, size))
    print("\n".join(checks))
    if any(c.startswith("FAIL") for c in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
