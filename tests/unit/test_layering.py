"""The architecture's promise, checked: pure calculation does not pull in I/O.

Each case imports a package in a fresh interpreter and lists which heavy I/O libraries ended up
loaded. The settlement engine (and the policy model it reads) must load none of them.
"""

import json
import subprocess
import sys

import pytest

IO_LIBRARIES = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "duckdb", "pyspark", "psycopg", "httpx")


def loaded_io_libraries(statement: str) -> list[str]:
    probe = (
        f"import sys, json\n{statement}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(IO_LIBRARIES)!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "statement",
    [
        "import yibao.settlement",
        "import yibao.settlement.batch, yibao.settlement.batch_policy",
        "import yibao.policy",
        "import yibao.money",
    ],
)
def test_pure_packages_import_no_io_library(statement):
    assert loaded_io_libraries(statement) == []


def test_probe_detects_io_libraries():
    # The probe itself must be able to fail: the storage layer does load SQLAlchemy.
    assert "sqlalchemy" in loaded_io_libraries("import yibao.storage.schema")
