import datetime as dt

import pytest

from yibao.registry import certno
from yibao.registry.levels import LevelError, settlement_level


def test_known_valid_number():
    # 11010519491231002X is the number printed in GB 11643 as its example.
    certno.validate("11010519491231002X")


def test_check_digit_computed_and_checked():
    number = certno.make("511402", dt.date(1980, 1, 1), 123)
    assert number == "511402198001011230"
    certno.validate(number)
    wrong = number[:-1] + "1"
    with pytest.raises(certno.CertnoError, match="校验位错误"):
        certno.validate(wrong)


@pytest.mark.parametrize("bad, why", [("5114021980010112", "18位"), ("51140219801301123X", "出生日期"), ("5114021980010112AB", "前17位")])
def test_malformed_numbers_say_why(bad, why):
    with pytest.raises(certno.CertnoError, match=why):
        certno.validate(bad)


def test_upgrade_15_digit_old_number():
    new = certno.upgrade_15("110105491231002")
    assert new == "11010519491231002X"


@pytest.mark.parametrize(
    "given, level",
    [("level3", "level3"), ("1", "level3"), ("12", "level3"), ("5", "level2"), ("13", "level2"), ("8", "level1"), ("14", "level1"), ("township", "township"), ("village", "township")],
)
def test_levels(given, level):
    assert settlement_level(given) == level


def test_no_level_is_refused():
    with pytest.raises(LevelError, match="无等级"):
        settlement_level("11")
    with pytest.raises(LevelError, match="未知"):
        settlement_level("level9")
