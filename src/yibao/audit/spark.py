"""The batch engine on Apache Spark (PySpark): the same rule templates, for data beyond one machine.

The standard views are Spark temporary views over the same region-format Parquet folder; ``ex`` and
``lx`` are cached so that the rules share one scan. Each rule's template is rendered in the Spark
dialect (:class:`yibao.audit.views.Dialect`) and its rows become :class:`~yibao.audit.findings.Finding`
exactly as DuckDB's do: the agreement test runs both on one region and demands identical findings.

Local mode needs Java 17. On a cluster, pass a ``SparkSession`` built for it to :func:`run`.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import views
from .batch import BatchResult, Progress
from .findings import dedupe, make_finding
from .library import Library, Rule

SPARK_TYPES = {"varchar": "string", "timestamp": "timestamp_ntz", "date": "date", "decimal(16,4)": "decimal(16,4)",
               "decimal(16,6)": "decimal(16,6)"}


def session(master: str = "local[2]", *, shuffle_partitions: int = 4):
    """A local Spark session tuned for one machine (UI off, UTC, few shuffle partitions)."""
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName("yibao-audit")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.sql.ansi.enabled", "false")
               .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
               .config("spark.driver.memory", os.environ.get("YIBAO_SPARK_DRIVER_MEMORY", "4g")))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def prepare(spark, region: Path, knowledge: dict[str, pa.Table], library: Library, workdir: Path) -> None:
    views.check_region(region)
    d = views.Dialect("spark")
    raw: dict[str, str] = {}
    for t in views.PARTITIONED:
        spark.read.option("basePath", str(region / t)).parquet(str(region / t)).createOrReplaceTempView(f"raw_{t}")
        raw[t] = f"raw_{t}"
    for t in views.SINGLE:
        spark.read.parquet(str(views.files(region, t)[0])).createOrReplaceTempView(f"raw_{t}")
        raw[t] = f"raw_{t}"
    for t in views.OPTIONAL:
        fs = views.files(region, t)
        if fs:
            spark.read.parquet(str(fs[0])).createOrReplaceTempView(f"raw_{t}")
        else:
            cols = ", ".join(f"cast(null as {SPARK_TYPES[ty]}) as {c}" for c, ty in views.OPTIONAL_SCHEMAS[t].items())
            spark.sql(f"select {cols} where false").createOrReplaceTempView(f"raw_{t}")
        raw[t] = f"raw_{t}"
    # knowledge tables and level ranks go through small Parquet files, so that their types are exact
    small = {"level_ranks": pa.table({"medins_lv": list(library.level_ranks),
                                      "lv_rank": pa.array(list(library.level_ranks.values()), pa.int64())}),
             **knowledge}
    for name, table in small.items():
        path = workdir / f"{name}.parquet"
        pq.write_table(table, path)
        spark.read.parquet(str(path)).createOrReplaceTempView(name)
    for name, sql in views.base_selects(d, raw, trace_from_lines=views.has_line_trace_codes(region)).items():
        spark.sql(sql).createOrReplaceTempView(name)
    for name, sql in views.derived_selects(d).items():
        spark.sql(sql).createOrReplaceTempView(name)
        spark.sql(f"cache table {name}")


def run(region: str | Path, library: Library, knowledge: dict[str, pa.Table], *, rules: list[Rule] | None = None,
        spark=None, progress: Progress | None = None) -> BatchResult:
    region = Path(region).resolve()
    own = spark is None
    spark = spark or session()
    result = BatchResult([])
    d = views.Dialect("spark")
    with tempfile.TemporaryDirectory(prefix="yibao-audit-spark-") as tmp:
        t0 = time.perf_counter()
        prepare(spark, region, knowledge, library, Path(tmp))
        result.timings["prepare"] = time.perf_counter() - t0
        todo = rules if rules is not None else library.enabled_rules()
        for i, rule in enumerate(todo):
            t0 = time.perf_counter()
            try:
                table = spark.sql(views.rule_sql(rule, d)).toArrow()
            except Exception as exc:
                result.errors[rule.rule_id] = str(exc).splitlines()[0]
                continue
            finally:
                result.timings[rule.rule_id] = time.perf_counter() - t0
            result.findings.extend(dedupe([make_finding(rule, row) for row in table.to_pylist()]))
            if progress:
                progress(rule.rule_id, i + 1, len(todo))
        for name in ("lx", "ex"):
            spark.sql(f"uncache table if exists {name}")
    if own:
        spark.stop()
    return result
