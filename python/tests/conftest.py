import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402


@pytest.fixture(scope="session")
def refs():
    with open(cases.REFS, encoding="utf-8") as f:
        return json.load(f)
