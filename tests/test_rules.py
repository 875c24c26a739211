"""Table tests for snapkit.select.rules, plus a seeded-random comparison with `git check-ignore`."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from snapkit.select.rules import IGNORE_FILE, Matcher, RuleSet
from snapkit.select.sizes import format_size, parse_size

F, D = False, True  # is_dir


def excluded(rules: RuleSet, relpath: str, is_dir: bool, size: int | None = None) -> str | None:
    return Matcher(rules).excluded(relpath, is_dir, size)


def patterns(*lines: str) -> RuleSet:
    return RuleSet("user rules", exclude=lines)


# --------------------------------------------------------------------------- gitignore syntax

PATTERN_CASES = [
    # anchoring
    (["/logs/"], "logs", D, "pattern /logs/"),
    (["/logs/"], "a/logs", D, None),
    (["logs/"], "logs", D, "pattern logs/"),
    (["logs/"], "a/b/logs", D, "pattern logs/"),
    (["logs"], "a/logs", F, "pattern logs"),
    (["a/logs"], "a/logs", D, "pattern a/logs"),
    (["a/logs"], "x/a/logs", D, None),
    (["/a/logs"], "a/logs", F, "pattern /a/logs"),
    (["a/*.txt"], "a/x.txt", F, "pattern a/*.txt"),
    (["a/*.txt"], "a/b/x.txt", F, None),
    # "**" forms
    (["**/logs"], "logs", D, "pattern **/logs"),
    (["**/logs"], "a/b/logs", F, "pattern **/logs"),
    (["**/logs/x"], "a/logs/x", F, "pattern **/logs/x"),
    (["**/logs/x"], "logs/x", F, "pattern **/logs/x"),
    (["a/**"], "a/b", F, "pattern a/**"),
    (["a/**"], "a/b/c/d", F, "pattern a/**"),
    (["a/**"], "a", D, None),
    (["a/**/b"], "a/b", F, "pattern a/**/b"),
    (["a/**/b"], "a/x/y/b", D, "pattern a/**/b"),
    (["a/**/b"], "a/xb", F, None),
    (["a**b"], "axyb", F, "pattern a**b"),  # not next to "/": a plain "*"
    (["/a**b"], "ax/yb", F, None),
    (["**"], "x/y", F, "pattern **"),
    # "*", "?", classes
    (["*.log"], "a/b.log", F, "pattern *.log"),
    (["*.log"], "b.LOG", F, None),
    (["*"], ".hidden", F, "pattern *"),
    (["?.txt"], "a.txt", F, "pattern ?.txt"),
    (["?.txt"], "ab.txt", F, None),
    (["/?/x"], "a/x", F, "pattern /?/x"),
    (["[ab].txt"], "b.txt", F, "pattern [ab].txt"),
    (["[ab].txt"], "c.txt", F, None),
    (["[!ab].txt"], "c.txt", F, "pattern [!ab].txt"),
    (["[^ab].txt"], "a.txt", F, None),
    (["[a-c]x"], "bx", F, "pattern [a-c]x"),
    (["[a-c]x"], "dx", F, None),
    (["[]]x"], "]x", F, "pattern []]x"),
    (["[[:digit:]]*"], "7up", F, "pattern [[:digit:]]*"),
    (["[[:digit:]]*"], "up", F, None),
    (["x[ab"], "x[ab", F, None),  # unterminated class never matches (like git)
    (["a/[!b]/c"], "a/x/c", F, "pattern a/[!b]/c"),
    # negation, last match wins
    (["*.log", "!keep.log"], "keep.log", F, None),
    (["*.log", "!keep.log"], "a/drop.log", F, "pattern *.log"),
    (["!keep.log", "*.log"], "keep.log", F, "pattern *.log"),
    (["logs/", "!logs/"], "logs", D, None),
    (["*", "!*/", "!*.json"], "a/b.json", F, None),
    (["*", "!*/", "!*.json"], "a/b.txt", F, "pattern *"),
    (["*", "!*/", "!*.json"], "a", D, None),
    # directory-only
    (["logs/"], "logs", F, None),
    (["logs/"], "a/logs", F, None),
    (["a/b/"], "a/b", F, None),
    (["a/b/"], "a/b", D, "pattern a/b/"),
    # comments, escapes, trailing spaces
    (["#x"], "#x", F, None),
    (["\\#x"], "#x", F, "pattern \\#x"),
    (["\\!x"], "!x", F, "pattern \\!x"),
    (["x", "\\!x"], "x", F, "pattern x"),
    (["x   "], "x", F, "pattern x"),
    (["x\\ "], "x ", F, "pattern x\\ "),
    (["x\\ "], "x", F, None),
    (["", "   ", "# only comments"], "x", F, None),
    (["a\\*b"], "a*b", F, "pattern a\\*b"),
    (["a\\*b"], "axb", F, None),
    (["x\r\n"], "x", F, "pattern x"),
    # case-sensitive patterns
    (["Logs/"], "logs", D, None),
]


@pytest.mark.parametrize(("lines", "relpath", "is_dir", "reason"), PATTERN_CASES)
def test_gitignore_patterns(
    lines: list[str], relpath: str, is_dir: bool, reason: str | None
) -> None:
    assert excluded(patterns(*lines), relpath, is_dir) == reason


# --------------------------------------------------------------------------- config name rules

DEFAULTS = RuleSet(
    "openclaw defaults",
    excluded_extensions=("log", ".TMP", "tar.gz"),
    excluded_folders=("node_modules", ".git", "*.egg-info", "cache/"),
    excluded_files=(".DS_Store", "openclaw.json.bak*", "*.jsonl.bak-*"),
)

KEEP_LOG = RuleSet("r", excluded_extensions=("log",), exclude=("!keep.log",))
BUILD = RuleSet("r", excluded_folders=("build",), exclude=("!/build/",))
NAME_CASES = [
    (DEFAULTS, "node_modules", D, "folder node_modules"),
    (DEFAULTS, "a/b/node_modules", D, "folder node_modules"),
    (DEFAULTS, "node_modules", F, None),  # folders only
    (DEFAULTS, "x/pkg.egg-info", D, "folder *.egg-info"),
    (DEFAULTS, "x/pkg.egg-info", F, None),
    (DEFAULTS, "cache", D, "folder cache/"),
    (DEFAULTS, ".DS_Store", F, "file .DS_Store"),
    (DEFAULTS, "a/.DS_Store", F, "file .DS_Store"),
    (DEFAULTS, "a/.DS_Store", D, None),  # files only
    (DEFAULTS, "openclaw.json.bak", F, "file openclaw.json.bak*"),
    (DEFAULTS, "openclaw.json.bak.3", F, "file openclaw.json.bak*"),
    (DEFAULTS, "openclaw.json", F, None),
    (DEFAULTS, "agents/main/sessions/s1.jsonl.bak-2024", F, "file *.jsonl.bak-*"),
    (DEFAULTS, "s1.jsonl", F, None),
    # extensions: with or without the dot, case-insensitive, files only, multi-part
    (DEFAULTS, "gateway.log", F, "extension .log"),
    (DEFAULTS, "a/b/GATEWAY.Log", F, "extension .log"),
    (DEFAULTS, ".log", F, "extension .log"),
    (DEFAULTS, "x.tmp", F, "extension .TMP"),
    (DEFAULTS, "x.log", D, None),
    (DEFAULTS, "log", F, None),
    (DEFAULTS, "x.logs", F, None),
    (DEFAULTS, "x.log.1", F, None),
    (DEFAULTS, "a.b.tar.gz", F, "extension .tar.gz"),
    (DEFAULTS, "a.gz", F, None),
    (DEFAULTS, "README.md", F, None),
    # evaluation order: exclude comes after the name rules, last match wins
    (KEEP_LOG, "keep.log", F, None),
    (KEEP_LOG, "a.log", F, "extension .log"),
    (BUILD, "build", D, None),
    (BUILD, "a/build", D, "folder build"),
    (RuleSet("r", excluded_files=("x",), exclude=("x",)), "x", F, "pattern x"),
    (RuleSet("r", excluded_folders=("x",), excluded_files=("x",)), "x", F, "file x"),
    (RuleSet("r", excluded_folders=("x",), excluded_files=("x",)), "x", D, "folder x"),
    (RuleSet("r", excluded_extensions=("log",), exclude=("!*.log",)), "a.LOG", F, "extension .log"),
    (RuleSet("r", excluded_extensions=("log",), exclude=("!*.log",)), "a.log", F, None),
    (RuleSet("r", exclude=("*.log", "!*.LOG")), "a.log", F, "pattern *.log"),
]


@pytest.mark.parametrize(("rules", "relpath", "is_dir", "reason"), NAME_CASES)
def test_name_rules(rules: RuleSet, relpath: str, is_dir: bool, reason: str | None) -> None:
    assert excluded(rules, relpath, is_dir) == reason


# --------------------------------------------------------------------------- .snapkitignore


def test_snapkitignore_scoping() -> None:
    root = Matcher(RuleSet("user rules", exclude=("*.bak",), excluded_extensions=("log",)))
    top = root.child("", ["/scratch/", "*.tmp"])
    ws = top.child("workspace", ["*.tmp2", "/build/", "!important.log", "!keep.tmp", "# c"])
    inner = ws.child("workspace/sub", ["!*.tmp2", "*.md"])
    label = ".snapkitignore workspace/.snapkitignore: "
    cases = [
        (top, "scratch", D, ".snapkitignore .snapkitignore: /scratch/"),
        (top, "a/scratch", D, None),
        (top, "a/x.tmp", F, ".snapkitignore .snapkitignore: *.tmp"),
        (ws, "workspace/a/x.tmp2", F, label + "*.tmp2"),
        (ws, "workspace/build", D, label + "/build/"),
        (ws, "workspace/a/build", D, None),  # anchored to the ignore file's directory
        (ws, "build", D, None),
        (ws, "other/x.tmp2", F, None),  # siblings are not affected
        (ws, "workspace.tmp2", F, None),
        (ws, "workspace", D, None),  # nor the directory itself
        (ws, "workspace/important.log", F, None),  # re-includes a config exclusion
        (ws, "workspace/other.log", F, "extension .log"),
        (ws, "workspace/keep.tmp", F, None),  # inner overrides outer
        (ws, "workspace/drop.tmp", F, ".snapkitignore .snapkitignore: *.tmp"),
        (ws, "workspace/x.bak", F, "pattern *.bak"),
        (inner, "workspace/sub/x.tmp2", F, None),
        (inner, "workspace/x.tmp2", F, label + "*.tmp2"),
        (inner, "workspace/sub/a/x.md", F, ".snapkitignore workspace/sub/.snapkitignore: *.md"),
    ]
    for matcher, relpath, is_dir, reason in cases:
        assert matcher.excluded(relpath, is_dir) == reason, (relpath, is_dir)


@pytest.mark.parametrize("lines", [[], ["", "# comment", "   "], ["/"]])
def test_child_without_patterns_is_the_same_matcher(lines: list[str]) -> None:
    matcher = Matcher(RuleSet("r"))
    assert matcher.child("a", lines) is matcher
    assert IGNORE_FILE == ".snapkitignore"


def test_child_shares_compiled_layers() -> None:
    matcher = Matcher(RuleSet("r", exclude=("x",)))
    one, two = matcher.child("a", ["*.tmp"]), matcher.child("b", ["*.tmp"])
    assert one._layers[0][1] is two._layers[0][1]
    assert one._layers[1] is matcher._layers[0]


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (1024, 1024),
        (0, 0),
        ("0", 0),
        ("512", 512),
        ("512B", 512),
        ("500k", 500 * 1024),
        ("500 KB", 500 * 1024),
        ("500KiB", 500 * 1024),
        ("10M", 10 << 20),
        ("10mb", 10 << 20),
        ("1.5 GiB", 3 << 29),
        (" 2g ", 2 << 30),
        ("1T", 1 << 40),
        ("0.5k", 512),
        (".5M", 1 << 19),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "M", "ten", "10 X", "10 iB", "-1", -1, "1e3", "10 MM", True, 1.5]
)
def test_parse_size_rejects_garbage(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (10 << 20, "10.0 MiB"),
        (3 << 29, "1.5 GiB"),
        (5 << 40, "5.0 TiB"),
        (5 << 50, "5120.0 TiB"),
        (-4, "-4 B"),  # a shrink (diff)
        (-1536, "-1.5 KiB"),
        (1536.0, "1.5 KiB"),  # a rate (bytes per second)
    ],
)
def test_format_size(size: float, text: str) -> None:
    assert format_size(size) == text


SIZED = dataclasses.replace(KEEP_LOG, max_file_size=parse_size("10M"))


@pytest.mark.parametrize(
    ("relpath", "is_dir", "size", "reason"),
    [
        ("a.bin", F, 10 << 20, None),  # strictly larger only
        ("a.bin", F, (10 << 20) + 1, "size > 10.0 MiB"),
        ("a.bin", F, None, None),
        ("dir", D, 1 << 40, None),  # files only
        ("a.log", F, 1 << 40, "extension .log"),  # patterns first
        ("keep.log", F, 1 << 40, "size > 10.0 MiB"),  # re-included, but too large
    ],
)
def test_max_file_size(relpath: str, is_dir: bool, size: int | None, reason: str | None) -> None:
    assert excluded(SIZED, relpath, is_dir, size) == reason


# --------------------------------------------------------------------------- include (modes)

CONFIG_ONLY = RuleSet(
    "openclaw defaults",
    excluded_extensions=("log",),
    include=(
        "openclaw.json",
        ".env",
        "secrets.json",
        "credentials/**",
        "agents/*/agent/auth-profiles.json",
        "agents/*/agent/auth.json",
        "agents/*/agent/models.json",
        "cron/jobs.json",
        "devices/**",
        "identity/**",
        "exec-approvals.json",
        "skills/**",
    ),
    mode="config-only",
)
MISS = "not in mode config-only"


@pytest.mark.parametrize(
    ("relpath", "is_dir", "reason"),
    [
        ("openclaw.json", F, None),
        (".env", F, None),
        ("exec-approvals.json", F, None),
        ("workspace/openclaw.json", F, MISS),  # include patterns are anchored at the root
        ("workspace/.env", F, MISS),
        ("openclaw.json.bak", F, MISS),
        ("credentials", D, None),
        ("credentials/whatsapp", D, None),
        ("credentials/whatsapp/creds.json", F, None),
        ("credentials/x.log", F, "extension .log"),  # exclusions still apply first
        ("credentials", F, MISS),  # "credentials/**" is below, not the name itself
        ("agents", D, None),
        ("agents/main", D, None),
        ("agents/main/agent", D, None),
        ("agents/main/agent/auth-profiles.json", F, None),
        ("agents/main/agent/auth.json", F, None),
        ("agents/main/agent/models.json", F, None),
        ("agents/main/agent/other.json", F, MISS),
        ("agents/main/agent/sub", D, MISS),
        ("agents/main/sessions", D, MISS),
        ("agents/main/sessions/s.jsonl", F, MISS),
        ("agents/auth.json", F, MISS),
        ("agents/main/agent/auth.json", D, None),  # a directory of that name: could match
        ("cron", D, None),
        ("cron/jobs.json", F, None),
        ("cron/runs", D, MISS),
        ("cron/runs.json", F, MISS),
        ("devices/a/b/c", D, None),
        ("identity/device.json", F, None),
        ("skills/x/SKILL.md", F, None),
        ("workspace", D, MISS),
        ("media", D, MISS),
        ("logs", D, MISS),
        ("README.md", F, MISS),
    ],
)
def test_include_config_only(relpath: str, is_dir: bool, reason: str | None) -> None:
    assert excluded(CONFIG_ONLY, relpath, is_dir) == reason


@pytest.mark.parametrize(
    ("include", "relpath", "is_dir", "reason"),
    [
        (("credentials/",), "credentials/a/b.json", F, None),
        (("credentials/",), "credentials", F, "not in mode m"),  # directory-only
        (("credentials",), "credentials", F, None),
        (("**/keys/",), "deep/er/keys/k.pem", F, None),
        (("**/keys/",), "deep/er", D, None),  # unsure: could match
        (("a/**/z.txt",), "a/b/c", D, None),
        (("a/**/z.txt",), "b", D, "not in mode m"),
        (("skills/**", "!skills/big/"), "skills/big/x.bin", F, "not in mode m"),
        (("skills/**", "!skills/big/"), "skills/big", D, "not in mode m"),
        (("skills/**", "!skills/big/"), "skills/small/x", F, None),
        (("skills/**", "!skills/big/", "skills/big/keep/"), "skills/big", D, None),
        (("skills/**", "!skills/big/", "skills/big/keep/"), "skills/big/keep/x", F, None),
        (("[ab]/x",), "b", D, None),
        ((), "anything", F, "not in mode m"),
        ((), "anything", D, "not in mode m"),
    ],
)
def test_include_patterns(
    include: tuple[str, ...], relpath: str, is_dir: bool, reason: str | None
) -> None:
    assert excluded(RuleSet("r", include=include, mode="m"), relpath, is_dir) == reason


# --------------------------------------------------------------------------- against git


GIT = shutil.which("git")
NAMES = ["a", "b", "ab", "a.log", "B.LOG", "x.tmp", "logs", ".env", "c d", "#h", "!n", "[x]"]
POOL = [
    "a", "b", "ab", "*.log", "*.LOG", "logs", "logs/", "/logs", "/a", "a/", "a/b", "/a/b", "a/*",
    "a/**", "**/b", "a/**/b", "**/logs/", "*", "?", "[ab]", "[!a]*", "[a-c].log", "x.*", "*.tmp",
    "b/a.log", "**", "a/**/", "\\#h", "\\!n", "#h", "", "c\\ d", "c d  ", "[[:upper:]]*", "*/a",
    "**/a/*.log", "a?", "/*", "*/", "/**/b", "a/**/*.log", "\\[x]", "[[]x]", "*b*", "logs/**",
]  # fmt: skip


def _random_tree(rng: random.Random, root: Path, depth: int = 0) -> None:
    for name in rng.sample(NAMES, rng.randint(1, 4)):
        if depth < 3 and rng.random() < 0.5:
            (root / name).mkdir()
            _random_tree(rng, root / name, depth + 1)
        else:
            (root / name).touch()


def _random_lines(rng: random.Random, count: int) -> list[str]:
    return [("!" if rng.random() < 0.25 else "") + rng.choice(POOL) for _ in range(count)]


def _git_ignored(repo: Path, paths: list[str]) -> dict[str, bool]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "-v", "-n", "--stdin", "-z"],
        cwd=repo, input="\0".join(paths) + "\0", capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    fields = done.stdout.split("\0")
    return {fields[i + 3]: bool(fields[i + 2]) and not fields[i + 2].startswith("!")
            for i in range(0, len(fields) - 1, 4)}  # fmt: skip


def _walk(matcher: Matcher, root: Path, rel: str, pruned: bool, out: dict[str, bool]) -> None:
    for entry in sorted((root / rel).iterdir() if rel else root.iterdir()):
        if entry.name in (".gitignore", ".git"):
            continue
        relpath = f"{rel}/{entry.name}" if rel else entry.name
        is_dir = entry.is_dir()
        out[relpath] = pruned or matcher.excluded(relpath, is_dir) is not None
        if is_dir:
            ignore = entry / ".gitignore"
            lines = ignore.read_text().split("\n") if ignore.exists() else []
            _walk(matcher.child(relpath, lines), root, relpath, out[relpath], out)


@pytest.mark.skipif(GIT is None, reason="git not installed")
@pytest.mark.parametrize("seed", range(6))
def test_matches_git_check_ignore(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for case in range(40):
        repo = tmp_path / f"case{case}"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        _random_tree(rng, repo)
        dirs = [p for p in repo.rglob("*") if p.is_dir() and ".git" not in p.parts]
        root_lines = _random_lines(rng, rng.randint(1, 5))
        (repo / ".gitignore").write_text("\n".join(root_lines) + "\n")
        for directory in rng.sample(dirs, min(len(dirs), rng.randint(0, 2))):
            (directory / ".gitignore").write_text("\n".join(_random_lines(rng, 3)) + "\n")
        if rng.random() < 0.5:  # root rules as config `exclude` or as a root ignore file
            matcher = Matcher(RuleSet("r", exclude=tuple(root_lines)))
        else:
            matcher = Matcher(RuleSet("r")).child("", root_lines)
        ours: dict[str, bool] = {}
        _walk(matcher, repo, "", False, ours)
        theirs = _git_ignored(repo, list(ours))
        rules = {str(p.relative_to(repo)): p.read_text() for p in repo.rglob(".gitignore")}
        for relpath, ignored in ours.items():
            assert ignored == theirs[relpath], (relpath, ignored, rules)
