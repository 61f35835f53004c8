"""``python benchmarks/run.py ...``: the same command as ``python -m benchmarks ...``."""

import sys
from pathlib import Path

# Run as a script, this file's folder is first on the path; the repository root must be, so
# that the package (benchmarks/) and the helpers it shares with the tests (tests/) import.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
