"""A throwaway PostgreSQL cluster for the tests: the machine's own server binaries, run as a
non-root user on a free loopback port, removed afterwards.

PostgreSQL refuses to run as root, so when the tests run as root the cluster's folder is handed to
the ``postgres`` user (Debian's package creates it; ``nobody`` otherwise) and ``initdb``/``pg_ctl``
run as that user through ``runuser``. Connections use a password over TCP, like a real deployment,
so the tests also see that the password never reaches a message.

Every test database is a copy of a migrated template (``CREATE DATABASE … TEMPLATE``), which
takes a few milliseconds. The server log names the database of each line, so the ERROR lines of
one test can be told apart and checked against what the test said it expects.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HOW_TO_GET = (
    "PostgreSQL is not installed (no initdb/pg_ctl found): install the server "
    "(Debian/Ubuntu: apt-get install postgresql) or set PG_BIN to its bin folder"
)
ERROR_LINE = re.compile(
    r"^\S+ \S+ \S+ \[\d+\] (?P<db>\S*) (?P<level>ERROR|FATAL|PANIC):  (?P<text>.*)"
)


def find_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: $PG_BIN, Debian's newest, or the PATH."""
    if os.environ.get("PG_BIN"):  # an explicit choice: only that folder
        chosen = Path(os.environ["PG_BIN"])
        return chosen if (chosen / "initdb").is_file() and (chosen / "pg_ctl").is_file() else None
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates = list(versions)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    """The user to run the server as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


@dataclass
class Cluster:
    bin: Path
    root: Path
    port: int
    password: str
    user: str = "reelclub"
    run_as: str | None = None
    _expected: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    _log_offset: int = 0
    _pending: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *argv: str) -> list[str]:
        if self.run_as is None:
            return list(argv)
        return ["runuser", "-u", self.run_as, "--", *argv]

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            self._cmd(str(self.bin / tool), *args),
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.root,  # runuser keeps the cwd; the server user must be able to enter it
        )

    @classmethod
    def start(cls, bin_dir: Path) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="reelclub-pg-"))
        cluster = cls(bin_dir, root, _free_port(), secrets.token_urlsafe(18), run_as=_run_as())
        pwfile = root / "pw"
        pwfile.write_text(cluster.password + "\n", encoding="utf-8")
        if cluster.run_as is not None:
            entry = pwd.getpwnam(cluster.run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        root.chmod(0o700)
        cluster._pg(
            "initdb",
            "-D",
            str(cluster.data),
            "-U",
            cluster.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {cluster.port}",
                f"-c unix_socket_directories={root}",
                # A test cluster: durability buys nothing here, speed does.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c log_line_prefix='%m [%p] %d '",
                "-c log_min_messages=warning",
                "-c log_min_error_statement=error",
            ]
        )
        cluster._pg(
            "pg_ctl", "-D", str(cluster.data), "-l", str(cluster.log), "-o", options, "-w", "start"
        )
        return cluster

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the server log ------------------------------------------------------------------------
    def expect_errors(self, database: str, *patterns: str) -> None:
        """ERROR lines of ``database`` matching one of ``patterns`` are expected by its test."""
        self._expected.setdefault(database, []).extend(re.compile(p) for p in patterns)

    def unexpected_errors(self, database: str) -> list[str]:
        """ERROR (or worse) lines logged for ``database`` since it was last checked that its
        test did not expect. Lines of other databases wait for their own check."""
        expected = self._expected.pop(database, [])
        self._pending += self._new_log_lines()
        found, keep = [], []
        for line in self._pending:
            match = ERROR_LINE.match(line)
            if match is None:
                continue
            if match["db"] != database:
                keep.append(line)
            elif not any(p.search(match["text"]) for p in expected):
                found.append(line)
        self._pending = keep
        return found

    def _new_log_lines(self) -> list[str]:
        try:
            with self.log.open("rb") as log:
                log.seek(self._log_offset)
                data = log.read()
        except OSError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        self._log_offset += len(complete)
        return complete.decode("utf-8", errors="replace").splitlines()


@contextlib.contextmanager
def running_cluster(bin_dir: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(bin_dir)
    try:
        yield cluster
    finally:
        cluster.stop()
