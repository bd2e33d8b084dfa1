"""Settlement throughput: the pure engine, and whole claims through the interface on a database.

    python benchmarks/settlement/bench_settle.py --claims 100000            # pure engine
    python benchmarks/settlement/bench_settle.py --claims 100000 --batch    # + the vectorised batch path
    python benchmarks/settlement/bench_settle.py --claims 20000 --interface  # + 2401/2301/2304 on SQLite

Prints settlements per second. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import datetime as dt
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from rich.console import Console
from rich.progress import track

from workload import build  # noqa: E402

from yibao.policy import PolicyLibrary, resolve
from yibao.registry.levels import settlement_level
from yibao.registry.store import catalogue_row
from yibao.interface.reference import catalogue_item
from yibao.settlement import Claim, FeeLine, InstitutionFacts, PersonFacts, YearState, classify_lines, settle


def prepare_claims(work, console: Console | None = None) -> tuple[list[Claim], list]:
    """The workload's claims with classified lines, and the policy each is settled under."""
    library = PolicyLibrary.shipped()
    policies = {"511402": library.get("meishan-2020"), "441802": library.get("qingyuan-2021")}
    catalogue = {e["med_list_codg"]: catalogue_item(_Row(catalogue_row(e))) for e in work.catalogue}
    persons = {p["psn_no"]: p for p in work.persons}
    institutions = {i["fixmedins_code"]: i for i in work.institutions}
    claims, resolved = [], []
    items = work.claims if console is None else track(work.claims, description="classifying lines", console=console)
    for c in items:
        p = persons[c["psn_no"]]
        inst = institutions[c["fixmedins_code"]]
        fees = [FeeLine(str(i), code, Fraction(pric), Fraction(cnt)) for i, (code, pric, cnt) in enumerate(c["lines"], 1)]
        lines = tuple(classify_lines(fees, catalogue))
        person = PersonFacts(p["psn_no"], p["insutype"], p["psn_type"], p["insu_admdvs"], p["assistance"], p["cvlserv"], p["acct_balc"])
        institution = InstitutionFacts(inst["fixmedins_code"], settlement_level(inst["medins_lv"]), inst["admdvs"])
        on = c["date"]
        claims.append(Claim(person, institution, "21", on, lines))
        resolved.append(resolve(policies[p["insu_admdvs"]], max(on, dt.date(2021, 1, 1))))
    return claims, resolved


def pure_engine(prepared) -> float:
    states: dict[str, YearState] = {}
    gc.collect()
    gc.freeze()  # the prepared workload is long-lived; keep the collector from rescanning it
    start = time.perf_counter()
    for claim, policy in prepared:
        state = states.setdefault(claim.person.psn_no, YearState())
        result = settle(claim, policy, state)
        result.delta.apply(state)
    elapsed = time.perf_counter() - start
    return len(prepared) / elapsed


def batch(claims, policies, console: Console, repeat: int) -> None:
    """The vectorised batch path: throughput (best of ``repeat``), then every claim compared
    with the single-claim path run in order (settle_each)."""
    from yibao.settlement.batch import figures_of, settle_batch, settle_each

    by_claim = {id(c): p for c, p in zip(claims, policies)}
    policy_for = lambda c: by_claim[id(c)]  # a look-up, as a caller would have
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = settle_batch(claims, policy_for)
        times.append(time.perf_counter() - start)
    n = len(claims)
    best, median = min(times), sorted(times)[len(times) // 2]
    console.print(
        f"batch path (settle_batch): {n / best:,.0f} settlements/s over {n:,} claims, best of {repeat} "
        f"(median {n / median:,.0f}/s; runs {', '.join(f'{t:.3f}' for t in times)}s; {result.rounds} rounds)"
    )
    fallback = int(result.fallback.sum())
    console.print(f"  through settle() (fallback): {fallback:,} of {n:,} = {fallback / n:.3%}  {result.fallback_reasons}")
    expected, states = settle_each(claims, policy_for)
    agree = sum(result.figures(i) == figures_of(r) for i, r in enumerate(expected))
    same_states = _snapshot(states) == _snapshot(result.states)
    console.print(f"  agreement with the single path: {agree:,} of {n:,} claims identical; final states identical: {same_states}")


def _snapshot(states):
    return {k: (v.admissions, {f: (Fraction(a.base), a.paid) for f, a in v.layers.items()}) for k, v in states.items()}


class _Row:
    def __init__(self, mapping):
        self.__dict__.update(mapping)


def interface(work, console: Console, url: str | None) -> tuple[float, float]:
    import tempfile

    from yibao.interface import Platform
    from yibao.interface.client import InProcess, InterfaceClient
    from yibao.registry import store
    from yibao.storage import db

    tmp = tempfile.mkdtemp()
    engine = db.make_engine(url or f"sqlite:///{tmp}/bench.sqlite")
    db.create_all(engine)
    db.reset(engine)
    with engine.begin() as conn:
        store.upsert_catalogue(conn, work.catalogue)
        store.upsert_institutions(conn, work.institutions)
        store.upsert_persons(conn, [
            store.PersonRecord(p["psn_no"], p["certno"], p["psn_name"], p["gend"], p["brdy"], p["insutype"], p["psn_type"],
                               p["insu_admdvs"], p["assistance"], p["cvlserv"], p["acct_balc"])
            for p in work.persons
        ])
    platform = Platform(engine)
    persons = {p["psn_no"]: p for p in work.persons}
    clients = {}
    settle_time = 0.0
    start = time.perf_counter()
    for n, c in enumerate(track(work.claims, description="2401 → 2301 → 2304", console=console)):
        code = c["fixmedins_code"]
        when = dt.datetime.combine(c["date"], dt.time(10, 0))
        client = clients.setdefault(code, InterfaceClient(InProcess(platform), code))
        client.clock = lambda when=when: when
        p = persons[c["psn_no"]]
        mdtrt_id = client.admit(psn_no=p["psn_no"], insutype=p["insutype"], med_type="21", begntime=f"{c['date']} 08:00:00", ipt_no=f"B{n}")
        out = client.ok("2301", {"feedetail": client.fee_lines(mdtrt_id, p["psn_no"], c["lines"])})
        total = sum(r["det_item_fee_sumamt"] for r in out["result"])
        t0 = time.perf_counter()
        client.ok("2304", {"data": client.settle_data(mdtrt_id, p["psn_no"], p["insutype"], str(total))})
        settle_time += time.perf_counter() - t0
    elapsed = time.perf_counter() - start
    return len(work.claims) / elapsed, len(work.claims) / settle_time


def bulk(work, console: Console, url: str | None) -> dict[str, float]:
    """Whole claims through the bulk channel on a database, in process: one pass (file and
    settle), then on a fresh database the two halves separately — filing the encounters with
    their priced lines (as 2301 does), and settling what is on file (as 2304 does)."""
    import tempfile

    from yibao.interface.bulk import BulkEncounter, BulkSettler
    from yibao.registry import store
    from yibao.storage import db

    persons = {p["psn_no"]: p for p in work.persons}
    items = []
    for n, c in enumerate(work.claims):
        when = dt.datetime.combine(c["date"], dt.time(10, 0))
        items.append(BulkEncounter(
            psn_no=c["psn_no"], fixmedins_code=c["fixmedins_code"], insutype=persons[c["psn_no"]]["insutype"], med_type="21",
            begntime=when - dt.timedelta(days=3), endtime=when, ipt_otp_no=f"B{n}", mdtrt_id=f"M{n:09d}",
            lines=[(str(i), code, pric, cnt) for i, (code, pric, cnt) in enumerate(c["lines"], start=1)],
        ))

    def fresh_database(name: str):
        tmp = tempfile.mkdtemp()
        engine = db.make_engine(url or f"sqlite:///{tmp}/{name}.sqlite")
        db.create_all(engine)
        db.reset(engine)
        with engine.begin() as conn:
            store.upsert_catalogue(conn, work.catalogue)
            store.upsert_institutions(conn, work.institutions)
            store.upsert_persons(conn, [
                store.PersonRecord(p["psn_no"], p["certno"], p["psn_name"], p["gend"], p["brdy"], p["insutype"], p["psn_type"],
                                   p["insu_admdvs"], p["assistance"], p["cvlserv"], p["acct_balc"])
                for p in work.persons
            ])
        settler = BulkSettler(engine)
        settler.reference.catalogue()  # warm the reference cache
        return settler

    from rich.progress import Progress

    def timed(label: str, run) -> float:
        gc.collect()
        gc.freeze()
        start = time.perf_counter()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(label, total=len(items))
            report = run(lambda n: progress.advance(task, n))
        elapsed = time.perf_counter() - start
        gc.unfreeze()
        console.print(f"  {label}: {report.settled:,} settled, {report.uploaded:,} filed, {len(report.refused):,} refused, {elapsed:.1f} s")
        return len(items) / elapsed

    settler = fresh_database("one-pass")
    one_pass = timed("file and settle in one pass", lambda p: settler.settle(items, progress=p))
    settler = fresh_database("two-pass")
    filing = timed("file encounters and priced lines", lambda p: settler.upload(items, progress=p))
    settling = timed("settle what is on file", lambda p: settler.settle_stored(progress=p))
    return {"one_pass": one_pass, "upload": filing, "settle": settling}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--batch", action="store_true", help="also run the vectorised batch path and compare it with the single path")
    parser.add_argument("--repeat", type=int, default=5, help="batch runs to time (the best is reported)")
    parser.add_argument("--interface", action="store_true", help="also run whole claims through the interface on a database")
    parser.add_argument("--bulk", action="store_true", help="also settle whole claims through the bulk channel on a database")
    parser.add_argument("--database-url", default=None, help="database for --interface/--bulk (default: a temporary SQLite file)")
    args = parser.parse_args()
    console = Console()
    work = build(args.claims, args.persons)
    claims, policies = prepare_claims(work, console)
    rate = pure_engine(list(zip(claims, policies)))
    console.print(f"pure engine (single-claim path): {rate:,.0f} settlements/s over {args.claims:,} claims of 20 lines")
    if args.batch:
        batch(claims, policies, console, args.repeat)
    if args.bulk:
        rates = bulk(work, console, args.database_url)
        console.print(
            f"bulk channel, in process: settling what is on file {rates['settle']:,.0f} settlements/s; "
            f"filing encounters with 20 priced lines {rates['upload']:,.0f}/s; both in one pass {rates['one_pass']:,.0f}/s"
        )
    if args.interface:
        whole, only = interface(work, console, args.database_url)
        console.print(f"interface, in process: {whole:,.0f} claims/s end to end (2401+2301+2304); 2304 alone {only:,.0f}/s")


if __name__ == "__main__":
    main()
