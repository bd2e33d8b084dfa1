"""智能审核 (intelligent audit): one rule library, checked before settlement (3101/3102) and in batch
over all history (DuckDB, or Spark for data beyond one machine).

- :mod:`yibao.audit.library` — the rule library (YAML data) and its checks;
- :mod:`yibao.audit.types` — the rule types (templates in ``templates/*.sql``);
- :mod:`yibao.audit.knowledge` — knowledge tables (CSV/Parquet a bureau supplies);
- :mod:`yibao.audit.batch` / :mod:`yibao.audit.spark` — the batch engines;
- :mod:`yibao.audit.realtime` — 3101/3102 on one encounter plus the person's history;
- :mod:`yibao.audit.store` — findings and their review (待核实 → 确认 / 排除).
"""
