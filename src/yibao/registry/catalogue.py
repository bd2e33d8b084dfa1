"""The catalogue the product ships for demos and scenarios, and loading catalogue files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from yibao.yamlio import load_yaml

DEMO_CATALOGUE = Path(str(resources.files("yibao.registry") / "data" / "demo-catalogue.yaml"))


def demo_catalogue() -> list[dict[str, Any]]:
    entries = load_yaml(DEMO_CATALOGUE)
    return [dict(e) for e in entries]


def merge(base: list[dict[str, Any]], overrides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries of ``overrides`` replace the entries of ``base`` with the same code, as a whole."""
    by_code = {str(e["med_list_codg"]): e for e in base}
    for entry in overrides:
        by_code[str(entry["med_list_codg"])] = entry
    return list(by_code.values())
