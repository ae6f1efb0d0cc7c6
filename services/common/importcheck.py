"""The import check: no import circle among our modules, and no service importing another.

Run as ``python -m services.common.importcheck`` (CI does, after mypy); it exits 1 and names each
circle and each forbidden import. The graph is grimp's (every ``import`` statement, also those
inside functions, which is where circles used to hide), so a circle cannot be masked by moving an
import into a function body. Imports under ``if TYPE_CHECKING:`` never run and are left out.

The rules:
- no circle: modules import in one direction only (a package's ``__init__`` that imports its own
  submodules is fine; a submodule that imports them back is a circle);
- intake, routing, deadlines and ledger never import each other: they talk by REST and events
  (DESIGN §2); each may use ``services.common`` and ``services.contracts``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import grimp

PACKAGES: tuple[str, ...] = ("services", "intake", "routing", "deadlines", "ledger")
SERVICES: frozenset[str] = frozenset({"intake", "routing", "deadlines", "ledger"})


@dataclass(frozen=True)
class Report:
    """What the check found: circles (each a closed path of modules) and forbidden imports."""

    cycles: list[tuple[list[str], list[str]]]
    """Each circle: the modules caught in it, and one shortest closed path through them."""
    cross_service: list[tuple[str, str, int]]

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.cycles and not self.cross_service


def _edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (or a module importing
    itself), each sorted; iterative, so a deep graph cannot overflow the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def _shortest_cycle(graph: grimp.ImportGraph, component: Sequence[str]) -> list[str]:
    """One short closed path through a component, for a readable message."""
    members = set(component)
    best: list[str] = list(component)
    for start in component:
        for target in graph.find_modules_directly_imported_by(start):
            if target not in members:
                continue
            back = graph.find_shortest_chain(importer=target, imported=start)
            if back is not None and len(back) + 1 < len(best) + 1:
                best = [start, *back]
    return [*best, best[0]] if best[-1] != best[0] else best


def check(packages: Sequence[str] = PACKAGES, services: frozenset[str] = SERVICES) -> Report:
    """Build the graph of ``packages`` and find circles, and imports between two of ``services``."""

    def service_of(module: str) -> str | None:
        top = module.split(".", 1)[0]
        return top if top in services else None

    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    edges = _edges(graph)
    # A package's __init__ importing its own submodules is how packages present their API, and
    # Python runs the __init__ first anyway: only a submodule importing its package back is a circle.
    for module, targets in edges.items():
        edges[module] = {t for t in targets if not t.startswith(module + ".")}
    cycles = [(c, _shortest_cycle(graph, c)) for c in strongly_connected(edges)]
    cross: list[tuple[str, str, int]] = []
    for importer, targets in sorted(edges.items()):
        mine = service_of(importer)
        if mine is None:
            continue
        for imported in sorted(targets):
            theirs = service_of(imported)
            if theirs is not None and theirs != mine:
                lines = graph.get_import_details(importer=importer, imported=imported)
                cross.append((importer, imported, lines[0]["line_number"] if lines else 0))
    return Report(cycles, cross)


def main(argv: Sequence[str] | None = None) -> int:
    """Print what the check found; 0 when clean, 1 otherwise."""
    packages = tuple(argv) if argv else PACKAGES
    report = check(packages)
    for members, path in report.cycles:
        print(f"import circle among {len(members)} modules ({', '.join(members)}): " + " -> ".join(path))
    for importer, imported, line in report.cross_service:
        print(f"cross-service import: {importer} (line {line}) imports {imported}")
    if report.ok:
        print(f"no import circle and no cross-service import in {', '.join(packages)}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
