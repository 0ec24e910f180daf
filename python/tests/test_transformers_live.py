"""The differential test against transformers itself, where it is installed (torch + transformers from PyPI, or
Debian's python3-torch with transformers): transformers runs every case of cases.py now, and bertc must give the
same outputs. Elsewhere it is skipped, and test_refs.py checks the same cases against the committed outputs."""
from __future__ import annotations

import json
import os
from typing import Any

import pytest

import bertc

# BERTC_REQUIRE_TORCH=1 (CI, in the venv .ci/torch-venv.sh makes): where torch or transformers is missing the test
# fails instead of skipping
if os.environ.get("BERTC_REQUIRE_TORCH") != "1":
    pytest.importorskip("torch", reason="torch is not installed: the committed references (test_refs.py) stand in")
    pytest.importorskip("transformers", reason="transformers is not installed: test_refs.py stands in")
else:
    import torch  # noqa: F401
    import transformers  # noqa: F401

import cases  # noqa: E402
import test_refs  # noqa: E402
from compare import assert_close, assert_json_close  # noqa: E402

# BERTC_LIVE_SST2=N: transformers runs only the first N SST-2 dev sentences (unset: all 872), and bertc is checked
# on the same N. That part dominates the run on Debian's torch 1.13 (reference BLAS).
SST2_LIMIT = cases.sst2_live_limit()


def _major(out: dict[str, Any]) -> int:
    return int(out["versions"]["transformers"].split(".")[0])


@pytest.fixture(scope="module")
def live():
    return json.loads(json.dumps(cases.run_transformers(SST2_LIMIT)))  # tuples to lists, as in the committed file


def test_live_text_classification(live):
    for i in range(len(live["text_classification"])):
        test_refs.test_text_classification(live, i)


def test_live_feature_extraction(live):
    for i in range(len(live["feature_extraction"])):
        test_refs.test_feature_extraction(live, i)


def test_live_tokenizers(live):
    test_refs.test_tokenizers(live)


def test_live_xlmr_offsets(live):
    """test_refs.test_tokenizers leaves XLM-R's offset_mapping out: transformers 5's XLMRobertaTokenizer swaps
    tokenizer.json's pre-tokenizer (Metaspace, split) for its class's own (WhitespaceSplit + Metaspace), so a word's
    offsets start at the word ("the plot": plot at 4). Transformers 4's XLMRobertaTokenizerFast runs tokenizer.json
    as it is, as the tokenizers library and bertc do: the "▁" stands for the space before the word, and the offsets
    start there (3). So on transformers 4 the offsets are checked here; on 5 test_refs and tests/tokfuzz cover
    XLM-R's ids and tokens, and bertc can't match both."""
    if _major(live) >= 5:
        pytest.skip(f"transformers {live['versions']['transformers']} builds XLM-R's pre-tokenizer itself")
    tok = bertc.AutoTokenizer.from_pretrained(cases.model_path("tok-xlmr"))
    n = 0
    for case in live["tokenizers"]:
        if case["tokenizer"] == "tok-xlmr" and "offset_mapping" in case.get("output", {}):
            got = dict(tok(case["text"], case["pair"], **case["kwargs"]))["offset_mapping"]
            assert_close(got, case["output"]["offset_mapping"], 0, f"tok-xlmr {case['text']!r:.40} {case['kwargs']}")
            n += 1
    assert n == sum("return_offsets_mapping" in kw for _, _, kw in cases.TOKENIZE_CASES)


def test_live_models(live):
    for name in cases.MODEL_NAMES:
        if name not in live.get("skipped_models", []):
            test_refs.test_models(live, name)


def test_live_skips_only_what_transformers_lacks(live, refs):
    """A model left out of the live run is one the installed transformers has no class for, never the references'
    transformers (which ran every case)."""
    assert "skipped_models" not in refs
    for name in live.get("skipped_models", []):
        assert not cases.transformers_knows(name), name


def test_live_sst2_dev(live):
    """test_refs.test_sst2_dev_pipeline's check (transformers' labels, scores within SCORE_TOL) on the sentences
    transformers ran: all of SST-2 dev, or its first BERTC_LIVE_SST2."""
    texts = cases.sst2_dev_texts(SST2_LIMIT)
    want = live["sst2_dev"]
    assert len(want) == len(texts) == (872 if SST2_LIMIT is None else min(SST2_LIMIT, 872))
    got = bertc.pipeline("sentiment-analysis")(texts)
    assert len(got) == len(want)
    assert [g["label"] for g in got] == [w[0] for w in want]
    worst = max(abs(g["score"] - w[1]) for g, w in zip(got, want))
    assert worst <= test_refs.SCORE_TOL, worst


def test_committed_references_are_current(live, refs):
    """What transformers gives today is what was committed (same transformers major version)."""
    if _major(live) != _major(refs):
        pytest.skip(f"transformers {live['versions']['transformers']} vs the references' "
                    f"{refs['versions']['transformers']}")
    for key in ("text_classification", "tokenizers"):
        assert_json_close(live[key], refs[key], 1e-6, key)
