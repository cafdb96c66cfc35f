"""Where the shared real data (``../shared/data``: NetHEPT, the Beibei log) is, for the tests that use it.

In order: ``LIEBIAN_SHARED_DATA``; ``../shared/data`` next to the project root; ``/work/shared/data`` (the
workplace's copy, which a clean clone elsewhere still reaches). Tests skip with the path they looked at when
the file they need is in none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_file(relative: str) -> Path:
    """The first candidate holding ``relative`` (e.g. ``nethept/graph_ic.inf``), else the first candidate's path."""
    candidates = [Path(os.environ["LIEBIAN_SHARED_DATA"])] if os.environ.get("LIEBIAN_SHARED_DATA") else []
    candidates += [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    return next((c / relative for c in candidates if (c / relative).is_file()), candidates[0] / relative)
