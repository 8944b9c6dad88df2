"""Imports flow one way (docs/architecture.md): the pages (portal/) sit on top and nothing
below imports them, registry/ never imports certification/,
the origin engine imports nothing of the project, certification/'s subpackages import only
those below them, and no module of the project imports itself back through others.

The check reads the source with `ast` (every import, also those inside functions), so it
sees what runs only on some paths too. The tests plant each kind of violation in a copy of
the tree and expect the check to name it.
"""

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "registry", "certification", "portal")

# certification/ in layers, lowest first. A module may import from its own group and from
# groups of a lower rank; groups of the same rank are independent of each other. Whatever
# is not listed (api/, views, admin, health, tasks, demo, apps, management) is the top.
DATA = "certification (models, exceptions, migrations)"
LAYERS = {
    "certification.models": (DATA, 0),
    "certification.exceptions": (DATA, 0),
    "certification.migrations": (DATA, 0),
    "certification.core": ("certification.core", 1),
    "certification.verification": ("certification.verification", 2),
    "certification.documents": ("certification.documents", 2),
    "certification.notifications": ("certification.notifications", 2),
    "certification.register": ("certification.register", 2),
    "certification.workflow": ("certification.workflow", 3),
}
TOP = ("certification (interfaces)", 4)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            modules[module_name(root, path)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that `name` imports, wherever the import statement stands."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` imports the module; `from module import name`
            # imports the module itself.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # `import a.b.c` names a module; keep the longest prefix that is one of ours.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def layer_of(module: str) -> tuple[str, int]:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return TOP


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def violations(root: Path) -> list[str]:
    graph = import_graph(root)
    problems = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if module.startswith("registry") and not target.startswith("registry"):
                problems.append(f"{module} imports {target}: registry/ imports only registry/")
            if module == "registry.origin":
                problems.append(
                    f"{module} imports {target}: the origin engine imports nothing of the project"
                )
            if module.startswith("certification") and target.startswith("portal"):
                problems.append(f"{module} imports {target}: nothing below the pages imports them")
            if module.startswith("certification") and target.startswith("certification"):
                (group, rank), (target_group, target_rank) = layer_of(module), layer_of(target)
                if group != target_group and target_rank >= rank:
                    problems.append(
                        f"{module} imports {target}: {group} may import only from layers "
                        f"below it, and {target_group} is not below it"
                    )
    for component in cycles(graph):
        problems.append("import cycle among " + ", ".join(component))
    return problems


def test_the_repository_keeps_its_layers_and_has_no_import_cycle():
    assert violations(ROOT) == []


@pytest.fixture
def tree(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    return tmp_path


def plant(tree: Path, relative: str, line: str, *, inside_a_function=False):
    path = tree / relative
    if inside_a_function:
        line = "def _planted():\n    " + line
    path.write_text(path.read_text() + "\n\n" + line + "\n")


def test_registry_importing_certification_is_found(tree):
    plant(tree, "registry/selectors.py", "from certification.core import lifecycle")
    assert violations(tree) == [
        "registry.selectors imports certification.core.lifecycle: registry/ imports only registry/"
    ]


def test_the_origin_engine_importing_the_project_is_found(tree):
    plant(tree, "registry/origin.py", "from registry import taxids", inside_a_function=True)
    assert violations(tree) == [
        "registry.origin imports registry.taxids: the origin engine imports nothing of the project"
    ]


def test_a_lower_layer_importing_a_higher_one_is_found(tree):
    # The cycle that used to be there: the outbox queueing its dispatch task directly.
    plant(
        tree,
        "certification/notifications/outbox.py",
        "from certification import tasks",
        inside_a_function=True,
    )
    found = violations(tree)
    assert (
        "certification.notifications.outbox imports certification.tasks: "
        "certification.notifications may import only from layers below it, and "
        "certification (interfaces) is not below it"
    ) in found
    assert any(
        problem.startswith("import cycle among")
        and "certification.tasks" in problem
        and "certification.notifications.outbox" in problem
        for problem in found
    )


def test_siblings_of_one_layer_importing_each_other_is_found(tree):
    plant(
        tree, "certification/documents/store.py", "from certification.verification import signing"
    )
    assert violations(tree) == [
        "certification.documents.store imports certification.verification.signing: "
        "certification.documents may import only from layers below it, and "
        "certification.verification is not below it"
    ]


def test_a_cycle_within_one_layer_is_found(tree):
    plant(tree, "certification/demo.py", "from certification import health")
    plant(tree, "certification/health.py", "from certification import demo", inside_a_function=True)
    assert violations(tree) == ["import cycle among certification.demo, certification.health"]


def test_certification_importing_the_pages_is_found(tree):
    plant(tree, "certification/notifications/emails.py", "from portal import urls")
    assert violations(tree) == [
        "certification.notifications.emails imports portal.urls: nothing below the pages "
        "imports them"
    ]


def test_relative_imports_are_resolved(tree):
    plant(tree, "certification/core/audit.py", "from ..workflow import services")
    assert violations(tree) == [
        "certification.core.audit imports certification.workflow.services: "
        "certification.core may import only from layers below it, and "
        "certification.workflow is not below it",
        # services imports audit, so this is a cycle as well
        "import cycle among certification.core.audit, certification.workflow.services",
    ]
