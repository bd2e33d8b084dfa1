"""Small hand-made data for the audit tests: a few persons, institutions, encounters and lines.

A :class:`Dataset` is written as a region-format folder (what the batch engines read) and turned into
real-time cases (what 3101/3102 evaluate), so that one hand-made situation is checked by both engines.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from yibao.audit import knowledge as kn
from yibao.audit.library import Library
from yibao.audit.online import Case, Compiled, Encounter, Line, Person, Visit, catalogue_index


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text if len(text) > 10 else text + " 09:00:00")


def d(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


@dataclass
class Dataset:
    persons: list[dict] = field(default_factory=list)
    institutions: list[dict] = field(default_factory=list)
    catalogue: list[dict] = field(default_factory=list)
    encounters: list[dict] = field(default_factory=list)
    diagnoses: list[dict] = field(default_factory=list)
    procedures: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    sales: list[dict] = field(default_factory=list)
    purchases: list[dict] = field(default_factory=list)
    kb: dict[str, list[dict]] = field(default_factory=dict)

    # ── building ──
    def person(self, psn_no: str, gend: str = "1", brdy: str = "1970-05-01", *, death: str | None = None,
               insu_from: str = "2010-01-01", move_out: str | None = None) -> str:
        self.persons.append(dict(psn_no=psn_no, gend=gend, brdy=d(brdy), death_date=d(death), psn_insu_date=d(insu_from),
                                 move_out_date=d(move_out)))
        return psn_no

    def inst(self, code: str, level: str | None = "level2") -> str:
        self.institutions.append(dict(fixmedins_code=code, medins_lv=level))
        return code

    def item(self, code: str, name: str, *, chrg: str = "04", list_type: str = "201", lmt: str = "0",
             ceiling: str | None = None) -> str:
        if not any(c["med_list_codg"] == code for c in self.catalogue):
            self.catalogue.append(dict(med_list_codg=code, med_list_name=name, list_type=list_type, med_chrgitm_type=chrg,
                                       chrgitm_lv="01", pric_uplmt_amt=None if ceiling is None else Decimal(ceiling),
                                       lmt_used_flag=lmt))
        return code

    def enc(self, mdtrt_id: str, psn_no: str, inst: str, *, med_type: str = "11", begin: str = "2024-03-01 09:00:00",
            end: str | None = None, dx: list[str] = ("J06.900",), dept: str | None = "A03.01", third_party: str | None = None,
            insutype: str = "390", procedures: list[str] = ()) -> str:
        exp = None if third_party is None else json.dumps({"TRUM_FLAG": "1", "REL_TTP_FLAG": third_party})
        self.encounters.append(dict(mdtrt_id=mdtrt_id, psn_no=psn_no, fixmedins_code=inst, insutype=insutype,
                                    med_type=med_type, begntime=ts(begin), endtime=ts(end or begin),
                                    dscg_maindiag_code=dx[0] if dx else None, dept=dept, dscg_way=None, exp_content=exp))
        for i, code in enumerate(dx, start=1):
            self.diagnoses.append(dict(mdtrt_id=mdtrt_id, diag_srt_no=i, diag_code=code, maindiag_flag="1" if i == 1 else "0"))
        for i, code in enumerate(procedures, start=1):
            self.procedures.append(dict(mdtrt_id=mdtrt_id, srt_no=i, oprn_oprt_code=code))
        return mdtrt_id

    def line(self, mdtrt_id: str, sn: int | str, code: str, *, pric: str = "10", cnt: str = "1", at: str | None = None,
             dept: str | None = None, trace: str | None = None) -> tuple[str, str]:
        enc = next(e for e in self.encounters if e["mdtrt_id"] == mdtrt_id)
        p, c = Decimal(pric), Decimal(cnt)
        amount = (p * c).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.lines.append(dict(mdtrt_id=mdtrt_id, feedetl_sn=str(sn), init_feedetl_sn=None, med_list_codg=code,
                               fee_ocur_time=ts(at) if at else enc["begntime"], pric=p, cnt=c, det_item_fee_sumamt=amount,
                               bilg_dept_codg=dept, drug_trac_codg=trace))
        return (mdtrt_id, str(sn))

    def knowledge(self, table: str, *rows: dict) -> None:
        self.kb.setdefault(table, []).extend(rows)

    def merge(self, other: Dataset) -> None:
        for name in ("persons", "institutions", "encounters", "diagnoses", "procedures", "lines", "sales", "purchases"):
            getattr(self, name).extend(getattr(other, name))
        for c in other.catalogue:
            if not any(x["med_list_codg"] == c["med_list_codg"] for x in self.catalogue):
                self.catalogue.append(c)
        for t, rows in other.kb.items():
            for r in rows:
                if r not in self.kb.setdefault(t, []):
                    self.kb[t].append(r)

    # ── writing ──
    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        D2, D4, D6 = pa.decimal128(16, 2), pa.decimal128(16, 4), pa.decimal128(16, 6)
        st, tsm = pa.string(), pa.timestamp("ms")
        schemas = {
            "persons": {"psn_no": st, "gend": st, "brdy": pa.date32(), "death_date": pa.date32(),
                        "psn_insu_date": pa.date32(), "move_out_date": pa.date32()},
            "institutions": {"fixmedins_code": st, "medins_lv": st},
            "catalogue": {"med_list_codg": st, "med_list_name": st, "list_type": st, "med_chrgitm_type": st,
                          "chrgitm_lv": st, "pric_uplmt_amt": D6, "lmt_used_flag": st},
            "encounters": {"mdtrt_id": st, "psn_no": st, "fixmedins_code": st, "insutype": st, "med_type": st,
                           "begntime": tsm, "endtime": tsm, "dscg_maindiag_code": st, "dept": st, "dscg_way": st,
                           "exp_content": st},
            "diagnoses": {"mdtrt_id": st, "diag_srt_no": pa.int32(), "diag_code": st, "maindiag_flag": st},
            "procedures": {"mdtrt_id": st, "srt_no": pa.int32(), "oprn_oprt_code": st},
            "fee_lines": {"mdtrt_id": st, "feedetl_sn": st, "init_feedetl_sn": st, "med_list_codg": st,
                          "fee_ocur_time": tsm, "pric": D6, "cnt": D4, "det_item_fee_sumamt": D2, "bilg_dept_codg": st,
                          "drug_trac_codg": st},
            "sales": {"fixmedins_code": st, "med_list_codg": st, "sel_time": tsm, "cnt": D4, "pric": D6},
            "purchases": {"fixmedins_code": st, "med_list_codg": st, "purc_date": pa.date32(), "purc_cnt": D4},
        }
        rows = {"persons": self.persons, "institutions": self.institutions, "catalogue": self.catalogue,
                "encounters": self.encounters, "diagnoses": self.diagnoses, "procedures": self.procedures,
                "fee_lines": self.lines, "sales": self.sales, "purchases": self.purchases}
        for name, cols in schemas.items():
            schema = pa.schema(list(cols.items()))
            table = pa.Table.from_pylist([{k: r.get(k) for k in cols} for r in rows[name]], schema=schema)
            if name in ("encounters", "diagnoses", "procedures", "fee_lines"):
                (folder / name / "year=2024").mkdir(parents=True, exist_ok=True)
                pq.write_table(table, folder / name / "year=2024" / "part-0.parquet")
            else:
                pq.write_table(table, folder / f"{name}.parquet")
        return folder

    def knowledge_tables(self, library: Library) -> dict[str, pa.Table]:
        out = {}
        for name, spec in library.knowledge.items():
            rows = self.kb.get(name, [])
            cols = {c: pa.array([None if r.get(c) is None else str(r.get(c)) for r in rows], pa.string())
                    for c in spec.columns}
            out[name] = kn.conform(pa.table(cols), spec, f"test {name}") if rows else kn.empty(spec)
        return out

    # ── real-time cases ──
    def compiled(self, library: Library) -> Compiled:
        return Compiled(library, self.knowledge_tables(library), catalogue_index(self.catalogue))

    def case(self, mdtrt_id: str, compiled: Compiled) -> Case:
        e = next(x for x in self.encounters if x["mdtrt_id"] == mdtrt_id)
        mine = [l for l in self.lines if l["mdtrt_id"] == mdtrt_id]
        rel = json.loads(e["exp_content"]).get("REL_TTP_FLAG") if e["exp_content"] else None
        enc = Encounter(e["mdtrt_id"], e["psn_no"], e["fixmedins_code"], e["insutype"], e["med_type"], e["begntime"],
                        e["endtime"], e["dscg_maindiag_code"], e["dept"], rel,
                        [(x["diag_code"], x["maindiag_flag"]) for x in sorted(self.diagnoses, key=lambda x: x["diag_srt_no"])
                         if x["mdtrt_id"] == mdtrt_id],
                        [x["oprn_oprt_code"] for x in self.procedures if x["mdtrt_id"] == mdtrt_id],
                        [Line(l["feedetl_sn"], l["med_list_codg"], l["fee_ocur_time"], l["pric"], l["cnt"],
                              int(l["det_item_fee_sumamt"] * 100), l["bilg_dept_codg"],
                              tuple((l["drug_trac_codg"] or "").split(",")) if l["drug_trac_codg"] else ())
                         for l in mine])
        p = next((x for x in self.persons if x["psn_no"] == e["psn_no"]), None)
        person = None if p is None else Person(p["psn_no"], p["gend"], p["brdy"], p["death_date"], p["psn_insu_date"],
                                               p["move_out_date"])
        inst = next((x for x in self.institutions if x["fixmedins_code"] == e["fixmedins_code"]), None)
        level = None if inst is None else (inst["medins_lv"] or "pharmacy")
        others = [x for x in self.encounters if x["psn_no"] == e["psn_no"] and x["mdtrt_id"] != mdtrt_id]
        case = Case(enc, person, level, [Visit(x["mdtrt_id"], x["fixmedins_code"], x["med_type"], x["begntime"],
                                               x["endtime"], x["dscg_maindiag_code"]) for x in others])
        other_ids = {x["mdtrt_id"] for x in others}
        for l in self.lines:
            if l["mdtrt_id"] in other_ids and l["med_list_codg"] in compiled.year_limited and l["cnt"] > 0:
                case.year_lines.append((l["med_list_codg"], l["fee_ocur_time"], l["mdtrt_id"], int(l["feedetl_sn"])))
        codes = {c for l in enc.lines for c in l.trace_codes}
        known = {x["mdtrt_id"] for x in self.encounters}
        for l in self.lines:
            if l["mdtrt_id"] != mdtrt_id and l["mdtrt_id"] in known and l["drug_trac_codg"]:
                for c in l["drug_trac_codg"].split(","):
                    if c in codes:
                        case.trace_sales.setdefault(c, []).append((l["fee_ocur_time"], l["mdtrt_id"], int(l["feedetl_sn"])))
        return case
