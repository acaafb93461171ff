"""The seams hold: the recipe knows no backend type, readers never import writers, the engine never Flask."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


def imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("module", "must_not_import"),
    [
        ("search.engine", "flask"),
        ("search.engine", "search.backends.whoosh.store"),  # a reader never imports a writer
        ("search.backends.whoosh.backend", "search.backends.whoosh.store"),
        ("webapp", "search.backends.whoosh.store"),
        ("search.query", "whoosh.searching"),  # the query language builds a backend-neutral tree
        ("search.querytree", "whoosh"),
        ("search.cli", "flask"),  # only `baheth serve` loads the web app
    ],
)
def test_module_does_not_import(module: str, must_not_import: str) -> None:
    loaded = imported_by(module)
    assert not {m for m in loaded if m == must_not_import or m.startswith(must_not_import + ".")}


def test_the_recipe_names_no_backend_type() -> None:
    for name in ("engine.py", "query.py", "querytree.py", "highlight.py", "api.py", "runs.py"):
        text = (ROOT / "search" / name).read_text(encoding="utf-8")
        assert "import whoosh" not in text and "from whoosh" not in text, name
        assert "xapian" not in text.lower(), name
