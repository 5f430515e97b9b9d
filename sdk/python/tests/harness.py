"""A real daemon in a temporary home for the SDK's tests, driven by the
repo's own `cu` (the Python twin of `TestHome` in tests/src/lib.rs).

The binaries must be built first: `cargo build --workspace --bins`
(scripts/test.sh does). `cu start` runs the test daemon
(`continuum-core-test`: the product daemon plus the test-only commands).
Binaries are looked up in `$CONTINUUM_BIN_DIR`, else
`$CARGO_TARGET_DIR/debug`, else `target/debug` in the repo.
"""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path
from typing import Dict, Optional

import continuum

REPO = Path(__file__).resolve().parents[3]

#: Where the real model server is (an OpenAI-compatible base URL), as for the Rust e2e tests.
LLM_URL_ENV = "CONTINUUM_TEST_LLM_URL"


def bin_dir() -> Path:
    """The directory of the built binaries; fails (never skips) when one is missing."""
    if os.environ.get("CONTINUUM_BIN_DIR"):
        directory = Path(os.environ["CONTINUUM_BIN_DIR"])
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
        directory = (target if target.is_absolute() else REPO / target) / "debug"
    for name in ("cu", "continuum-core-test"):
        if not (directory / name).is_file():
            raise AssertionError(
                f"{directory / name} is missing: run `cargo build --workspace --bins` "
                "first (scripts/test.sh does)"
            )
    return directory


def llm_url() -> Optional[str]:
    """The real model server's URL, or None outside CI (the caller skips).
    Under CI a missing server fails, so CI never skips the real-model test."""
    url = os.environ.get(LLM_URL_ENV, "").strip()
    if url:
        return url
    ci = os.environ.get("CI", "")
    if ci not in ("", "false", "0"):
        raise AssertionError(
            f"{LLM_URL_ENV} is not set but CI={ci}: .ci/run must start "
            f"scripts/ci/llm-server.sh and export {LLM_URL_ENV}"
        )
    return None


class Daemon:
    """A temporary home under /tmp (short, so the socket path fits) with a
    daemon started by `cu start`; :meth:`stop` stops it and removes the home."""

    def __init__(self, files: Optional[Dict[str, str]] = None) -> None:
        bins = bin_dir()
        self.cu_bin = bins / "cu"
        self.daemon_bin = bins / "continuum-core-test"
        self.scratch = Path(tempfile.mkdtemp(prefix="cu-sdk-", dir="/tmp"))
        self.home = self.scratch / "home"
        self.home.mkdir(mode=0o700)
        for name, text in (files or {}).items():
            (self.home / name).write_text(text)

    def cu(self, *args: str) -> subprocess.CompletedProcess:
        """Runs `cu` against this home."""
        env = dict(os.environ)
        env["CONTINUUM_HOME"] = str(self.home)
        env["CONTINUUM_CORE_BIN"] = str(self.daemon_bin)
        env.pop("CONTINUUM_TCP", None)
        env.pop("CONTINUUM_PEER_TCP", None)
        return subprocess.run(
            [str(self.cu_bin), *args], env=env, capture_output=True, text=True, timeout=60
        )

    def start(self) -> "Daemon":
        out = self.cu("start")
        if out.returncode != 0:
            raise AssertionError(
                f"cu start failed (exit {out.returncode}): {out.stdout}{out.stderr}"
            )
        return self

    def stop(self) -> None:
        """Stops the daemon (if running) and removes the home."""
        try:
            self.cu("stop")
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def connect(self, max_trust: Optional[str] = None) -> continuum.Client:
        return continuum.connect(self.home, max_trust=max_trust)

    def log(self) -> str:
        try:
            return (self.home / "logs" / "core.log").read_text()
        except OSError:
            return ""


class DaemonTestCase(unittest.TestCase):
    """One running daemon for the whole class, an owner client on it
    (`self.client`), stopped when the class is done."""

    daemon: Daemon
    client: continuum.Client

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.daemon = Daemon()
        cls.addClassCleanup(cls.daemon.stop)
        cls.daemon.start()
        cls.client = cls.daemon.connect()
        cls.addClassCleanup(cls.client.close)
