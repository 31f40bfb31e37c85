"""RunningEmulator: the emulator in a subprocess, for test fixtures and benchmarks.

    with RunningEmulator(extra_args=["--tier", "free"]) as emulator:
        client = ZhipuAI(api_key=emulator.api_key, base_url=emulator.base_url)

Needs only the standard library and httpx, so any test suite can use it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import httpx

from .auth import DEFAULT_API_KEY

# The folder that holds the glm package, so the child finds it whatever the working directory.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]

_LISTENING = re.compile(r"GLM emulator listening on (http://\S+?)/api/paas/v4\s*$")


class EmulatorStartError(RuntimeError):
    pass


class RunningEmulator:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        first_token_ms: float = 0,
        chunk_delay_ms: float = 0,
        extra_args: Sequence[str] = (),
        host: str = "127.0.0.1",
        quiet: bool = True,
        startup_timeout: float = 20.0,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self._command = [
            sys.executable, "-m", "glm.emulator",
            "--host", host, "--port", "0", "--api-key", api_key,
            "--first-token-ms", str(first_token_ms), "--chunk-delay-ms", str(chunk_delay_ms),
            *(["--quiet"] if quiet else []),
            *extra_args,
        ]
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._root_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "RunningEmulator":
        """Start the subprocess and return once it answers its health check."""
        if self._process is not None:
            return self
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            self._command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, bufsize=1, env=env
        )
        try:
            self._root_url = self._read_listening_url()
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the subprocess (kill it if it lingers)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def __enter__(self) -> "RunningEmulator":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """http://HOST:PORT, where /files/ and /_emulator/ live."""
        if self._root_url is None:
            raise RuntimeError("the emulator is not running; call start() or use it as a context manager")
        return self._root_url

    @property
    def base_url(self) -> str:
        """The API base URL to give an SDK: http://HOST:PORT/api/paas/v4."""
        return f"{self.root_url}/api/paas/v4"

    @property
    def pid(self) -> int | None:
        """The emulator process's id (for a benchmark's CPU accounting), None when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def port(self) -> int:
        return int(self.root_url.rsplit(":", 1)[1])

    # -- introspection ---------------------------------------------------------------------

    def requests(self) -> list[dict]:
        """Every API request the emulator received since the last reset, oldest first."""
        response = httpx.get(f"{self.root_url}/_emulator/requests", timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Clear the request log, trigger counters and rate-limit windows."""
        httpx.post(f"{self.root_url}/_emulator/reset", timeout=10).raise_for_status()

    # -- start-up helpers ------------------------------------------------------------------

    def _read_listening_url(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        lines: list[str] = []
        stdout = self._process.stdout

        def read_first_line() -> None:
            lines.append(stdout.readline())
            # Keep draining so a chatty child can never block on a full pipe; EOF means it exited.
            for _ in stdout:
                pass
            stdout.close()

        threading.Thread(target=read_first_line, daemon=True).start()
        deadline = time.monotonic() + self._startup_timeout
        while not lines:
            if self._process.poll() is not None:
                raise EmulatorStartError(f"the emulator exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                raise EmulatorStartError("the emulator did not announce its address in time")
            time.sleep(0.01)
        match = _LISTENING.search(lines[0])
        if not match:
            raise EmulatorStartError(f"unexpected first line from the emulator: {lines[0]!r}")
        return match.group(1)

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while True:
            try:
                if httpx.get(f"{self.root_url}/_emulator/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise EmulatorStartError("the emulator did not become healthy in time")
            time.sleep(0.05)
