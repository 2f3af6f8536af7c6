"""Run antbee-edge in a child Python where one package cannot be imported, as in a plain `pip install antbee`."""

from __future__ import annotations

import subprocess
import sys


def run_edge_without(package: str, args: list[str]) -> subprocess.CompletedProcess:
    """`antbee-edge ARGS` with `package` (and its submodules) hidden by a meta-path finder; output captured."""
    probe = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] == {package!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from antbee.edge.cli import main\n"
        f"sys.argv = ['antbee-edge', *{args!r}]\n"
        "main()\n"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
