"""Small vectorised helpers shared by the generator: seeded streams, Arrow builders, writers."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

EPOCH = np.datetime64("1970-01-01", "D")


def stream(seed: int, *keys: object) -> np.random.Generator:
    """An independent random stream for (seed, key...): the same keys always give the same draws.

    Keys are strings or ints; strings go through CRC-32 so the stream does not depend on
    Python's randomised ``hash``.
    """
    ints = [int(seed) & 0xFFFFFFFF]
    for k in keys:
        ints.append(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) & 0xFFFFFFFF)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(ints)))


def day_of(date: str) -> int:
    """'2024-01-01' → days since 1970-01-01."""
    return int((np.datetime64(date, "D") - EPOCH).astype(np.int64))


def year_bounds(year: int) -> tuple[int, int]:
    """First and last day (days since epoch) of a calendar year."""
    return day_of(f"{year}-01-01"), day_of(f"{year}-12-31")


def year_of_days(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(
        np.int32
    )


def age_years(brdy: np.ndarray, on_day: np.ndarray) -> np.ndarray:
    """Completed years of age on a day (both in days since epoch), vectorised and exact."""
    b = brdy.astype("datetime64[D]")
    d = np.asarray(on_day).astype("datetime64[D]")
    by = b.astype("datetime64[Y]").astype(np.int64)
    dy = d.astype("datetime64[Y]").astype(np.int64)
    bdoy = (b - b.astype("datetime64[Y]")).astype(np.int64)
    ddoy = (d - d.astype("datetime64[Y]")).astype(np.int64)
    # compare month/day rather than day-of-year so that leap years do not shift birthdays
    bm = b.astype("datetime64[M]").astype(np.int64) % 12
    dm = d.astype("datetime64[M]").astype(np.int64) % 12
    bdd = (b - b.astype("datetime64[M]")).astype(np.int64)
    ddd = (d - d.astype("datetime64[M]")).astype(np.int64)
    before = (dm < bm) | ((dm == bm) & (ddd < bdd))
    del bdoy, ddoy
    return (dy - by - before.astype(np.int64)).astype(np.int32)


def decimal_array(unscaled: np.ndarray, precision: int, scale: int) -> pa.Array:
    """A decimal128 Arrow array from int64 unscaled values (value = unscaled × 10^-scale)."""
    v = np.ascontiguousarray(unscaled, dtype=np.int64)
    words = np.empty((len(v), 2), dtype=np.int64)
    words[:, 0] = v
    words[:, 1] = v >> 63  # sign extension to 128 bits (little endian)
    return pa.Array.from_buffers(pa.decimal128(precision, scale), len(v), [None, pa.py_buffer(words)])


def decimal_array_nullable(unscaled: np.ndarray, valid: np.ndarray, precision: int, scale: int) -> pa.Array:
    arr = decimal_array(np.where(valid, unscaled, 0), precision, scale)
    if valid.all():
        return arr
    mask = pa.array(~valid)
    return pc.if_else(mask, pa.scalar(None, arr.type), arr)


def take_str(values: list[str] | pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Strings by index (plain string array, not dictionary); idx < 0 or ~valid gives null."""
    dictionary = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    idx = np.asarray(idx, dtype=np.int64)
    mask = idx < 0 if valid is None else (~valid | (idx < 0))
    ind = pa.array(np.where(mask, 0, idx), pa.int32(), mask=mask if mask.any() else None)
    return dictionary.take(ind)


def int_str(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as decimal text, left-padded with zeros to ``width``."""
    s = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    if width:
        s = pc.utf8_lpad(s, width=width, padding="0")
    return s


def concat_str(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def timestamp_array(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    s = np.asarray(seconds, dtype=np.int64)
    return pa.array(s, pa.timestamp("s"), mask=None if valid is None else ~valid)


def date_array(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    d = np.asarray(days, dtype=np.int32)
    return pa.array(d, pa.date32(), mask=None if valid is None or valid.all() else ~valid)


WRITE_OPTIONS = dict(
    compression="zstd",
    compression_level=1,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
    store_schema=False,
    coerce_timestamps="ms",
    allow_truncated_timestamps=False,
)


class TableWriter:
    """Streams record batches of one table to one Parquet file with fixed, deterministic options."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        self.schema = schema
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(str(path), schema, **WRITE_OPTIONS)
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table, row_group_size=1 << 20)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def write_table(path: Path, table: pa.Table, schema: pa.Schema | None = None) -> int:
    w = TableWriter(path, schema or table.schema)
    w.write(table)
    w.close()
    return table.num_rows


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def round_half_up_fen(pric_micro: np.ndarray, cnt_e4: np.ndarray) -> np.ndarray:
    """det_item_fee_sumamt in fen = round_half_up(pric × cnt), exactly, in integers.

    pric is in 1e-6 yuan and cnt in 1e-4 units, so pric × cnt is in 1e-10 yuan = 1e-8 fen.
    Ties go away from zero (a refund line is exactly the negative of the line it refunds).
    """
    p = np.asarray(pric_micro, dtype=np.int64)
    c = np.asarray(cnt_e4, dtype=np.int64)
    if len(p) and (np.abs(p).max() >= 10**11 or np.abs(c).max() >= 9 * 10**7):
        prod = np.array([int(a) * int(b) for a, b in zip(p, c)], dtype=object)
        out = np.array([(abs(x) + 50_000_000) // 100_000_000 * (1 if x >= 0 else -1) for x in prod])
        return out.astype(np.int64)
    prod = p * c
    mag = (np.abs(prod) + 50_000_000) // 100_000_000
    return np.where(prod < 0, -mag, mag)
