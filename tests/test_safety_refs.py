"""Traceability is checked: every test docs/safety.md cites exists, every requirement ID cited
anywhere in the repo is defined in docs/requirements.md.

The suite is collected by pytest itself (`--collect-only` in a subprocess), so a test that was
renamed, cut off or deleted fails here instead of leaving a row that proves nothing.
"""

import re
import subprocess
import sys

from emu import REPO

SAFETY = REPO / "docs" / "safety.md"
REQUIREMENTS = REPO / "docs" / "requirements.md"
STATEFUL = REPO / "tests" / "test_stateful.py"
# a requirement is defined by a heading "### DEL-1 Title"
DEFINED = re.compile(r"^### ([A-Z]{2,4}-\d+) ", re.M)


def _cited_in() -> list:
    """The repo's own text: README, CONTRIBUTING and every .py and .md under the source trees."""
    paths = [p for p in (REPO / "README.md", REPO / "CONTRIBUTING.md") if p.exists()]
    for top in ("docs", "firmware", "host", "tests", "tools", "scenarios"):
        paths += sorted((REPO / top).rglob("*.py")) + sorted((REPO / top).rglob("*.md"))
    return paths


def collected_node_ids() -> set[str]:
    """Every test node ID in tests/, as `pytest --collect-only -q` prints them."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=",
         "-p", "no:cacheprovider", str(REPO / "tests")],
        capture_output=True, text=True, cwd=REPO, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {line for line in proc.stdout.splitlines() if "::" in line}


def cited_tests(text: str) -> list[str]:
    """Backticked references that start with tests/: a node ID or a whole test file."""
    return re.findall(r"`(tests/[^`]+)`", text)


def unknown_references(refs: list[str], nodes: set[str]) -> list[str]:
    """The references that name no collected test (a parametrized test may be cited unbracketed,
    a file by its path alone)."""
    known = set(nodes)
    known |= {n.split("[", 1)[0] for n in nodes}
    known |= {n.split("::", 1)[0] for n in nodes}
    return [ref for ref in refs if ref not in known]


def test_every_test_cited_in_safety_md_exists():
    refs = cited_tests(SAFETY.read_text())
    assert len(refs) > 30, "docs/safety.md cites too few tests: has its format changed?"
    missing = unknown_references(refs, collected_node_ids())
    assert not missing, "docs/safety.md cites tests that pytest does not collect:\n" + "\n".join(
        missing
    )


def test_stateful_rules_cited_in_safety_md_exist():
    text = SAFETY.read_text()
    names = re.findall(r"(?:rule|invariant) `(\w+)`", text)
    assert names, "docs/safety.md names no stateful rule: has its format changed?"
    defined = set(re.findall(r"^    def (\w+)\(", STATEFUL.read_text(), re.M))
    assert sorted(set(names) - defined) == []


def test_every_requirement_id_cited_is_defined_in_requirements_md():
    defined = set(DEFINED.findall(REQUIREMENTS.read_text()))
    assert {"DEL-1", "OCC-1", "SEC-1"} <= defined
    families = "|".join(sorted({i.split("-")[0] for i in defined}))
    cited = re.compile(r"\b(?:" + families + r")-\d+\b")
    undefined = []
    for path in _cited_in():
        for ref in sorted(set(cited.findall(path.read_text(errors="replace"))) - defined):
            undefined.append(f"{path.relative_to(REPO)}: {ref}")
    assert not undefined, "requirement IDs not defined in docs/requirements.md:\n" + "\n".join(
        undefined
    )


def test_nothing_refers_to_a_design_brief_outside_the_repo():
    """The requirements and targets live in docs/requirements.md; a reference to the project's
    original design brief (its file, its sections, its targets) names nothing a reader of this
    repo can open."""
    stale = []
    for path in _cited_in():
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if re.search(r"\bDESIGN\b", line):
                stale.append(f"{path.relative_to(REPO)}:{n}: {line.strip()[:80]}")
    assert not stale, "point these at docs/requirements.md instead:\n" + "\n".join(stale)


def cited_files(text: str) -> list[str]:
    """Backticked file paths (`pump/alarms.py`, `tests/basal_model.py`, `host/pumpctl/x.py`)."""
    found = re.findall(r"`([\w./-]+\.(?:py|md|json|csv))(?:::[^`]*)?`", text)
    return found


def where(path: str):
    """A cited path in the repo: pump/ and boards/ are firmware's, pumpctl/ the host's."""
    if path.startswith(("pump/", "boards/")):
        return REPO / "firmware" / path
    if path.startswith("pumpctl/"):
        return REPO / "host" / path
    return REPO / path


def test_every_file_named_in_requirements_and_safety_md_exists():
    missing = []
    for doc in (REQUIREMENTS, SAFETY):
        files = cited_files(doc.read_text())
        assert len(files) > 10, f"{doc.name} names too few files: has its format changed?"
        missing += [f"{doc.name}: {f}" for f in files if not where(f).exists()]
    assert not missing, "files named but not in the repo:\n" + "\n".join(missing)


def test_a_dangling_reference_is_reported():
    nodes = {"tests/test_a.py::test_one", "tests/test_a.py::test_two[x]"}
    refs = ["tests/test_a.py", "tests/test_a.py::test_one", "tests/test_a.py::test_two",
            "tests/test_a.py::test_on", "tests/test_b.py"]  # fmt: skip
    assert unknown_references(refs, nodes) == ["tests/test_a.py::test_on", "tests/test_b.py"]
