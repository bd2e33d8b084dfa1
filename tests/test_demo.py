"""The README's main job, end to end, on a tiny region (the real one uses ~20,000 persons)."""

import re

from typer.testing import CliRunner

from yibao.cli import app


def test_main_job_runs_end_to_end(tmp_path):
    result = CliRunner().invoke(
        app,
        ["demo", "--data-dir", str(tmp_path), "--persons", "400", "--years", "2022-2024", "--http-days", "3", "--no-serve", "--port", "0"],
        env={"COLUMNS": "200"},
    )
    out = result.output
    assert result.exit_code == 0, out[-3000:]
    assert re.search(r"\d+/\d+ scenario files, \d+ events, passed", out)
    settled = int(re.search(r"4\. 批量结算 ([\d,]+) 笔", out).group(1).replace(",", ""))
    over_http = int(re.search(r"5\. HTTP 实时结算 ([\d,]+) 笔", out).group(1).replace(",", ""))
    assert settled > 1000 and over_http > 10
    assert "入组率 grouping rate" in out and "点值 point value" in out
    assert (tmp_path / "reports" / "report-2024-12.html").exists()
    assert (tmp_path / "dip" / "2024" / "summary.md").exists()
    assert "失败" not in out


def test_the_main_job_stops_its_server_when_it_is_terminated(tmp_path):
    """A supervisor stops `yibao demo` with SIGTERM: the `yibao serve` it started stops with it
    instead of keeping the port (it did before: only Ctrl-C, sent to both, stopped both)."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "yibao.cli", "demo", "--data-dir", str(tmp_path), "--persons", "200", "--years", "2024",
         "--http-days", "1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"},
        start_new_session=True,  # its own process group, so that cleanup can stop whatever is left
    )
    watchdog = threading.Timer(300, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        url = None
        for line in proc.stdout:
            found = re.search(r"console: (http://127\.0\.0\.1:\d+)/console", line)
            if found:
                url = found.group(1)
            if "Ctrl-C" in line:
                break
        assert url is not None, "the main job did not say where it serves"
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGTERM)  # to the job only, as a supervisor would
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        try:
            urllib.request.urlopen(url + "/healthz", timeout=5)
        except OSError:
            pass  # nothing listens any more
        else:
            raise AssertionError("the server kept serving after the main job was terminated")
        assert (tmp_path / "logs" / "demo-serve.log").exists()
    finally:
        watchdog.cancel()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
