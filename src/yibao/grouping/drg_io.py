"""Reading discharge records from CSV and writing grouping results, in batch.

Input columns (header row required, UTF-8, a BOM is tolerated):

==============  ==========================================================================
``id``          the record's identifier, copied to the output
``gender``      1 male, 2 female (``男``/``女`` are read as 1/2); other values fail validation
``age``         whole years; empty = missing
``age_days``    age in days (needed when age is 0); empty = missing
``weight``      birth weight in grams; empty = missing, ``0`` is a value
``dx``          diagnoses separated by ``|`` (``,`` also accepted), principal first
``px``          procedures separated by ``|``, main procedure first; empty = none
``dept``, ``los``, ``leaving_type``  optional; read, not used by the CHS-DRG 1.1 rules
==============  ==========================================================================

A value that cannot be read (``age`` = ``abc``) stops the run with an :class:`InputError`
naming the line and the column. Output columns: ``id,status,mdc,adrg,drg``.

Large files are grouped by several processes (``jobs``; forked, so each inherits the compiled
scheme), each taking a byte range of the file that starts and ends on a line boundary.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from yibao.grouping.drg import DrgGrouper, DrgRecord, split_codes

REQUIRED_COLUMNS = ("id", "gender", "age", "age_days", "weight", "dx", "px")
OPTIONAL_COLUMNS = ("dept", "los", "leaving_type")
OUTPUT_COLUMNS = ("id", "status", "mdc", "adrg", "drg")
_GENDER_WORDS = {"男": 1, "女": 2}


class InputError(ValueError):
    """A record file that cannot be read; names the line and the column."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None) -> None:
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where += f"第{line}行 (line {line})"
        if column:
            where += f" 列 {column} (column {column})"
        super().__init__(f"{where}: {message}" if where else message)


def _int_field(text: str, line: int, column: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    t = text.strip()
    if t == "":
        return None
    try:
        return int(t)
    except ValueError:
        pass
    try:
        f = float(t)
    except ValueError:
        f = None
    if f is not None and f.is_integer():
        return int(f)
    raise InputError(f"不是整数: {text!r} (not a whole number)", line, column)


def _num_field(text: str, line: int, column: str) -> int | float | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    t = text.strip()
    if t == "":
        return None
    try:
        f = float(t)
    except ValueError:
        raise InputError(f"不是数字: {text!r} (not a number)", line, column) from None
    if f != f or f in (float("inf"), float("-inf")):
        raise InputError(f"不是有限数字: {text!r} (not a finite number)", line, column)
    return int(f) if f.is_integer() else f


def _gender_field(text: str, line: int) -> int | None:
    if text in ("1", "2"):
        return int(text)
    t = text.strip()
    if t in _GENDER_WORDS:
        return _GENDER_WORDS[t]
    return _int_field(t, line, "gender")


@dataclass(frozen=True)
class Header:
    index: dict[str, int]
    width: int


def read_header(header: list[str], source: str = "") -> Header:
    cols = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise InputError(
            f"缺少列 {', '.join(missing)} (missing column); 需要 {','.join(REQUIRED_COLUMNS)}，"
            f"实有 {','.join(cols)}", 1, missing[0])
    return Header({c: i for i, c in enumerate(cols)}, len(cols))


def parse_row(row: list[str], h: Header, line: int) -> DrgRecord:
    """One CSV row as a record; :class:`InputError` when a field cannot be read."""
    if len(row) < h.width:
        raise InputError(f"只有 {len(row)} 个字段，表头有 {h.width} 个 (too few fields)", line)
    ix = h.index
    px_text = row[ix["px"]].strip()
    dept = row[ix["dept"]] if "dept" in ix else None
    los = _num_field(row[ix["los"]], line, "los") if "los" in ix else None
    return DrgRecord(
        id=row[ix["id"]],
        gender=_gender_field(row[ix["gender"]], line),
        age=_int_field(row[ix["age"]], line, "age"),
        age_days=_int_field(row[ix["age_days"]], line, "age_days"),
        weight=_num_field(row[ix["weight"]], line, "weight"),
        dx=split_codes(row[ix["dx"]]),
        px=split_codes(px_text) if px_text else [],
        dept=dept,
        los=los,
        leaving_type=row[ix["leaving_type"]] if "leaving_type" in ix else None,
    )


def _codec(encoding: str) -> str:
    return "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding


def iter_records(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, DrgRecord]]:
    """(line number, record) for each row of a record file."""
    with open(path, encoding=_codec(encoding), newline="") as fh:
        reader = csv.reader(fh)
        try:
            try:
                header = read_header(next(reader))
            except StopIteration:
                raise InputError("文件为空，缺少表头 (empty file)", 1) from None
            for row in reader:
                if not row:
                    continue
                yield reader.line_num, parse_row(row, header, reader.line_num)
        except UnicodeDecodeError:
            raise InputError(f"不是 {encoding} 编码的文本（可用 --encoding gbk 等指定编码）",
                             reader.line_num + 1) from None


def _plain(text: str) -> bool:
    """True when a code list needs no cleaning: no comma and no blank."""
    return "," not in text and " " not in text and "\t" not in text


def _group_rows(grouper: DrgGrouper, rows, h: Header, first_line: int) -> list[tuple]:
    """Group rows read by a csv.reader whose first row is on ``first_line``."""
    ix = h.index
    i_id, i_g, i_a, i_ad, i_w, i_dx, i_px = (ix[c] for c in REQUIRED_COLUMNS)
    i_dept = ix.get("dept")
    i_los = ix.get("los")
    width = h.width
    gv = grouper.group_values
    out = []
    append = out.append
    line = first_line - 1
    for row in rows:
        line += 1
        if not row:
            continue
        if len(row) < width:
            raise InputError(f"只有 {len(row)} 个字段，表头有 {width} 个 (too few fields)", line)
        g = row[i_g]
        try:
            gender = int(g) if g else None
            age = int(row[i_a])
            ad = row[i_ad]
            age_days = int(ad) if ad else None
            w = row[i_w]
            weight = int(w) if w else None
        except ValueError:
            # The slow, careful reading (blanks, 男/女, 3200.0, errors naming the column).
            gender = _gender_field(g, line)
            age = _int_field(row[i_a], line, "age")
            age_days = _int_field(row[i_ad], line, "age_days")
            weight = _num_field(row[i_w], line, "weight")
        dxt = row[i_dx]
        dx = dxt.split("|") if (dxt and _plain(dxt)) else split_codes(dxt)
        pxt = row[i_px]
        if not pxt:
            px = []
        elif _plain(pxt):
            px = pxt.split("|")
        else:
            pxt = pxt.strip()
            px = split_codes(pxt) if pxt else []
        los = _num_field(row[i_los], line, "los") if i_los is not None else None
        dept = row[i_dept] if i_dept is not None else None
        status, mdc, adrg, drg = gv(gender, age, age_days, weight, dx, px, dept, los)
        append((row[i_id], status.value, mdc, adrg, drg))
    return out


# ----------------------------------------------------------------------------- parallel

_WORKER: dict = {}


def _worker_chunk(args: tuple[int, int, int]) -> tuple[int, list[tuple] | InputError]:
    start, end, first_line = args
    path, h, grouper = _WORKER["path"], _WORKER["header"], _WORKER["grouper"]
    encoding = _WORKER.get("encoding", "utf-8")
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        return start, InputError(f"不是 {encoding} 编码的文本（可用 --encoding gbk 等指定编码）",
                                 first_line + data[: exc.start].count(b"\n"))
    try:
        return start, _group_rows(grouper, csv.reader(io.StringIO(text, newline="")), h, first_line)
    except InputError as exc:
        return start, exc


def _chunks(path: Path, header_end: int, size: int, target: int) -> list[tuple[int, int, int]] | None:
    """Byte ranges of about ``target`` bytes ending on line boundaries, with the line number
    of each range's first row. None when a quoted field might span lines."""
    out = []
    with open(path, "rb") as fh:
        data = fh.read()
    if data.count(b"\r") != data.count(b"\r\n") or data.count(b'"') % 2:
        return None
    pos, line = header_end, 2
    while pos < size:
        end = min(size, pos + target)
        if end < size:
            nl = data.find(b"\n", end)
            end = size if nl == -1 else nl + 1
        chunk = data[pos:end]
        if chunk.count(b'"') % 2:
            return None
        out.append((pos, end, line))
        line += chunk.count(b"\n")
        pos = end
    return out


@dataclass
class GroupSummary:
    records: int
    counts: dict[str, int]
    jobs: int


def group_csv(in_path: str | Path, out_path: str | Path, grouper: DrgGrouper, *, jobs: int = 1,
              on_progress: Callable[[int, int], None] | None = None,
              chunk_bytes: int = 2_000_000, encoding: str = "utf-8") -> GroupSummary:
    """Group every record of ``in_path`` into ``out_path``. ``on_progress(done_bytes,
    total_bytes)`` is called as the work advances. Raises :class:`InputError`; in that case
    nothing is written."""
    in_path, out_path = Path(in_path), Path(out_path)
    size = in_path.stat().st_size
    with open(in_path, "rb") as fh:
        first = fh.readline()
    try:
        header_text = first.decode(_codec(encoding))
    except (UnicodeDecodeError, LookupError):
        raise InputError(f"表头不是 {encoding} 编码的文本（可用 --encoding gbk 等指定编码）", 1) from None
    try:
        header_row = next(csv.reader([header_text]))
    except StopIteration:
        raise InputError("文件为空，缺少表头 (empty file)", 1) from None
    h = read_header(header_row)
    header_end = len(first)

    results: list[tuple] = []
    ranges = _chunks(in_path, header_end, size, chunk_bytes)
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    used_jobs = 1
    if ranges and jobs > 1 and can_fork and len(ranges) > 1:
        used_jobs = min(jobs, len(ranges))
        _WORKER.update(path=str(in_path), header=h, grouper=grouper, encoding=_codec(encoding))
        ctx = multiprocessing.get_context("fork")
        parts: dict[int, list[tuple]] = {}
        errors: list[tuple[int, InputError]] = []
        sizes = {s: e - s for s, e, _ in ranges}
        done = header_end
        try:
            with ctx.Pool(used_jobs) as pool:
                for start, part in pool.imap_unordered(_worker_chunk, ranges):
                    if isinstance(part, InputError):
                        errors.append((start, part))
                        continue
                    parts[start] = part
                    done += sizes[start]
                    if on_progress:
                        on_progress(done, size)
        finally:
            _WORKER.clear()
        if errors:
            raise min(errors, key=lambda e: e[0])[1]
        for start, _, _ in ranges:
            results.extend(parts[start])
    elif ranges is not None:
        _WORKER.update(path=str(in_path), header=h, grouper=grouper, encoding=_codec(encoding))
        try:
            for rng in ranges:
                _, part = _worker_chunk(rng)
                if isinstance(part, InputError):
                    raise part
                results.extend(part)
                if on_progress:
                    on_progress(rng[1], size)
        finally:
            _WORKER.clear()
    else:
        # Quoted fields may span lines: read the whole file with one csv reader.
        try:
            with open(in_path, encoding=_codec(encoding), newline="") as fh:
                fh.readline()
                results = _group_rows(grouper, csv.reader(fh), h, 2)
        except UnicodeDecodeError:
            raise InputError(f"不是 {encoding} 编码的文本（可用 --encoding gbk 等指定编码）") from None
    if on_progress:
        on_progress(size, size)

    counts: dict[str, int] = {}
    tmp = out_path.with_name(out_path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(OUTPUT_COLUMNS)
        writer.writerows(results)
    os.replace(tmp, out_path)
    for r in results:
        counts[r[1]] = counts.get(r[1], 0) + 1
    return GroupSummary(len(results), counts, used_jobs)
