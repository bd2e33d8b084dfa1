"""Screenshots of the console's main pages (1366×768 PNG) for docs/screenshots/, from a demo
database (``yibao demo`` + ``yibao fund contributions`` + ``yibao fund post``).

    .venv/bin/python tests/console/screenshots.py --data-dir /tmp/console-demo

It adds a user ``screenshot`` (管理员) when missing, serves the console on a loopback port and
saves one PNG per page. Not a test: the browser tests are in test_browser.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consolebrowser import VIEWPORT, chromium, login, serve  # noqa: E402

from yibao.api import security  # noqa: E402
from yibao.storage import db  # noqa: E402
from yibao.storage import schema as s  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    ap.add_argument("--run-drg", action="store_true", help="run the DRG grouping of the data's latest year first")
    args = ap.parse_args()
    url = f"sqlite:///{args.data_dir / 'yibao.sqlite'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        if not conn.execute(select(s.api_users.c.username).where(s.api_users.c.username == "screenshot")).first():
            security.add_user(conn, "screenshot", "screenshot-pass", "admin", display_name="截图")
        setl = conn.execute(text("SELECT s.setl_id FROM settlements s WHERE s.med_type = '21' AND s.hifmi_pay > 0 "
                                 "AND s.refd_setl_flag = '0' ORDER BY s.setl_time LIMIT 1")).scalar()
        psn = conn.execute(text("SELECT psn_no FROM settlements WHERE setl_id = :i"), {"i": setl}).scalar()
        certno = conn.execute(text("SELECT certno FROM persons WHERE psn_no = :p"), {"p": psn}).scalar()
    if args.run_drg:
        from yibao.console import drg

        year = drg.years_with_inpatient(engine)[0]
        print("DRG", year, drg.run(engine, args.data_dir, year)["grouping_rate"])
    pages = [
        ("dashboard", "/console/", True),
        ("settlements", f"/console/settlements?certno={certno}", False),
        ("settlement", f"/console/settlements/{setl}", False),
        ("settlements-all", "/console/settlements", False),
        ("findings", "/console/findings", False),
        ("drg", "/console/drg", False),
        ("persons", f"/console/persons?q={certno}", False),
        ("person", f"/console/persons/{psn}", False),
        ("institutions", "/console/institutions", False),
        ("institution", "/console/institutions/H51140200001", False),
        ("policies", "/console/policies", False),
        ("policy", "/console/policies/qingyi-2022?on=2024-06-30", False),
        ("reports", "/console/reports", False),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    with serve(url, args.data_dir) as base, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
        page.goto(f"{base}/console/login")
        page.screenshot(path=str(args.out / "login.png"))
        login(page, base, "screenshot", "screenshot-pass")
        for name, path, full in pages:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if name == "dashboard":
                page.wait_for_selector("#chart-scheme canvas")
                page.screenshot(path=str(args.out / "dashboard-full.png"), full_page=True)
            if not name.endswith("-all"):  # timed, not pictured
                page.screenshot(path=str(args.out / f"{name}.png"))
            times = []
            for _ in range(7):  # server time of the page, warm, from its Server-Timing header
                answer = page.request.get(base + path, max_redirects=0)
                assert answer.status == 200, (path, answer.status)
                times.append(float(answer.headers["server-timing"].split("dur=")[1]))
            times.sort()
            print(f"{name:12s} median {times[3]:6.1f} ms  max {times[-1]:6.1f} ms  {path}")


if __name__ == "__main__":
    main()
