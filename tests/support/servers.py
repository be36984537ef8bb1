"""Real processes for integration tests: the Segel server under uvicorn, on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    """`python -m server serve` in a child process, so tests can kill it like a crash would."""

    env: dict[str, str]
    port: int
    log_path: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, *, healthy: bool = True) -> None:
        """Start and wait until /healthz answers (200 when `healthy`, any status otherwise)."""
        env = {**os.environ, **self.env, "SEGEL_PORT": str(self.port), "SEGEL_HOST": "127.0.0.1"}
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.log_path.read_text()[-3000:]}")
            try:
                status = httpx.get(f"{self.url}/healthz", timeout=1.0).status_code
                if status == 200 or not healthy:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy within {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, as a deploy or `docker stop` sends, and SIGKILL after 10 s; the exit status (negative: the
        signal that ended it)."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        return self._process.returncode if self._process else None
