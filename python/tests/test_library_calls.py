"""What the Python faces take from libbertc instead of computing themselves: the struct layouts checked at import,
the Hugging Face cache's list and removal, a model by folder or id (bertc_model_open), the classification
pipeline's function and order."""
from __future__ import annotations

import ctypes
import importlib
import inspect
import os

import pytest

import bertc
import cases
from bertc import _lib


def _mirrors_in_package() -> set[type]:
    found = set()
    for name in ("_lib", "_hub", "_train", "_eval", "_model", "_pipeline", "_tokenizer"):
        mod = importlib.import_module(f"bertc.{name}")
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, ctypes.Structure) and obj.__module__ == mod.__name__:
                found.add(obj)
    return found


def test_every_struct_mirror_is_size_checked():
    mirrors = _mirrors_in_package()  # imports every module first: each checks its own at import
    missing = sorted(c.__qualname__ for c in mirrors - set(_lib.MIRRORS.values()))
    assert not missing, f"ctypes mirrors with no size check: {missing}"
    for name, cls in _lib.MIRRORS.items():
        lib = _lib.eval_lib if name in ("bertc_eval_params",) else _lib.lib
        fn = lib.bertc_eval_struct_size if lib is _lib.eval_lib else lib.bertc_struct_size
        assert fn(name.encode()) == ctypes.sizeof(cls) > 0, name


def test_a_mismatched_struct_is_an_import_error():
    class Short(ctypes.Structure):
        _fields_ = [("status", ctypes.c_int)]

    with pytest.raises(ImportError, match=r"bertc_error is 516 bytes in the library, 4 in .*Short"):
        _lib.check_struct_sizes(_lib.lib, "bertc_struct_size", {"bertc_error": Short})
    with pytest.raises(ImportError, match="bertc_nothing is not a struct of the library"):
        _lib.check_struct_sizes(_lib.lib, "bertc_struct_size", {"bertc_nothing": Short})
    with pytest.raises(ImportError, match="has no bertc_no_such_call"):
        _lib.check_struct_sizes(_lib.lib, "bertc_no_such_call", {"bertc_error": Short})


def _blob(path, n):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * n)


def test_cache_list_and_remove(tmp_path):
    root = tmp_path / "hub"
    _blob(root / "models--org--b" / "blobs" / "one", 100)
    (root / "models--org--b" / "refs").mkdir()
    (root / "models--org--b" / "refs" / "main").write_text("c0ffee")
    (root / "models--org--b" / "refs" / "v1").write_text("c0ffee")
    _blob(root / "models--a" / "blobs" / "two", 10)
    (root / "models--org--c.tmp-999999").mkdir()  # a removal killed midway: no model
    assert bertc.cache_list(tmp_path / "none") == []
    got = bertc.cache_list(root)
    assert got == [bertc.CachedModel("a", str(root / "models--a"), 10, ()),
                   bertc.CachedModel("org/b", str(root / "models--org--b"), 100, ("main", "v1"))]
    with pytest.raises(bertc.BertcValueError, match=r"org/x is not in the cache"):
        bertc.cache_remove("org/x", root)
    with pytest.raises(bertc.BertcValueError, match="not a model id"):
        bertc.cache_remove("../b", root)
    assert bertc.cache_remove("org/b", root) == str(root / "models--org--b")
    assert sorted(os.listdir(root)) == ["models--a"]
    assert [m.repo_id for m in bertc.cache_list(root)] == ["a"]


def test_cache_list_follows_the_environment(tmp_path, monkeypatch):
    _blob(tmp_path / "models--org--m" / "blobs" / "x", 3)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert [(m.repo_id, m.size_on_disk) for m in bertc.cache_list()] == [("org/m", 3)]


def test_model_by_folder_or_id_errors(tmp_path):
    with pytest.raises(bertc.BertcOSError, match=r"cannot load model .*: no such folder \(and not a model id"):
        bertc.AutoModel.from_pretrained(str(tmp_path / "missing"))
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(bertc.BertcOSError, match="it is a file"):
        bertc.AutoModel.from_pretrained(str(f))
    with pytest.raises(bertc.BertcOSError, match="no such folder"):
        bertc.AutoTokenizer.from_pretrained("./no-such-folder")
    # a folder loads as it is, with a revision ignored as transformers ignores it
    m = bertc.AutoModelForSequenceClassification.from_pretrained(cases.model_path("tiny-bert"), revision="v2")
    assert m.name_or_path == cases.model_path("tiny-bert")


def test_model_id_from_the_cache_offline(tmp_path, monkeypatch):
    """An id resolves through the cache (huggingface_hub's layout) with no network."""
    src = cases.model_path("tiny-distilbert")
    repo = tmp_path / "models--org--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in os.listdir(src):
        if os.path.isfile(os.path.join(src, name)):
            (snap / name).write_bytes(open(os.path.join(src, name), "rb").read())
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = bertc.AutoModelForSequenceClassification.from_pretrained("org/tiny")
    assert m.name_or_path == str(snap)
    with pytest.raises(bertc.BertcOSError, match="cannot load model org/other: .*not in the cache"):
        bertc.AutoModel.from_pretrained("org/other")


def test_classification_function_and_order_come_from_the_library():
    clf = bertc.pipeline("text-classification", model=cases.model_path("tiny-roberta"))  # multi-label: sigmoid
    assert clf._function(None) == "sigmoid" and clf._function("default") == "sigmoid"
    assert clf._function("softmax") == "softmax"
    out = clf(["a charming journey", "not good"], top_k=None)
    for row in out:
        assert [d["score"] for d in row] == sorted((d["score"] for d in row), reverse=True)
    raw = clf("a charming journey", top_k=None, function_to_apply="none")
    logits = clf.model.logits([("a charming journey", None)])[0]
    assert [d["score"] for d in raw] == sorted((float(x) for x in logits), reverse=True)
    assert [d["label"] for d in clf("a charming journey", top_k=2)] == [d["label"] for d in out[0][:2]]
