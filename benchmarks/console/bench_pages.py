"""The web console's pages (``yibao serve`` → /console) on the demo region: server and wall time per page.

Builds the demo region (20,000 persons, seed 1, 2024 — the size ``yibao demo`` uses), settles it
through the bulk channel, runs the audit and posts the fund ledger as ``yibao demo`` does, runs
the console's DRG grouping into the data folder, then creates the app that ``yibao serve`` runs
(``yibao.interface.server.create_app``), logs in through the login form as one user of each role
(经办 agent, 监管 supervisor, 基金 fund, 管理员 admin) and requests every console page that the
role may open, ``--runs`` times each, in rounds (every page once per round, so that a burst of
other load on the machine falls on all pages alike). The requests go in process through
Starlette's TestClient (no socket); "server" is the ``Server-Timing: app;dur=…`` the console
answers with (handler, queries, template), "wall" the whole request as the client sees it.

Every page is also checked: 200 for the roles that may open it, 403 for the others, the
Server-Timing header present. Exit status: 0 when every page answered as expected and every
page's median server time is within ``--target-ms`` (300 ms); 1 when a median is over the target
(the pages are named); 2 when a page answered with an unexpected status.

Examples:

    # build everything in a temporary folder (SQLite file), time, clean up
    .venv/bin/python benchmarks/console/bench_pages.py
    # keep the region and database in /tmp/consolebench, then time that database again later
    .venv/bin/python benchmarks/console/bench_pages.py --work /tmp/consolebench
    .venv/bin/python benchmarks/console/bench_pages.py --database-url sqlite:////tmp/consolebench/console.sqlite \\
        --settled --data-dir /tmp/consolebench/data
    # PostgreSQL (the database is created when missing; its tables are replaced)
    .venv/bin/python benchmarks/console/bench_pages.py --work /tmp/consolebench \\
        --database-url postgresql://postgres@127.0.0.1:5432/console_bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

PASSWORD = "console-bench-1"
SECRET = "console-bench-secret-0123456789abcdef"
ROLES = ("agent", "supervisor", "fund", "admin")
USER_OF = {role: f"bench-{role}" for role in ROLES}
TIMING = re.compile(r"app;dur=(\d+(?:\.\d+)?)")

err = Console(stderr=True)


@dataclass
class Page:
    name: str
    url: str
    group: str | None  # the key of yibao.console.web.PAGES that decides who may open it; None: anyone
    samples_server: list[float] = field(default_factory=list)
    samples_wall: list[float] = field(default_factory=list)
    first_server: float | None = None  # the first request of the run (cold: templates, caches)
    problems: list[str] = field(default_factory=list)

    def roles(self) -> tuple[str, ...]:
        from yibao.console.web import PAGES

        return ROLES if self.group is None else tuple(r for r in ROLES if r in PAGES[self.group][1])


# ── building the region ───────────────────────────────────────────────────────────────────────


def run_cli(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "yibao.cli", *argv], check=True)


def ensure_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from yibao.storage import db

    target = make_url(db.normalise_url(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            err.print(f"created database {target.database}")
    admin.dispose()


def build(args, url: str) -> None:
    """Generate (or reuse) the region, load it, settle it, run the audit, as ``yibao demo`` does."""
    from yibao.interface.bulk import BulkSettler
    from yibao.policy import PolicyLibrary
    from yibao.registry.store import import_policy
    from yibao.storage import db
    from yibao.synth.claims import iter_claims

    region = args.work / f"region-{args.persons}-{args.seed}"
    if (region / "manifest.json").exists():
        err.print(f"reusing the region in {region}")
    else:
        run_cli("synth", "generate", "--persons", str(args.persons), "--seed", str(args.seed), "--out", str(region),
                "--years", args.years, "--no-progress")
    if url.startswith("postgres"):
        ensure_postgres_database(url)
    run_cli("synth", "load", str(region), "--database-url", url, "--no-claims", "--replace")
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for policy in PolicyLibrary.shipped().all():
            import_policy(conn, policy)
    settler = BulkSettler(engine)
    settler.reference.ttl = float("inf")  # see benchmarks/fund/bench_fund.py and docs/benchmarks.md (fund section)
    started = time.perf_counter()
    with err.status("settling the region through the bulk channel…"):
        report = settler.settle(iter_claims(region))
    err.print(f"settled {report.settled:,} encounters in {time.perf_counter() - started:.0f} s, refused {len(report.refused)}")
    engine.dispose()
    if args.audit:
        try:
            run_cli("audit", "knowledge", "import", str(region), "--database-url", url)
            run_cli("audit", "stock", "import", str(region), "--database-url", url)
            run_cli("audit", "run", "--database-url", url, "--no-progress")
        except subprocess.CalledProcessError as exc:
            err.print(f"[yellow]the audit did not finish ({exc}); the findings pages show what is stored[/yellow]")


def prepare(engine) -> None:
    """Post the fund ledger when it is empty (as ``yibao demo`` does), and add one user per role."""
    from sqlalchemy import select, text

    from yibao.api import security
    from yibao.fund import api as fund_api
    from yibao.storage import db
    from yibao.storage import schema as s

    db.create_all(engine)
    with engine.begin() as conn:
        if not conn.execute(text("SELECT COUNT(*) FROM fund_journal")).scalar_one():
            years = [r[0] for r in conn.execute(select(s.settlements.c.setl_year).distinct().order_by(s.settlements.c.setl_year))]
            err.print(f"posting contributions ({', '.join(map(str, years))}) and the fund ledger…")
            for year in years:
                fund_api.post_contributions(conn, int(year))
            fund_api.post(conn)
        for role, name in USER_OF.items():
            if not conn.execute(select(s.api_users.c.username).where(s.api_users.c.username == name)).first():
                security.add_user(conn, name, PASSWORD, role)


def sample(engine) -> dict[str, str]:
    """The settlement, person, institution, finding and year the detail pages show."""
    from sqlalchemy import inspect, select

    from yibao.console.findings import findings_t
    from yibao.storage import schema as s

    with engine.connect() as conn:
        t = s.settlements
        row = conn.execute(select(t.c.setl_id, t.c.psn_no, t.c.fixmedins_code, t.c.setl_year).where(t.c.med_type == "21")
                           .where(t.c.refd_setl_flag == "0").where(t.c.hifp_pay > 0).order_by(t.c.setl_id).limit(1)).one()
        person = conn.execute(select(s.persons.c.certno, s.persons.c.psn_name).where(s.persons.c.psn_no == row.psn_no)).one()
        finding = None
        if inspect(conn).has_table(findings_t.name):
            finding = conn.execute(select(findings_t.c.finding_id).order_by(findings_t.c.finding_id).limit(1)).scalar()
    return {"setl_id": row.setl_id, "psn_no": row.psn_no, "certno": person.certno, "psn_name": person.psn_name,
            "fixmedins_code": row.fixmedins_code, "year": str(row.setl_year), "finding": "" if finding is None else str(finding)}


def pages(smp: dict[str, str]) -> list[Page]:
    """The pages of tests/console/test_pages.py::pages(), then the other console pages."""
    listed = [
        Page("dashboard", "/console/", "dashboard"),
        Page("settlements", f"/console/settlements?certno={smp['certno']}", "settlements"),
        Page("settlement", f"/console/settlements/{smp['setl_id']}", "settlements"),
        Page("findings", "/console/findings", "findings"),
        Page("drg", "/console/drg", "drg"),
        Page("persons", f"/console/persons?q={smp['certno']}", "persons"),
        Page("person", f"/console/persons/{smp['psn_no']}", "persons"),
        Page("institutions", "/console/institutions", "institutions"),
        Page("institution", f"/console/institutions/{smp['fixmedins_code']}", "institutions"),
        Page("policies", "/console/policies", "policies"),
        Page("policy", "/console/policies/qingyi-2022?on=2024-06-30", "policies"),
        Page("reports", "/console/reports", "reports"),
        # beyond the test's list: the login form, the settlement list without and with filters, the
        # person search by name, the findings of every status, one finding, a month of the dashboard
        Page("login (anonymous)", "/console/login", None),
        Page("settlements, no filter", "/console/settlements", "settlements"),
        Page("settlements, inpatient ≥ 1,000", "/console/settlements?med_type=21&amount_min=1000", "settlements"),
        Page("persons by name", f"/console/persons?q={smp['psn_name']}", "persons"),
        Page("findings, all statuses", "/console/findings?status=", "findings"),
        Page("dashboard, 2024-03", "/console/?month=2024-03", "dashboard"),
        Page("drg, year", f"/console/drg?year={smp['year']}", "drg"),
        Page("healthz", "/console/healthz", None),
    ]
    if smp["finding"]:
        listed.insert(-1, Page("finding", f"/console/findings/{smp['finding']}", "findings"))
    return listed


# ── timing ────────────────────────────────────────────────────────────────────────────────────


def client_for(app, username: str | None):
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")  # the environment's, not ours
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    if username:
        form = client.get("/console/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                                     "next": "/console/"}, follow_redirects=False)
        if answer.status_code != 303:
            sys.exit(f"could not log in as {username}: {answer.status_code} {answer.text[:300]}")
    return client


def request(client, page: Page, expect: int) -> tuple[float, float] | None:
    started = time.perf_counter()
    answer = client.get(page.url, follow_redirects=False)
    wall = (time.perf_counter() - started) * 1000
    if answer.status_code != expect:
        page.problems.append(f"{answer.status_code} instead of {expect}")
        return None
    match = TIMING.fullmatch(answer.headers.get("server-timing", ""))
    if not match:
        page.problems.append("no Server-Timing header")
        return None
    return float(match.group(1)), wall


def measure(app, listed: list[Page], runs: int, progress_on: bool) -> None:
    clients = {role: client_for(app, USER_OF[role]) for role in ROLES}
    anonymous = client_for(app, None)

    def who(page: Page) -> list:
        return [anonymous] if page.group is None else [clients[r] for r in page.roles()]

    # Warm-up round, untimed apart from each page's very first answer; the roles that may not open
    # a page get 403 (checked once).
    for page in listed:
        for i, client in enumerate(who(page)):
            got = request(client, page, 200)
            if got and i == 0:
                page.first_server = got[0]
        if page.group is not None:
            for role in set(ROLES) - set(page.roles()):
                request(clients[role], page, 403)
    total = runs * sum(len(who(p)) for p in listed)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err, disable=not progress_on, transient=True) as progress:
        task = progress.add_task("requests", total=total)
        for n in range(runs):
            progress.update(task, description=f"round {n + 1}/{runs}")
            for page in listed:
                for client in who(page):
                    got = request(client, page, 200)
                    if got:
                        page.samples_server.append(got[0])
                        page.samples_wall.append(got[1])
                    progress.advance(task)


# ── report ────────────────────────────────────────────────────────────────────────────────────


def ms(x: float | None) -> str:
    return "—" if x is None else (f"{x:.1f}" if x < 10 else f"{x:.0f}")


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPU {platform.machine()} {cpu}, Python {platform.python_version()}".strip()


def counts(engine) -> str:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        n = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in ("persons", "settlements", "fund_journal")}
        n["findings"] = (conn.execute(text("SELECT COUNT(*) FROM audit_findings")).scalar_one()
                         if inspect(conn).has_table("audit_findings") else 0)
    return (f"{n['persons']:,} persons, {n['settlements']:,} settlements, {n['fund_journal']:,} journal rows, "
            f"{n['findings']:,} audit findings")


def report(listed: list[Page], args, backend: str, loads: tuple[float, float], what: str) -> int:
    out = Console(width=None if sys.stdout.isatty() else 150)
    table = Table(title=f"console pages — {backend}, median and slowest of {args.runs} rounds × the roles that may open each page "
                        f"(ms; target: median ≤ {args.target_ms:g} ms of server time)")
    for col, just in (("page", "left"), ("roles", "left"), ("n", "right"), ("server median", "right"), ("server slowest", "right"),
                      ("wall median", "right"), ("wall slowest", "right"), ("first (cold)", "right")):
        table.add_column(col, justify=just)
    slow, broken = [], []
    for p in listed:
        srv = statistics.median(p.samples_server) if p.samples_server else None
        if p.problems:
            broken.append(p)
        if srv is not None and srv > args.target_ms:
            slow.append((p, srv))
        style = "red" if (srv is not None and srv > args.target_ms) or p.problems else None
        table.add_row(p.name, "anyone" if p.group is None else ",".join(p.roles()), str(len(p.samples_server)), ms(srv),
                      ms(max(p.samples_server, default=None)), ms(statistics.median(p.samples_wall) if p.samples_wall else None),
                      ms(max(p.samples_wall, default=None)), ms(p.first_server), style=style)
    out.print(table)
    out.print(f"{what}\nmachine: {machine()}\n1-minute load average: {loads[0]:.2f} before, {loads[1]:.2f} after")
    if args.markdown:
        print("\n| page | URL | server median (slowest) ms | wall median (slowest) ms |\n|---|---|---|---|")
        for p in listed:
            srv = statistics.median(p.samples_server) if p.samples_server else None
            wall = statistics.median(p.samples_wall) if p.samples_wall else None
            print(f"| {p.name} | `{p.url}` | {ms(srv)} ({ms(max(p.samples_server, default=None))}) | "
                  f"{ms(wall)} ({ms(max(p.samples_wall, default=None))}) |")
    for p in broken:
        err.print(f"[red]{p.name} ({p.url}): {'; '.join(sorted(set(p.problems)))}[/red]")
    for p, srv in slow:
        err.print(f"[red]{p.name} ({p.url}): median server time {srv:.0f} ms > target {args.target_ms:g} ms[/red]")
    if broken:
        return 2
    if slow:
        return 1
    err.print(f"[green]every page's median server time is within {args.target_ms:g} ms[/green]")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__[__doc__.index("Examples:"):],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20000, help="persons of the region built (default 20,000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the region built (default 1)")
    ap.add_argument("--years", default="2024", help="years of the region built (default 2024)")
    ap.add_argument("--work", type=Path, default=None,
                    help="folder for the region, the SQLite file and the data folder, kept (default: a temporary folder, removed)")
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in the work folder")
    ap.add_argument("--settled", action="store_true",
                    help="the database already holds the settled region: build nothing (the ledger is posted if empty)")
    ap.add_argument("--data-dir", type=Path, default=None, help="the console's data folder (DRG reports, monthly reports)")
    ap.add_argument("--no-audit", dest="audit", action="store_false", help="do not run the audit when building")
    ap.add_argument("--no-drg", dest="drg", action="store_false",
                    help="do not run the console's DRG grouping first (the DRG page then shows its empty state)")
    ap.add_argument("--runs", type=int, default=20, help="timed rounds; every page once per role per round (default 20)")
    ap.add_argument("--target-ms", type=float, default=300.0, help="the largest acceptable median server time (default 300)")
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table (for docs/benchmarks.md)")
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()

    from yibao.interface.server import create_app
    from yibao.storage import db

    temporary = args.work is None
    args.work = Path(tempfile.mkdtemp(prefix="console-bench-")) if temporary else args.work
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        url = args.database_url or f"sqlite:///{args.work / 'console.sqlite'}"
        if args.settled and not args.database_url:
            sys.exit("--settled needs --database-url")
        if not args.settled:
            build(args, url)
        engine = db.make_engine(url)
        prepare(engine)
        data_dir = args.data_dir or args.work / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        smp = sample(engine)
        if args.drg:
            from yibao.console import drg

            started = time.perf_counter()
            with err.status(f"DRG grouping of {smp['year']} (as the DRG page's button does)…"):
                summary = drg.run(engine, data_dir, int(smp["year"]))
            err.print(f"DRG {smp['year']}: {summary['cases']:,} cases, grouping rate {summary['grouping_rate']:.1%}, "
                      f"{time.perf_counter() - started:.0f} s")
        what = f"backend: {engine.dialect.name} ({engine.url.render_as_string(hide_password=True)}); {counts(engine)}"
        err.print(what)
        app = create_app(engine, data_dir=data_dir, api_secret=SECRET)
        listed = pages(smp)
        before = os.getloadavg()[0]
        measure(app, listed, args.runs, args.progress)
        after = os.getloadavg()[0]
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        code = report(listed, args, engine.dialect.name, (before, after), f"{what}\nrun at {stamp}")
        engine.dispose()
    finally:
        if temporary:
            shutil.rmtree(args.work, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
