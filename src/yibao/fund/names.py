"""Names for diagnosis codes in reports, when the encounters carry none.

Encounters settled through the bulk channel store the code only. Names come from the ICD-10
list shipped with the demo DRG scheme (``yibao/grouping/data/demo-scheme/icd10.csv``) and, for
codes not in it, from the synthetic region's disease list; otherwise the code is shown alone.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from pathlib import Path


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    out: dict[str, str] = {}
    for package, rel in (("yibao.synth", "data/diseases.csv"), ("yibao.grouping", "data/demo-scheme/icd10.csv")):
        try:
            path = Path(str(resources.files(package) / rel))
        except ModuleNotFoundError:
            continue
        if not path.exists():
            continue
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            code_col = next((c for c in ("code", "icd10", "diag_code", "dscg_maindiag_code") if c in fields), fields[0] if fields else None)
            name_col = next((c for c in ("name", "diag_name", "dscg_maindiag_name", "disease") if c in fields), None)
            if code_col is None or name_col is None:
                continue
            for row in reader:
                code, name = (row.get(code_col) or "").strip(), (row.get(name_col) or "").strip()
                if code and name:
                    out[code] = name
    return out


def disease_name(code: str) -> str:
    if not code:
        return "（未填主诊断）"
    return _names().get(code, "")
