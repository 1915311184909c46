"""One entry point for people and CI: set up a virtualenv from pyproject.toml, then run something.

    python3 tasks.py bot     # set up, then run the bot (reads .env)
    python3 tasks.py test    # set up, then run the whole test suite (extra args go to pytest)
    python3 tasks.py lint    # set up, then ruff (lint + format check) and mypy
    python3 tasks.py setup   # only set up what `bot` needs (e.g. before starting several processes)

`test` runs pytest with TEST_WORKERS pytest-xdist workers unless the arguments choose (`-n 0`
runs in this one process, as `--pdb` and `--trace` do anyway).

Only the standard library is used here, so it works on a machine that has nothing but Python 3.11+.
The virtualenv lives in `.venv/`; it is (re)installed when pyproject.toml's dependencies change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".setup-stamp"
# pytest-xdist workers for `test`. The suite mostly waits on loopback I/O and on the bot's own
# timers, so on a 2-core machine four workers beat two (measured: 2 -> 85 s, 4 -> 53 s, 8 -> 57 s).
TEST_WORKERS = 4


def _venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def _requirements(extras: list[str]) -> list[str]:
    """The project's dependencies plus those of ``extras``; an extra may name another as
    ``reelclub[name]``, which is expanded here (this venv installs requirements, not the
    project)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]
    reqs = list(project["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for req in optional[extra]:
            if req.startswith(project["name"] + "["):
                todo += req[len(project["name"]) + 1 : -1].split(",")
            elif req not in reqs:
                reqs.append(req)
    return reqs


def _wants_postgres() -> bool:
    """DATABASE_URL, from the environment or .env, names a PostgreSQL database."""
    url = os.environ.get("DATABASE_URL")
    env_file = ROOT / ".env"
    if url is None and env_file.exists():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip().removeprefix("export ").strip() == "DATABASE_URL":
                url = value.strip().strip("'\"")
    return (url or "").startswith(("postgresql://", "postgres://"))


def ensure_env(extras: list[str]) -> Path:
    """Create .venv and install the requirements unless the stamp says they are already there."""
    reqs = _requirements(extras)
    digest = hashlib.sha256("\n".join(sorted(reqs)).encode()).hexdigest()
    python = _venv_python()
    if not python.exists():
        print("tasks: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or digest not in STAMP.read_text(encoding="utf-8").split():
        print(f"tasks: installing {len(reqs)} requirements into .venv", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *reqs],
            check=True,
        )
        known = STAMP.read_text(encoding="utf-8").split() if STAMP.exists() else []
        STAMP.write_text("\n".join([*known, digest]) + "\n", encoding="utf-8")
    return python


def _pytest_args(args: list[str]) -> list[str]:
    """``args`` with ``-n TEST_WORKERS`` in front, unless they choose the workers themselves or
    ask for a debugger (which needs the test in this process)."""
    for arg in args:
        chooses = arg in {"-n", "--numprocesses", "--pdb", "--trace", "no:xdist", "-pno:xdist"}
        if chooses or arg.startswith(("--numprocesses=", "-n=")) or _short_n(arg):
            return args
    return ["-n", str(TEST_WORKERS), *args]


def _short_n(arg: str) -> bool:
    """``-n4`` or ``-nauto`` (but not ``--no-header`` or ``-ra``)."""
    return arg.startswith("-n") and not arg.startswith("--")


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"bot", "test", "lint", "setup"}:
        print(__doc__)
        return 2
    task, rest = argv[0], argv[1:]
    bot_extras = ["postgres"] if _wants_postgres() else []
    python = str(ensure_env(bot_extras if task in {"bot", "setup"} else ["dev"]))
    if task == "setup":
        return 0
    if task == "bot":
        return _run([python, "-m", "bot", *rest])
    if task == "test":
        return _run([python, "-m", "pytest", *_pytest_args(rest)])
    for step in (
        [python, "-m", "ruff", "check", "."],
        [python, "-m", "ruff", "format", "--check", "."],
        [python, "-m", "mypy"],
    ):
        print("tasks: " + " ".join(step[1:]), flush=True)
        code = _run(step)
        if code:
            return code
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
