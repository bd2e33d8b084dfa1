"""Helpers of the audit tests: small generated regions with every irregularity several times."""

from __future__ import annotations

from pathlib import Path

# Rates raised so that a region of a few thousand persons has every pattern several times.
RATES = {"split_admission": 0.2, "overlong_stay": 0.05, "phantom_stay": 0.1, "two_places": 0.05,
         "drg_upcoding": 0.05, "care_after_death": 0.6, "gender_mismatch": 0.004, "age_mismatch": 0.004,
         "level_mismatch": 0.004, "exclusive_items": 0.01, "included_consumable": 0.01, "stock_mismatch": 0.05,
         "over_testing_hba1c": 0.3, "trace_code_resale": 0.01}


def generate(out: Path, persons: int, seed: int) -> Path:
    from yibao.synth import generate as gen

    gen(persons=persons, seed=seed, out=out, rates=RATES, progress=False)
    return out
