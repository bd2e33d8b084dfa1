"""Orchestration: build the region, stream chunks of persons × years to Parquet, write the manifest."""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from . import catalogue as catalogue_mod
from ._util import (
    TableWriter,
    date_array,
    decimal_array,
    round_half_up_fen,
    sha256_file,
    stream,
    write_table,
    year_bounds,
)
from .care import active_window, drop_inside_stays, finish_encounters, schedule
from .irregular import (
    DEFAULT_RATES,
    PATTERNS,
    LineInjector,
    add_refunds,
    encounter_labels,
    inject_encounter_flags,
    inject_schedule,
)
from .lines import LineBuilder, procedures_of, sanitise
from .model import build_context
from .population import build_population, persons_table
from .region import admdvs_table, build_region, institutions_table
from .roster import build_roster
from .tables import (
    DIAGNOSES,
    DRG_COLUMNS,
    ENCOUNTERS,
    FEE_LINES,
    LABELS,
    PROCEDURES,
    SALES,
    finalize,
)

GENERATOR_VERSION = "1.0.0"
CHUNK_PERSONS = 25_000
PARTITIONED = ("encounters", "diagnoses", "procedures", "fee_lines")
CARE_RATES = {"outpatient_scale": 1.04, "pharmacy_scale": 1.0, "inpatient_scale": 1.14, "complication_rate": 0.06}


def parse_years(years: str | list[int] | None) -> list[int]:
    if years is None:
        return [2024]
    if isinstance(years, (list, tuple)):
        ys = sorted(int(y) for y in years)
    else:
        text = str(years).strip()
        if "-" in text:
            a, b = text.split("-", 1)
            ys = list(range(int(a), int(b) + 1))
        else:
            ys = [int(y) for y in text.split(",")]
    if not ys or len(ys) > 10 or ys[0] < 2000 or ys[-1] > 2099:
        raise ValueError(f"years must be 1–10 calendar years between 2000 and 2099: {years!r}")
    return ys


def generate(persons: int = 20_000, seed: int = 1, out: str | Path = "region", years=None, counties: int = 6,
             rates: dict[str, float] | None = None, codes: str | Path | None = None, progress: bool = False,
             chunk_persons: int = CHUNK_PERSONS, overwrite: bool = True) -> dict:
    """Generate a synthetic region into ``out`` and return its manifest.

    Same arguments → byte-identical files. ``rates`` overrides irregularity rates by pattern id
    (see :data:`yibao.synth.irregular.DEFAULT_RATES`).
    """
    if persons < 100:
        raise ValueError("persons must be at least 100")
    ylist = parse_years(years)
    out = Path(out)
    if out.exists() and overwrite:
        for name in list(out.iterdir()):
            if name.is_dir():
                shutil.rmtree(name)
            else:
                name.unlink()
    out.mkdir(parents=True, exist_ok=True)
    irr = dict(DEFAULT_RATES)
    for k, v in (rates or {}).items():
        if k not in irr:
            raise ValueError(f"unknown irregularity pattern: {k} (known: {', '.join(PATTERNS)})")
        irr[k] = float(v)
    cat = catalogue_mod.build()
    region = build_region(seed, persons, counties)
    pop = build_population(seed, region, persons, ylist)
    ctx = build_context(seed, ylist, cat, region, pop, CARE_RATES)
    if codes:
        _check_codes(ctx, Path(codes))
    _, last_day = year_bounds(ylist[-1])
    counts: dict[str, int] = {}

    def static(name: str, table: pa.Table) -> None:
        counts[name] = write_table(out / f"{name}.parquet", table)

    alive_end = (pop.death > last_day) & (pop.move_out > last_day)
    static("admdvs", admdvs_table(region, np.bincount(pop.county[alive_end], minlength=len(region.admdvs))))
    static("institutions", institutions_table(region))
    static("persons", persons_table(pop, region, last_day))
    static("catalogue", catalogue_mod.catalogue_table(cat))
    for name, t in catalogue_mod.knowledge_tables(cat).items():
        static(name, t)

    writers = {}
    for y in ylist:
        for name, schema in zip(PARTITIONED, (ENCOUNTERS, DIAGNOSES, PROCEDURES, FEE_LINES)):
            writers[(name, y)] = TableWriter(out / name / f"year={y}" / "part-0.parquet", schema)
    labels_w = TableWriter(out / "labels.parquet", LABELS)
    sales_w = TableWriter(out / "sales.parquet", SALES)
    drg_path = out / "drg_input.csv"
    drg_w = None
    sold: dict[tuple[int, int, int], list[int]] = {}
    chunks = list(range(0, pop.n, chunk_persons))
    bar = _progress(progress)
    with bar as p:
        task = p.add_task("生成就诊与费用", total=len(chunks) * len(ylist)) if p else None
        for ci, lo in enumerate(chunks):
            persons_idx = np.arange(lo, min(lo + chunk_persons, pop.n))
            for y in ylist:
                rng = stream(seed, "care", y, ci)
                enc = schedule(ctx, y, persons_idx, rng)
                s, e = active_window(ctx, persons_idx, y)
                enc = inject_schedule(ctx, enc, persons_idx, s, e, y, rng, irr)
                enc = drop_inside_stays(enc)
                enc = finish_encounters(ctx, enc, rng)
                inject_encounter_flags(ctx, enc, rng, irr)
                builder = LineBuilder(ctx, enc, y, rng)
                L = builder.build()
                L = sanitise(ctx, enc, L)
                L = add_refunds(ctx, enc, L, rng)
                enc_labels = encounter_labels(ctx, enc, L)
                L, line_labels, dups = LineInjector(ctx, enc, L, y, rng, irr).run()
                res = finalize(ctx, y, ci, enc, L, procedures_of(builder), enc_labels + line_labels, dups, rng)
                for name in PARTITIONED:
                    writers[(name, y)].write(res[name])
                labels_w.write(res["labels"])
                sales_w.write(res["sales"])
                drg = res["drg_input"].select(DRG_COLUMNS)
                if drg_w is None:
                    drg_file = open(drg_path, "wb")  # noqa: SIM115 - closed after the loop
                    drg_file.write((",".join(DRG_COLUMNS) + "\n").encode())
                    drg_w = pacsv.CSVWriter(drg_file, drg.schema, write_options=pacsv.WriteOptions(
                        include_header=False, quoting_style="none"))
                drg_w.write_table(drg)
                inst, item, boxes, pric = res["pharm_sold"]
                for a_, b_, c_, d_ in zip(inst.tolist(), item.tolist(), boxes.tolist(), pric.tolist()):
                    v = sold.setdefault((a_, b_, y), [0, 0])
                    v[0] += c_
                    v[1] = max(v[1], d_)
                if p:
                    p.advance(task)
    for (name, y), w in writers.items():
        w.close()
        counts[f"{name}/year={y}"] = w.rows
        counts[name] = counts.get(name, 0) + w.rows
    if drg_w is not None:
        drg_w.close()
        drg_file.close()
    purchases, stock_labels = _purchases(ctx, sold, ylist, irr["stock_mismatch"])
    counts["purchases"] = write_table(out / "purchases.parquet", purchases)
    labels_w.write(stock_labels)
    labels_w.close()
    sales_w.close()
    counts["labels"] = labels_w.rows
    counts["sales"] = sales_w.rows
    roster, truth = build_roster(seed, pop, region.admdvs, ylist)
    static("civil_affairs_roster", roster)
    static("roster_truth", truth)
    files = sorted(p_.relative_to(out).as_posix() for p_ in out.rglob("*") if p_.is_file() and p_.name != "manifest.json")
    manifest = {
        "generator": "yibao.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "persons": persons,
        "persons_total": int(pop.n),
        "years": ylist,
        "counties": counties,
        "prefecture": region.prefecture,
        "rates": irr,
        "row_counts": dict(sorted(counts.items())),
        "files": {f: sha256_file(out / f) for f in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def _purchases(ctx, sold, years, rate):
    """Purchases per pharmacy × drug: an opening stock and monthly deliveries that cover sales,
    except for the stock_mismatch pairs, whose closing balance of one year goes negative."""
    rng = stream(ctx.seed, "purchases")
    keys = sorted({(a, b) for a, b, _ in sold})
    rows = {k: [] for k in ("inst", "item", "day", "type", "cnt", "pric")}
    labels = {k: [] for k in ("inst", "item", "year", "amount", "detail")}
    for inst, item in keys:
        balance = 0
        price = ctx.cat.arrays["price"][item]
        bad_year = None
        s_first = sold.get((inst, item, years[0]), [0, 0])[0]
        if rng.random() < rate and s_first >= 3:
            bad_year = years[int(rng.integers(0, len(years)))]
        for yi, y in enumerate(years):
            ys, ye = year_bounds(y)
            s_y, p_max = sold.get((inst, item, y), [0, 0])
            unit = int(min(price, p_max) * 0.7) // 10_000 * 10_000 if p_max else int(price * 0.7) // 10_000 * 10_000
            if yi == 0:
                opening = int(np.ceil(s_y * rng.uniform(0.0, 0.3)))
                if opening:
                    _row(rows, inst, item, ys, "期初库存", opening, unit)
                balance += opening
            if bad_year == y and s_y >= 3:
                short = int(np.ceil(s_y * rng.uniform(0.2, 0.5)))
                buy = max(0, s_y - balance - short)
            else:
                need = max(0, s_y - balance)
                buy = need + int(np.ceil(s_y * rng.uniform(0.05, 0.3)))
            balance += buy - s_y
            if bad_year == y and balance < 0:
                labels["inst"].append(inst)
                labels["item"].append(item)
                labels["year"].append(y)
                amt = int(round_half_up_fen(np.array([p_max or price]), np.array([-balance * 10_000]))[0])
                labels["amount"].append(amt)
                labels["detail"].append(f"{y}年末库存为{balance}（期初+购进-销售），销售数量超过购进")
            # deliveries: split into up to 4 monthly batches
            if buy > 0:
                parts = int(min(buy, rng.integers(1, 5)))
                cuts = np.sort(rng.choice(np.arange(1, buy), size=parts - 1, replace=False)) if parts > 1 else np.zeros(0, int)
                qty = np.diff(np.r_[0, cuts, buy])
                days = np.sort(ys + rng.integers(0, ye - ys + 1, parts))
                for d_, q_ in zip(days, qty):
                    _row(rows, inst, item, int(d_), "采购入库", int(q_), unit)
            if balance < 0:
                # restore the stock the next year so that only the labelled year is negative
                balance_fix = -balance
                if yi + 1 < len(years):
                    ys2, _ = year_bounds(years[yi + 1])
                    _row(rows, inst, item, ys2, "采购入库", balance_fix, unit)
                    balance = 0
    n = len(rows["inst"])
    inst_code = np.array(ctx.region.inst_code, dtype=object)
    purchases = pa.table({
        "fixmedins_code": pa.array(inst_code[np.array(rows["inst"], np.int64)].tolist() if n else [], pa.string()),
        "med_list_codg": pa.array([ctx.cat.code[i] for i in rows["item"]], pa.string()),
        "purc_date": date_array(np.array(rows["day"], np.int64)),
        "purc_type": pa.array(rows["type"], pa.string()),
        "purc_cnt": decimal_array(np.array(rows["cnt"], np.int64) * 10_000, 16, 4),
        "purc_pric": decimal_array(np.array(rows["pric"], np.int64), 16, 6),
        "purc_amt": decimal_array(round_half_up_fen(np.array(rows["pric"], np.int64), np.array(rows["cnt"], np.int64) * 10_000), 16, 2),
    })
    m = len(labels["inst"])
    from .irregular import PATTERNS as P
    lab = pa.table({
        "mdtrt_id": pa.array([None] * m, pa.string()), "feedetl_sn": pa.array([None] * m, pa.string()),
        "pattern": pa.array(["stock_mismatch"] * m, pa.string()),
        "pattern_name": pa.array([P["stock_mismatch"]] * m, pa.string()),
        "amount_at_stake": decimal_array(np.array(labels["amount"], np.int64), 16, 2),
        "psn_no": pa.array([None] * m, pa.string()),
        "fixmedins_code": pa.array([ctx.region.inst_code[i] for i in labels["inst"]], pa.string()),
        "med_list_codg": pa.array([ctx.cat.code[i] for i in labels["item"]], pa.string()),
        "year": pa.array(np.array(labels["year"], np.int16)), "detail": pa.array(labels["detail"], pa.string()),
    }, schema=LABELS)
    return purchases, lab


def _row(rows, inst, item, day, typ, cnt, pric):
    rows["inst"].append(inst)
    rows["item"].append(item)
    rows["day"].append(day)
    rows["type"].append(typ)
    rows["cnt"].append(cnt)
    rows["pric"].append(max(pric, 10_000))


def _check_codes(ctx, codes_dir: Path) -> None:
    """With --codes DIR (a folder holding icd10.csv and icd9cm3.csv, code,name): check that every
    diagnosis and procedure code the generator uses is in the bureau's lists, and name them as
    those lists do."""
    import csv
    missing = []
    for fname, used, names in (("icd10.csv", ctx.dx_code, ctx.dx_name), ("icd9cm3.csv", ctx.proc_code, ctx.proc_name)):
        path = codes_dir / fname
        if not path.exists():
            raise FileNotFoundError(f"{path} not found")
        with open(path, encoding="utf-8") as f:
            known = {row["code"]: row["name"] for row in csv.DictReader(f)}
        missing += [c for c in used if c not in known]
        names[:] = [known.get(c) or n for c, n in zip(used, names)]
    if missing:
        raise ValueError(f"codes not in the supplied lists: {', '.join(missing)}")


def _progress(enabled: bool):
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
