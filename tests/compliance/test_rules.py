"""compliance.yml: loading, refusing bad files with the rule named, reloading on change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.compliance.rules import ComplianceRulesError, RulesFile, load_rules, parse_rules
from assistant.config import REPO_ROOT, load_settings

GOOD = """
version: 1
rules:
  - id: zh-best
    pattern: 最好的
    language: zh
    category: absolute_term
    action: rewrite
    replacement: 很好的
  - id: en-cure
    pattern: [cure, cures]
    language: en
    category: medical_claim
    action: block
    exceptions: [not a cure]
"""


def rule(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "r1",
        "pattern": "最好的",
        "language": "zh",
        "category": "absolute_term",
        "action": "rewrite",
        "replacement": "很好的",
    }
    base.update(fields)
    return {"rules": [base]}


def test_the_shipped_file_loads() -> None:
    rules = load_rules(REPO_ROOT / "compliance.yml")
    ids = [r.id for r in rules.rules]
    assert len(ids) == len(set(ids)) >= 20
    assert {r.category for r in rules.rules} == {"absolute_term", "medical_claim"}


def test_settings_point_at_the_repo_file_by_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "missing.yml", data_dir=tmp_path)
    assert settings.compliance.enabled is True
    assert settings.compliance.rules_path == REPO_ROOT / "compliance.yml"
    config = tmp_path / "assistant.yml"
    config.write_text("compliance:\n  enabled: false\n  rules_path: brand/rules.yml\n")
    settings = load_settings(config, data_dir=tmp_path)
    assert settings.compliance.enabled is False
    # Relative to the settings file, like every other path in it.
    assert settings.compliance.rules_path == tmp_path / "brand" / "rules.yml"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"pattern": "最(好", "regex": True}, "invalid regex"),
        ({"action": "delete"}, "action"),
        ({"replacement": None}, "needs a replacement"),
        ({"pattern": "(a)", "regex": True, "replacement": r"\2"}, "invalid replacement"),
        ({"pattern": ""}, "must not be empty"),
        ({"pattern": "x*", "regex": True}, "empty text"),
        ({"language": "fr"}, "language"),
        ({"category": "vibes"}, "category"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_rule_is_refused_naming_it(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(ComplianceRulesError) as problem:
        parse_rules(rule(**fields), "compliance.yml")
    message = str(problem.value)
    assert "rule #1 ('r1')" in message and expected in message


def test_duplicate_ids_and_bad_shapes_are_refused() -> None:
    data = {"rules": [rule()["rules"][0], rule()["rules"][0]]}  # type: ignore[index]
    with pytest.raises(ComplianceRulesError, match=r"rule #2 \('r1'\): duplicate id"):
        parse_rules(data)
    with pytest.raises(ComplianceRulesError, match="'rules:' list"):
        parse_rules({"rules": "all of them"})
    with pytest.raises(ComplianceRulesError, match="unknown top-level"):
        parse_rules({"rulez": []})


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "compliance.yml"
    path.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(ComplianceRulesError, match="not valid YAML"):
        load_rules(path)


def test_disabled_rules_are_kept_out() -> None:
    assert len(parse_rules(rule(enabled=False))) == 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def save(path: Path, content: str, stamp: int) -> None:
    path.write_text(content, encoding="utf-8")
    # Explicit mtimes: two saves within the file system's clock tick still differ.
    os.utime(path, ns=(stamp * 10**9, stamp * 10**9))


def test_a_saved_file_is_reloaded_within_a_second(tmp_path: Path) -> None:
    path, clock = tmp_path / "compliance.yml", Clock()
    save(path, GOOD, 1)
    rules = RulesFile(path, clock=clock)
    assert [r.id for r in rules.rules.rules] == ["zh-best", "en-cure"]

    save(path, GOOD.replace("zh-best", "zh-best-2"), 2)
    clock.now = 0.5  # looked at most once a second: not yet
    assert rules.rules.rules[0].id == "zh-best"
    clock.now = 1.0
    assert rules.rules.rules[0].id == "zh-best-2"


def test_a_bad_edit_keeps_the_previous_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, clock = tmp_path / "compliance.yml", Clock()
    save(path, GOOD, 1)
    rules = RulesFile(path, clock=clock)
    save(path, GOOD.replace("pattern: 最好的", "pattern: '最(好'\n    regex: true"), 2)
    clock.now = 1.0
    assert [r.id for r in rules.rules.rules] == ["zh-best", "en-cure"]
    assert rules.last_error is not None and "'zh-best'" in rules.last_error
    assert any("refused" in r.getMessage() for r in caplog.records)
    # Fixed: the new rules apply, the error is cleared.
    save(path, GOOD.replace("很好的", "不错的"), 3)
    clock.now = 2.0
    assert rules.rules.rules[0].replacement == "不错的" and rules.last_error is None


def test_a_deleted_file_keeps_the_rules_and_a_missing_one_starts_empty(tmp_path: Path) -> None:
    path, clock = tmp_path / "compliance.yml", Clock()
    save(path, GOOD, 1)
    rules = RulesFile(path, clock=clock)
    path.unlink()
    clock.now = 1.0
    assert len(rules.rules) == 2

    later = RulesFile(tmp_path / "other.yml", clock=clock)
    assert len(later.rules) == 0
    save(tmp_path / "other.yml", GOOD, 5)
    clock.now = 3.0
    assert len(later.rules) == 2


def test_a_bad_file_at_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "compliance.yml"
    path.write_text(GOOD.replace("action: block", "action: shout"), encoding="utf-8")
    with pytest.raises(ComplianceRulesError, match="'en-cure'"):
        RulesFile(path)
