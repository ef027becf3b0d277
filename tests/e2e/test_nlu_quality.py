"""Held-out NLU quality per language: per-intent F1 printed, macro-F1 must stay ≥ 0.90."""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import yaml

from assistant.config import REPO_ROOT
from tests.stack import RunningSystem

MIN_MACRO_F1 = 0.90
# Printed at the end of the run by conftest.pytest_terminal_summary.
REPORTS: list[str] = []
# Rasa's entity annotations: [text](entity) and [text]{"entity": ...}
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def held_out(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU file, annotations removed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = []
    for block in data["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((_ANNOTATION.sub(r"\1", line[2:]).strip(), block["intent"]))
    return pairs


def parse(rasa_url: str, text: str) -> str:
    request = urllib.request.Request(
        f"{rasa_url}/model/parse",
        data=json.dumps({"text": text}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["intent"]["name"]


def f1_report(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Per-intent F1 over the gold intents (predictions of other labels count as misses)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    report = {}
    for intent in sorted(set(gold)):
        precision = tp[intent] / max(1, tp[intent] + fp[intent])
        recall = tp[intent] / max(1, tp[intent] + fn[intent])
        report[intent] = 2 * precision * recall / max(1e-9, precision + recall)
    return report


@pytest.mark.parametrize("language", ["zh", "en"])
def test_held_out_macro_f1(system: RunningSystem, language: str) -> None:
    pairs = held_out(REPO_ROOT / "data" / "test" / f"nlu_{language}.yml")
    predicted = [parse(system.rasa_url, text) for text, _ in pairs]
    gold = [intent for _, intent in pairs]
    report = f1_report(gold, predicted)
    macro = sum(report.values()) / len(report)
    lines = [f"held-out NLU ({language}, {len(pairs)} utterances): macro-F1 {macro:.3f}"]
    lines += [f"  {intent:<16} F1 {f1:.3f}" for intent, f1 in report.items()]
    misses = [(t, g, p) for (t, g), p in zip(pairs, predicted, strict=True) if g != p]
    lines += [f"  miss: {t!r}: {g} -> {p}" for t, g, p in misses[:20]]
    REPORTS.append("\n".join(lines))
    assert macro >= MIN_MACRO_F1
