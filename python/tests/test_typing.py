"""The package's type hints hold (mypy --strict), where mypy is installed (CI installs it)."""
import os

import pytest

api = pytest.importorskip("mypy.api", reason="mypy is not installed")


def test_mypy_strict():
    pkg = os.path.join(os.path.dirname(__file__), "..", "bertc")
    out, err, status = api.run(["--strict", "--ignore-missing-imports", "--no-incremental",
                                "--cache-dir", os.devnull, pkg])
    assert status == 0, out + err
