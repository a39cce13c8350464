"""The complete test on docs/using-devhost.md, run as written: its code block is this
module's body. The `durable_host` fixture runs the app in the rootdir, this project's
app, as the page says a project's own tests get theirs."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "using-devhost.md"
# The block that starts with the file name the page gives it.
_BLOCK = re.compile(r"^```python\n(# tests/test_approval\.py\n.*?)^```$", re.DOTALL | re.MULTILINE)


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = _BLOCK.search(text)
    assert found is not None, f"{DOC} has no `# tests/test_approval.py` block"
    # Blank lines before it, so a failure's traceback points at the page's own lines.
    return "\n" * text.count("\n", 0, found.start(1)) + found.group(1)


exec(compile(_example(), str(DOC), "exec"))
