"""Resident identity card numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit region, 8-digit birth date, 3-digit sequence (odd for men, even for
women), and a check character computed with ISO 7064 MOD 11-2 ('X' stands for 10).
"""

from __future__ import annotations

import datetime as dt

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


class CertnoError(ValueError):
    pass


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise CertnoError(f"身份证号前17位应为数字: {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def validate(certno: str) -> None:
    """Raise CertnoError saying exactly what is wrong with an 18-character number."""
    if len(certno) != 18:
        raise CertnoError(f"证件号码 certno 应为18位，实际为{len(certno)}位: {certno}")
    if not certno[:17].isdigit():
        raise CertnoError(f"证件号码 certno 前17位应为数字: {certno}")
    try:
        dt.date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        raise CertnoError(f"证件号码 certno 中的出生日期 {certno[6:14]} 无效: {certno}") from None
    expected = check_char(certno[:17])
    if certno[17].upper() != expected:
        raise CertnoError(f"证件号码 certno 校验位错误: {certno}（末位应为 {expected}）")


def is_valid(certno: str) -> bool:
    try:
        validate(certno)
    except CertnoError:
        return False
    return True


def make(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid number from its parts (sequence 0–999; odd = male)."""
    first17 = f"{region:0>6}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def birth_date(certno: str) -> dt.date:
    return dt.date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))


def upgrade_15(old: str) -> str:
    """A 15-digit old number (YYMMDD, 19xx births) as its 18-digit form."""
    if len(old) != 15 or not old.isdigit():
        raise CertnoError(f"15位旧身份证号应为15位数字: {old}")
    first17 = old[:6] + "19" + old[6:]
    return first17 + check_char(first17)
