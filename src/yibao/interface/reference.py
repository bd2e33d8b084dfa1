"""Reference data the interface reads on every call, cached in memory: institutions and the
catalogue. Imports through the registry call ``invalidate()``; other processes pick changes up
after ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from yibao.settlement import CatalogueItem
from yibao.storage import schema as s
from yibao.storage.db import reading


class Reference:
    def __init__(self, engine: Engine, ttl: float = 60.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._lock = threading.Lock()
        self._institutions: dict[str, dict[str, Any]] | None = None
        self._catalogue: dict[str, CatalogueItem] | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._institutions = None
            self._catalogue = None

    def _fresh(self) -> None:
        if self._institutions is not None and time.monotonic() - self._loaded_at < self.ttl:
            return
        with self._lock:
            if self._institutions is not None and time.monotonic() - self._loaded_at < self.ttl:
                return
            with reading(self.engine) as conn:
                institutions = {r.fixmedins_code: dict(r._mapping) for r in conn.execute(select(s.institutions))}
                catalogue = {r.med_list_codg: catalogue_item(r) for r in conn.execute(select(s.catalogue))}
            self._institutions, self._catalogue = institutions, catalogue
            self._loaded_at = time.monotonic()

    def institution(self, code: str) -> dict[str, Any] | None:
        self._fresh()
        found = self._institutions.get(code)  # type: ignore[union-attr]
        if found is None:
            # A new institution may have been registered by another process.
            with reading(self.engine) as conn:
                row = conn.execute(select(s.institutions).where(s.institutions.c.fixmedins_code == code)).first()
            if row is not None:
                found = dict(row._mapping)
                self._institutions[code] = found  # type: ignore[index]
        return found

    def catalogue(self) -> dict[str, CatalogueItem]:
        self._fresh()
        return self._catalogue  # type: ignore[return-value]


def catalogue_item(row: Any) -> CatalogueItem:
    return CatalogueItem(
        med_list_codg=row.med_list_codg,
        name=row.name or "",
        chrgitm_lv=row.chrgitm_lv,
        selfpay_prop=Fraction(row.selfpay_prop) if row.selfpay_prop is not None else Fraction(0),
        pric_uplmt_amt=Fraction(row.pric_uplmt_amt) if row.pric_uplmt_amt is not None else None,
        nego_drug=bool(row.nego_drug),
        lmt_used_flag=row.lmt_used_flag or "0",
        med_chrgitm_type=row.med_chrgitm_type or "",
        list_type=row.list_type or "",
    )
