"""Copy the single source of the hooks (``hooks/``) into every template.

Each template needs real files in its own ``hooks/`` (cookiecutter runs only the
chosen sub-template's hooks, and symlinks break on Windows checkouts). Run this
after editing ``hooks/``; ``tests/test_hooks_sync.py`` fails while a copy differs.

    python tools/sync_hooks.py          # write the copies
    python tools/sync_hooks.py --check  # exit 1 and name each copy that differs
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "hooks"
TEMPLATES = sorted(path.parent for path in ROOT.glob("*-template/cookiecutter.json"))
HOOK_FILES = ("pre_gen_project.py", "post_gen_project.py")


def stale_copies() -> list[Path]:
    """Every template hook file that is missing or differs from its source."""
    return [
        template / "hooks" / name
        for template in TEMPLATES
        for name in HOOK_FILES
        if not (template / "hooks" / name).exists()
        or (template / "hooks" / name).read_bytes() != (SOURCE / name).read_bytes()
    ]


def main(argv: list[str]) -> int:
    stale = stale_copies()
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} differs from hooks/{path.name}: run python tools/sync_hooks.py")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes((SOURCE / path.name).read_bytes())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
