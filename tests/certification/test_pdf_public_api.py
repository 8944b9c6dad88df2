"""certification/documents/render.py uses WeasyPrint's public API only, so that an upgrade
within the range requirements.txt allows cannot break the certificate: no import of
WeasyPrint's internal modules (its box tree, layout, CSS machinery), no access to a private
attribute (a name with a leading underscore) of anything, no subclass of its HTML, CSS or
Document to override their private methods. The check reads the module with `ast`; the
tests plant each kind of violation in a copy of the source and expect it named.
"""

import ast
from pathlib import Path

import pytest

RENDER = Path(__file__).resolve().parents[2] / "certification" / "documents" / "render.py"

# WeasyPrint's documented API: the root package (HTML, CSS, Document, Page, ...), the font
# configuration and the URL fetcher classes (its API reference documents these two modules).
PUBLIC_IMPORTS = {
    "weasyprint": None,  # any public name
    "weasyprint.text.fonts": {"FontConfiguration"},
    "weasyprint.urls": {"URLFetcher", "URLFetcherResponse", "URLFetchingError"},
}
# The only WeasyPrint class the module may subclass: its documented way to answer URLs.
SUBCLASSABLE = {"URLFetcher"}
# Private names the layered render used to reach; also caught as strings (getattr).
KNOWN_PRIVATE = {"_page_box", "_ua_stylesheets", "_ua_counter_style", "_ph_stylesheets"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def private_weasyprint_uses(source: str) -> list[str]:
    tree = ast.parse(source)
    # The names the module binds to WeasyPrint's classes (`from weasyprint import HTML`).
    from_weasyprint = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("weasyprint")
        for alias in node.names
    }
    problems = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("weasyprint") and alias.name not in PUBLIC_IMPORTS:
                    problems.append(f"line {line}: imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("weasyprint"):
            allowed = PUBLIC_IMPORTS.get(node.module, set())
            for alias in node.names:
                public = alias.name in allowed if allowed is not None else True
                if not public or alias.name.startswith("_"):
                    problems.append(f"line {line}: imports {alias.name} from {node.module}")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                problems.append(f"line {line}: uses the private attribute {node.attr}")
            elif _dotted(node).startswith("weasyprint.") and _dotted(node).count(".") > 1:
                problems.append(f"line {line}: reaches into {_dotted(node)}")
        elif isinstance(node, ast.Constant) and node.value in KNOWN_PRIVATE:
            problems.append(f"line {line}: names {node.value}")
        elif isinstance(node, ast.ClassDef):
            for base in map(_dotted, node.bases):
                name = base.rpartition(".")[2]
                ours = base.startswith("weasyprint.") or base in from_weasyprint
                if ours and name not in SUBCLASSABLE:
                    problems.append(f"line {line}: subclasses {base}")
    return problems


def test_render_uses_only_weasyprints_public_api():
    assert private_weasyprint_uses(RENDER.read_text()) == []


@pytest.mark.parametrize(
    ("planted", "found"),
    [
        (
            "from weasyprint.formatting_structure.boxes import BlockBox",
            "imports BlockBox from weasyprint.formatting_structure.boxes",
        ),
        ("import weasyprint.layout", "imports weasyprint.layout"),
        ("from weasyprint.urls import fetch", "imports fetch from weasyprint.urls"),
        ("from weasyprint import _find_base_url", "imports _find_base_url from weasyprint"),
        ("body = page._page_box.children", "uses the private attribute _page_box"),
        ("sheets = getattr(html, '_ua_stylesheets')()", "names _ua_stylesheets"),
        ("box = weasyprint.formatting_structure.boxes", "reaches into weasyprint.formatting_"),
        ("class Page(weasyprint.HTML):\n    pass", "subclasses weasyprint.HTML"),
        ("from weasyprint import HTML\nclass Page(HTML):\n    pass", "subclasses HTML"),
    ],
)
def test_each_kind_of_private_use_is_found(planted, found):
    problems = private_weasyprint_uses(RENDER.read_text() + "\n\n" + planted + "\n")
    assert len(problems) == 1 and found in problems[0], problems
