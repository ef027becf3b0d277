"""Start Rasa and the assistant app together for a local run, and stop both on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from assistant.config import REPO_ROOT, Settings
from assistant.training import rasa_executable


class StartupFailed(RuntimeError):
    """A process exited or did not become ready in time; the log file named says why."""


@dataclass
class Stack:
    """The two running processes and where they log."""

    rasa: subprocess.Popen[bytes]
    app: subprocess.Popen[bytes]
    rasa_log: Path
    app_log: Path

    def stop(self) -> None:
        for process in (self.app, self.rasa):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (self.app, self.rasa):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float, check: str | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupFailed(f"process exited with code {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
                if response.status == 200 and (check is None or check in body):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise StartupFailed(f"{url} not ready after {timeout:.0f} s; see {log}")


def start_stack(
    settings: Settings,
    model: Path,
    *,
    rasa_port: int = 5005,
    endpoints: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180.0,
) -> Stack:
    """Start Rasa (``--enable-api``) and the app; return once both answer."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    rasa_log, app_log = logs / f"rasa-{rasa_port}.log", logs / f"app-{settings.port}.log"
    environment = {**os.environ, **(env or {})}
    environment.setdefault("SANIC_WORKERS", "1")
    rasa_command = [
        str(rasa_executable()),
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--port",
        str(rasa_port),
        "--credentials",
        "credentials.yml",
        "--endpoints",
        str(endpoints or "endpoints.yml"),
    ]
    rasa = subprocess.Popen(
        rasa_command,
        cwd=REPO_ROOT,
        env=environment,
        stdout=rasa_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    app_environment = {
        **environment,
        "SIYU_PORT": str(settings.port),
        "SIYU_DATA_DIR": str(settings.data_dir),
        "SIYU_RASA_URL": f"http://127.0.0.1:{rasa_port}",
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve"],
        cwd=REPO_ROOT,
        env=app_environment,
        stdout=app_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    stack = Stack(rasa, app, rasa_log, app_log)
    try:
        _wait_ready(f"http://127.0.0.1:{settings.port}/healthz", app, app_log, timeout)
        _wait_ready(
            f"http://127.0.0.1:{rasa_port}/status", rasa, rasa_log, timeout, check="model_file"
        )
    except BaseException:
        stack.stop()
        raise
    return stack
