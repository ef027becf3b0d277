"""The staff-edited ingredient rules: the shipped file matches real products the way an expert
reads an INCI list, and a mistake in the file is refused with the line that holds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.advisor.ingredient_rules import (
    IngredientRulesError,
    load_ingredient_rules,
    rules_at,
)
from assistant.config import REPO_ROOT
from tests import catalogue

RULES = load_ingredient_rules(REPO_ROOT / "ingredient_rules.yml")


def _groups(product_id: str) -> set[str]:
    return set(RULES.contains(catalogue.record(product_id)))


def test_shipped_rules_name_their_groups_in_both_languages() -> None:
    assert {"retinoids", "aha", "bha", "fragrance", "comedogenic_oils"} <= set(RULES.groups)
    assert all(g.zh and g.en for g in RULES.groups.values())
    assert all(r.reason_zh and r.reason_en for r in (*RULES.conflicts, *RULES.cautions))


@pytest.mark.parametrize(
    ("product_id", "group"),
    [
        ("LY-SE-004", "retinoids"),  # INCI "Retinol"
        ("LY-SE-005", "retinoids"),  # INCI "Retinal"
        ("LY-TO-004", "aha"),  # glycolic acid
        ("LY-SE-014", "aha"),  # mandelic acid
        ("LY-SE-006", "bha"),
        ("LY-SE-003", "vitamin_c_acid"),  # 15% L-ascorbic acid
        ("LY-MO-004", "comedogenic_oils"),  # Cocos Nucifera (Coconut) Oil
        ("LY-SU-009", "comedogenic_oils"),  # Isopropyl Myristate
        ("LY-TO-009", "drying_alcohol"),  # Alcohol Denat.
        ("LY-CL-004", "fragrance"),  # linalool, limonene
        ("LY-CL-004", "essential_oils"),  # tea tree leaf oil
    ],
)
def test_groups_are_found_in_inci_and_key_actives(product_id: str, group: str) -> None:
    assert group in _groups(product_id)


@pytest.mark.parametrize(
    ("product_id", "group"),
    [
        ("LY-MO-010", "vitamin_c_acid"),  # 3-O-ethyl ascorbic acid: a derivative (exception)
        ("LY-SU-001", "bha"),  # Ethylhexyl Salicylate is a UV filter, not salicylic acid
        ("LY-SU-003", "benzoyl_peroxide"),  # "...Hydroxybenzoyl..." is not benzoyl peroxide
        ("LY-MO-001", "drying_alcohol"),  # Cetearyl Alcohol is a fatty alcohol
        ("LY-CL-001", "fragrance"),
    ],
)
def test_look_alike_names_do_not_match(product_id: str, group: str) -> None:
    assert group not in _groups(product_id)


def test_strength_decides_the_pregnancy_salicylic_acid_caution() -> None:
    gentle = catalogue.record("LY-CL-003")  # 0.5% salicylic acid, stated in its key actives
    strong = catalogue.record("LY-SE-006")  # 2% salicylic acid
    unstated = catalogue.record("LY-CL-008")  # salicylic acid in INCI, strength not stated
    assert not RULES.cautions_for(gentle, {"pregnancy"})
    assert [h.rule_id for h in RULES.cautions_for(strong, {"pregnancy"})] == [
        "pregnancy-salicylic-acid"
    ]
    assert RULES.cautions_for(unstated, {"breastfeeding"})


def test_cautions_apply_only_to_their_conditions() -> None:
    retinol = catalogue.record("LY-SE-004")
    hits = RULES.cautions_for(retinol, {"pregnancy"})
    assert hits and hits[0].found == "Retinol" and "维A" in hits[0].reason("zh")
    assert not RULES.cautions_for(retinol, {"acne_prone"})


def test_retinoid_and_exfoliating_acid_conflict_either_way_round() -> None:
    retinol = RULES.contains(catalogue.record("LY-SE-004"))
    glycolic = RULES.contains(catalogue.record("LY-TO-004"))
    hydrating = RULES.contains(catalogue.record("LY-SE-002"))
    for first, second in ((retinol, glycolic), (glycolic, retinol)):
        found = RULES.conflict(first, second)
        assert found is not None and found[0].id == "retinoid-with-exfoliants"
    assert RULES.conflict(retinol, hydrating) is None


# -- a bad file is refused with its line ----------------------------------------------------

_GOOD = """\
version: 1
ingredients:
  retinoids:
    zh: 维A类
    en: retinoids
    names: [retinol]
cautions:
  - id: pregnancy-retinoids
    when: [pregnancy]
    avoid: [retinoids]
    reason_zh: 孕期不建议使用维A类。
    reason_en: not during pregnancy.
"""


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "ingredient_rules.yml"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        (_GOOD.replace("avoid: [retinoids]", "avoid: [retinoidz]"), 8, "retinoidz"),
        (_GOOD.replace("when: [pregnancy]", "when: [pregnant]"), 8, "pregnant"),
        (_GOOD.replace("    reason_en: not during pregnancy.\n", ""), 8, "reason_en"),
        (_GOOD.replace("    names: [retinol]\n", "    names: []\n"), 4, "names"),
        (_GOOD.replace("    en: retinoids\n", "    en: retinoids\n    flag: scented\n"), 4, "flag"),
        (_GOOD.replace("    when:", "    whenn:"), 8, "whenn"),
        (_GOOD.replace("names: [retinol]", "names: [retinol"), 7, "YAML"),
    ],
)
def test_bad_file_names_the_line_and_the_problem(
    tmp_path: Path, broken: str, line: int, words: str
) -> None:
    with pytest.raises(IngredientRulesError) as problem:
        load_ingredient_rules(_write(tmp_path, broken))
    message = str(problem.value)
    assert f"line {line}" in message and words in message, message


def test_a_refused_change_keeps_the_last_good_rules(tmp_path: Path) -> None:
    path = _write(tmp_path, _GOOD)
    assert [c.id for c in rules_at(path).cautions] == ["pregnancy-retinoids"]
    path.write_text(_GOOD.replace("avoid: [retinoids]", "avoid: [nothing]"), encoding="utf-8")
    os.utime(path, ns=(1, 10**18))  # a new stamp even within the file system's time grain
    assert [c.id for c in rules_at(path).cautions] == ["pregnancy-retinoids"]


def test_a_bad_file_with_no_good_version_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngredientRulesError, match="line"):
        rules_at(_write(tmp_path, _GOOD.replace("when: [pregnancy]", "when: [tired]")))
    with pytest.raises(IngredientRulesError, match="cannot be read"):
        rules_at(tmp_path / "missing.yml")
