"""Render the HTTP contract (``docs/contract.md``, the single source) into every template as
the generated project's own ``docs/api.md``.

Each copy is a Jinja file that cookiecutter renders with the bake's answers: the sections
headed "When the project has ..." stay only in projects with that option, and tables that
compare the two frameworks keep the project's own column. Run this after editing
``docs/contract.md``; ``tests/test_contract_doc.py`` fails while a copy differs.

    python tools/sync_contract.py          # write the copies
    python tools/sync_contract.py --check  # exit 1 and name each copy that differs
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "docs" / "contract.md"
TARGET = Path("{{cookiecutter.project_slug}}") / "docs" / "api.md"
TITLES = {"fastapi": "FastAPI", "flask": "Flask"}

# The heading of each option's section -> the Jinja condition under which a project keeps it.
OPTION_SECTIONS = {
    "## When the project has a database": 'cookiecutter.database != "none"',
    "## When the project has auth": "cookiecutter.use_auth",
}

HEADER = """\
# The HTTP API of {{{{ cookiecutter.project_name }}}}

What this service promises its clients: every route, status code, header, limit and
setting. A {other} service baked from the same template with the same answers keeps the
same promises, so clients and black-box tests work against either. The code's comments
cite the sections of this file by name.
"""


def render(source: str, framework: str) -> str:
    """The project's ``docs/api.md`` (Jinja) for ``framework`` from the contract's text."""
    if re.search(r"\{[{%#]", source):
        raise ValueError("docs/contract.md holds Jinja syntax ({{, {% or {#): write it another way")
    title = TITLES[framework]
    other = next(name for key, name in TITLES.items() if key != framework)
    sections = re.split(r"(?m)^(?=## )", source)
    out = [HEADER.format(other=other)]
    for section in sections[1:]:  # sections[0] is the title and the note about both templates
        heading = section.splitlines()[0]
        condition = next((value for key, value in OPTION_SECTIONS.items() if heading.startswith(key)), None)
        if heading.startswith("## When") and condition is None:
            raise ValueError(f"{heading!r} has no entry in OPTION_SECTIONS of tools/sync_contract.py")
        body = own_column(section.rstrip("\n"), title).replace("<project_slug>", "{{ cookiecutter.project_slug }}")
        if condition is None:
            out.append(body + "\n")
        else:
            out.append(f"{{%- if {condition} %}}\n\n{body}\n{{%- endif %}}\n")
    return "\n".join(out)


def own_column(section: str, title: str) -> str:
    """Tables with one column per framework keep the label column and ``title``'s."""
    lines = section.split("\n")
    keep: list[int] | None = None
    for number, line in enumerate(lines):
        if not line.startswith("|"):
            keep = None
            continue
        cells = line.strip().strip("|").split("|")
        names = [cell.strip() for cell in cells]
        if keep is None and {f"{name} project" for name in TITLES.values()} <= set(names):
            keep = [0, names.index(f"{title} project")]
        if keep is not None:
            lines[number] = "|" + "|".join(cells[index] for index in keep) + "|"
    return "\n".join(lines)


def copies() -> dict[Path, str]:
    source = SOURCE.read_text(encoding="utf-8")
    return {ROOT / f"{framework}-template" / TARGET: render(source, framework) for framework in TITLES}


def main(argv: list[str]) -> int:
    stale = {path: text for path, text in copies().items() if not path.exists() or path.read_text() != text}
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} differs from docs/contract.md: run python tools/sync_contract.py")
        return 1 if stale else 0
    for path, text in stale.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
