"""The emulator's import boundaries: it stands alone, its backends know nothing of HTTP, and
the pipeline reaches it only from the demo and the CLI's `sandbox serve`."""

from __future__ import annotations

import ast
from pathlib import Path

import qb_pipeline

PACKAGE = Path(qb_pipeline.__file__).parent
SANDBOX = PACKAGE / "sandbox"
BACKENDS = ("accounting", "reports", "generate", "oauth/backend.py")
HTTP_LIBRARIES = ("starlette", "uvicorn", "httpx", "jinja2")


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at any depth (function-local imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)


def offenders(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for name in sorted(imported_modules(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


def test_the_emulator_imports_nothing_of_the_pipeline():
    pipeline = [
        f"qb_pipeline.{p.name.removesuffix('.py')}"
        for p in PACKAGE.iterdir()
        if p.name != "sandbox"
        and (p.suffix == ".py" or (p / "__init__.py").exists())
        and p.name != "__init__.py"
    ]
    assert "qb_pipeline.quickbooks" in pipeline  # the scan sees the pipeline's packages
    assert offenders(sources(SANDBOX), (*pipeline, "qb_pipeline.__init__")) == []


def test_backends_import_no_http_and_nothing_of_the_server():
    files = []
    for part in BACKENDS:
        target = SANDBOX / part
        files += [target] if target.is_file() else sources(target)
    assert len(files) > 20  # every backend module is scanned
    forbidden = (
        *HTTP_LIBRARIES,
        "qb_pipeline.sandbox.server",
        "qb_pipeline.sandbox.oauth.endpoints",
    )
    assert offenders(files, forbidden) == []


def test_the_emulator_does_not_import_its_testing_aids():
    files = [p for p in sources(SANDBOX) if "testing" not in p.relative_to(SANDBOX).parts]
    assert offenders(files, ("qb_pipeline.sandbox.testing",)) == []


def test_the_pipeline_reaches_the_emulator_only_from_the_demo_and_the_cli():
    files = [p for p in sources(PACKAGE) if SANDBOX not in p.parents]
    users = {line.split(" imports ")[0] for line in offenders(files, ("qb_pipeline.sandbox",))}
    assert users == {"cli/emulator.py", "demo.py"}
