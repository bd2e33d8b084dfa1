"""Helpers of the grouping tests."""

from yibao.grouping.drg import DrgGrouper


def grp(grouper: DrgGrouper, dx, px=(), *, gender=1, age=40, age_days=None, weight=None):
    """(status, mdc, adrg, drg) as plain strings."""
    status, mdc, adrg, drg = grouper.group_values(gender, age, age_days, weight, list(dx), list(px))
    return status.value, mdc, adrg, drg
