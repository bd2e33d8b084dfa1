"""One-stop settlement (一站式结算): the pure engine that splits an encounter between funds.

Imports neither the database nor the web framework; see docs/architecture.md.
"""

from .engine import SettlementError, benefit_category, is_inpatient, settle, totals_of
from .lines import LineError, classify_line, classify_lines
from .model import (
    CatalogueItem,
    Claim,
    FeeLine,
    FundRow,
    InstitutionFacts,
    LayerAccum,
    LineSplit,
    PersonFacts,
    SettlementResult,
    StateDelta,
    Totals,
    YearState,
)

__all__ = [
    "CatalogueItem",
    "Claim",
    "FeeLine",
    "FundRow",
    "InstitutionFacts",
    "LayerAccum",
    "LineError",
    "LineSplit",
    "PersonFacts",
    "SettlementError",
    "SettlementResult",
    "StateDelta",
    "Totals",
    "YearState",
    "benefit_category",
    "classify_line",
    "classify_lines",
    "is_inpatient",
    "settle",
    "totals_of",
]
