"""Where the shared reference data (ICD lists, the CHS-DRG 1.1 scheme) is.

The tests read it, never copy it: ``$YIBAO_SHARED_DATA`` if set; else the first ``shared/data``
beside the repository or one of its parents (``<repo>/../shared/data`` in the workplace); else
beside the current directory or its parents; else the workplace's documented location
``/work/shared/data`` (so that a fresh clone in a temporary folder still finds it).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKPLACE = Path("/work/shared/data")


def find() -> Path | None:
    env = os.environ.get("YIBAO_SHARED_DATA")
    if env:
        return Path(env)
    for start in (REPO, Path.cwd().resolve()):
        for parent in (start, *start.parents):
            candidate = parent / "shared" / "data"
            if (candidate / "chs-drg-1.1").is_dir():
                return candidate
    return WORKPLACE if (WORKPLACE / "chs-drg-1.1").is_dir() else None
