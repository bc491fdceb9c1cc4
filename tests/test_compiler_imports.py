"""What a Dask worker pays to get ready for a compilation: ``import qlab.compiler.execution``."""

import subprocess
import sys


def test_the_compilation_task_module_loads_without_qutip_matplotlib_or_pandas():
    code = (
        "import sys\n"
        "import qlab.compiler.execution\n"
        "print(' '.join(m for m in ('qutip', 'matplotlib', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []


def test_the_client_side_still_loads_on_first_use():
    code = (
        "import sys\n"
        "import qlab.compiler as c\n"
        "before = 'pandas' in sys.modules\n"
        "print(before, c.Compiler.__module__, c.CompilationTask.__name__, 'Compiler' in dir(c))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "qlab.compiler.compiler", "CompilationTask", "True"]
