"""How the consultation form reads yes/no answers written in words, in zh and en."""

import pytest

from actions.consultation import _DENIAL


@pytest.mark.parametrize(
    "answer", ["不会", "不敏感", "没怀孕", "没有", "no", "nope", "not pregnant"]
)
def test_denials_are_read_as_no(answer: str) -> None:
    assert _DENIAL.search(answer)


@pytest.mark.parametrize(
    "answer", ["有点敏感", "会的", "yes I'm pregnant", "在哺乳期", "sometimes"]
)
def test_statements_are_not_read_as_no(answer: str) -> None:
    assert not _DENIAL.search(answer)
