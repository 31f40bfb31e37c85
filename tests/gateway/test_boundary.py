"""glm/ is the boundary to the GLM API and knows nothing of Django."""
import ast
from pathlib import Path

GLM_PACKAGE = Path(__file__).resolve().parents[2] / "glm"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_in_glm_imports_django_or_the_apps():
    sources = sorted(GLM_PACKAGE.rglob("*.py"))
    assert len(sources) > 20, "the package was found"
    offenders = {
        str(path.relative_to(GLM_PACKAGE)): sorted(
            name for name in _imported_modules(path)
            if name.split(".")[0] in {"django", "channels", "chat", "images", "usage", "accounts", "glmweb"}
        )
        for path in sources
    }
    assert {path: names for path, names in offenders.items() if names} == {}
