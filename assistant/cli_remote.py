"""Reach a running assistant app from the CLI, so CLI changes go live without a restart.

The app records where it listens in ``data_dir/app.json`` while it runs. When that app answers,
``assistant kb`` sends its changes through the admin API (authorised by the local token in
``data_dir/admin-token``) instead of opening the same Chroma folder from a second process, which
the embedded store does not support and which the app would not notice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant.config import Settings

APP_FILE = "app.json"
TOKEN_FILE = "admin-token"


def app_file(settings: Settings) -> Path:
    return settings.data_dir / APP_FILE


def announce(settings: Settings, url: str) -> None:
    """Called by the app once it listens: where the CLI can find it."""
    app_file(settings).write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")


def withdraw(settings: Settings) -> None:
    """Called by the app when it stops."""
    path = app_file(settings)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


class RemoteError(RuntimeError):
    """The app answered with an error; ``status`` is its HTTP status, ``body`` its JSON."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(str(body.get("error") or body))


@dataclass
class AdminClient:
    """The admin API of a running app (JSON in, JSON out)."""

    url: str
    token: str
    timeout: float = 600.0  # a large upload is embedded before the answer comes

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=self.timeout,
            **kwargs,
        )
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:500] or response.reason_phrase}
        if response.status_code >= 400:
            raise RemoteError(response.status_code, body if isinstance(body, dict) else {})
        return body

    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self._request("POST", path, json=body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path)

    def upload(self, path: str, files: list[Path]) -> Any:
        handles = [(f.name, f.open("rb")) for f in files]
        try:
            return self._request(
                "POST", path, files=[("file", (name, handle)) for name, handle in handles]
            )
        finally:
            for _, handle in handles:
                handle.close()


def running_app(settings: Settings) -> AdminClient | None:
    """A client of the app serving ``settings.data_dir``, or None when no such app answers."""
    try:
        info = json.loads(app_file(settings).read_text(encoding="utf-8"))
        token = (settings.data_dir / TOKEN_FILE).read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    url = str(info.get("url", "")).rstrip("/")
    if not url or not token:
        return None
    try:
        if httpx.get(f"{url}/healthz", timeout=2.0).status_code != 200:
            return None
    except httpx.HTTPError:
        return None
    return AdminClient(url, token)
