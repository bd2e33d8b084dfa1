"""yibao.synth: a synthetic region (persons, institutions, catalogue, claims, labelled irregularities).

    from yibao.synth import generate
    manifest = generate(persons=20_000, seed=1, out="region", years="2022-2024")
"""

from .generator import GENERATOR_VERSION, generate, parse_years

__all__ = ["GENERATOR_VERSION", "generate", "parse_years"]
