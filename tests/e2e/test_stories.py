"""Rasa test stories, checked twice: by `rasa test` and by replaying them on the running system."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.config import REPO_ROOT
from assistant.training import ensure_trained, rasa_executable
from tests.stack import RunningSystem

STORIES = REPO_ROOT / "tests" / "test_stories.yml"
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")
# Actions Rasa runs on its own every turn; stories do not list them.
_IMPLICIT = {"action_listen", "action_session_start", "action_extract_slots", "action_read_message"}


def stories() -> list[dict[str, Any]]:
    return yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]


def expected_turns(story: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(user text, actions the story expects after it) for each user turn."""
    turns: list[tuple[str, list[str]]] = []
    for step in story["steps"]:
        if "user" in step:
            turns.append((_ANNOTATION.sub(r"\1", step["user"]).strip(), []))
        elif "action" in step and turns:
            turns[-1][1].append(step["action"])
    return turns


def actual_turns(rasa_url: str, conversation_id: str) -> list[list[str]]:
    url = f"{rasa_url}/conversations/{urllib.parse.quote(conversation_id, safe=':')}/tracker"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    turns: list[list[str]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif event["event"] == "action" and turns and event["name"] not in _IMPLICIT:
            turns[-1].append(event["name"])
    return turns


@pytest.mark.parametrize("story", stories(), ids=lambda s: s["story"])
def test_story_replayed_on_the_running_system(system: RunningSystem, story: dict) -> None:
    user = "story-" + uuid.uuid4().hex[:8]
    turns = expected_turns(story)
    for text, _ in turns:
        system.chat(user, f"@澜屿小助手 {text}", chat_id="stories")
    actual = actual_turns(system.rasa_url, f"web:stories:{user}")
    assert actual == [actions for _, actions in turns]


def test_rasa_test_core_passes_every_story(tmp_path: Path) -> None:
    """`rasa test core` on the trained model: no story may fail."""
    out = tmp_path / "results"
    result = subprocess.run(
        [
            str(rasa_executable()),
            "test",
            "core",
            "--model",
            str(ensure_trained()),
            "--stories",
            str(STORIES),
            "--out",
            str(out),
            "--no-plot",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = (out / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "story:" not in failed, failed
