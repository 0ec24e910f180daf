"""The differential test against transformers itself, where it is installed (torch + transformers from PyPI, or
Debian's python3-torch with transformers): transformers runs every case of cases.py now, and bertc must give the
same outputs. Elsewhere it is skipped, and test_refs.py checks the same cases against the committed outputs."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("torch", reason="torch is not installed: the committed references (test_refs.py) stand in")
pytest.importorskip("transformers", reason="transformers is not installed: test_refs.py stands in")

import cases  # noqa: E402
import test_refs  # noqa: E402
from compare import assert_json_close  # noqa: E402


@pytest.fixture(scope="module")
def live():
    return json.loads(json.dumps(cases.run_transformers()))  # tuples to lists, as in the committed file


def test_live_text_classification(live):
    for i in range(len(live["text_classification"])):
        test_refs.test_text_classification(live, i)


def test_live_feature_extraction(live):
    for i in range(len(live["feature_extraction"])):
        test_refs.test_feature_extraction(live, i)


def test_live_tokenizers(live):
    test_refs.test_tokenizers(live)


def test_live_models(live):
    for name in cases.MODEL_NAMES:
        test_refs.test_models(live, name)


def test_live_sst2_dev(live):
    test_refs.test_sst2_dev_pipeline(live)


def test_committed_references_are_current(live, refs):
    """What transformers gives today is what was committed (same transformers major version)."""
    if live["versions"]["transformers"].split(".")[0] != refs["versions"]["transformers"].split(".")[0]:
        pytest.skip(f"transformers {live['versions']['transformers']} vs the references' "
                    f"{refs['versions']['transformers']}")
    for key in ("text_classification", "tokenizers"):
        assert_json_close(live[key], refs[key], 1e-6, key)
