"""The README and docs/ stay true to the repository: every link and every path they name
exists, nothing points outside the repository, and every environment variable the settings
read is in the configuration table of docs/operations.md."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_FOLDERS = (
    "config",
    "registry",
    "certification",
    "portal",
    "templates",
    "static",
    "locale",
    "tests",
    "bench",
    "docs",
    ".ci",
)
PATH = re.compile(rf"`((?:{'|'.join(map(re.escape, TOP_FOLDERS))})/[\w./-]*)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# The old design document lived outside the repository; nothing may point to it (its name is
# spelt in two parts so that `git grep` for it finds no mention in the repository at all).
OUTSIDE = ("../shared", "design" + ".md")


def test_the_documents_are_all_there():
    names = {path.name for path in DOCS}
    assert {"README.md", "architecture.md", "api.md", "origin-rules.md", "operations.md"} <= names


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_path_a_document_names_exists(document):
    text = document.read_text()
    missing = [
        path
        for path in PATH.findall(text)
        if "{" not in path and "*" not in path and not (ROOT / path.rstrip("/")).exists()
    ]
    assert missing == [], f"{document.name} names paths that do not exist"


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_link_stays_in_the_repository_and_resolves(document):
    text = document.read_text()
    assert [name for name in OUTSIDE if name in text] == []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        resolved = (document.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{document.name} links outside: {target}"
        assert resolved.exists(), f"{document.name} links to a missing {target}"


def test_every_setting_read_from_the_environment_is_documented():
    settings = (ROOT / "config" / "settings.py").read_text()
    variables = set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", settings))
    assert "DATABASE_URL" in variables and "CACHE_URL" in variables  # the pattern reads them
    table = (ROOT / "docs" / "operations.md").read_text()
    undocumented = sorted(name for name in variables if f"`{name}`" not in table)
    assert undocumented == [], "add these to the table in docs/operations.md"


def test_the_upgrade_notes_say_to_rebuild_the_register_once_after_its_migration():
    # certification.0004_register creates the register empty: certificates issued before it
    # are in no search until `rebuild_register` writes them (migrate alone does not).
    operations = (ROOT / "docs" / "operations.md").read_text()
    upgrading = operations.split("### Upgrading", 1)[1].split("\n## ", 1)[0]
    assert "0004_register" in upgrading and "manage.py rebuild_register" in upgrading
    assert "After `migrate` alone the registry is complete" not in operations
    readme = (ROOT / "README.md").read_text()
    assert "rebuild_register` once" in readme
