"""Structural comparison of bertc's outputs with transformers' (committed or live)."""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

import bertc
import cases

_models: dict[str, Any] = {}


def model(name: str) -> Any:
    if name not in _models:
        _models[name] = bertc.AutoModel.from_pretrained(None if name == "default" else cases.model_path(name))
    return _models[name]


def assert_close(got: Any, want: Any, tol: float, where: str = "") -> None:
    """Same structure, same labels and ints, floats within tol."""
    if isinstance(want, dict) and set(want) == {"array", "dtype", "shape"}:
        assert isinstance(got, np.ndarray), f"{where}: want an array, got {type(got)}"
        assert str(got.dtype) == want["dtype"] and list(got.shape) == want["shape"], \
            f"{where}: {got.dtype}{got.shape} != {want['dtype']}{want['shape']}"
        assert_close(got.tolist(), want["array"], tol, where)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for k in want:
            assert_close(got[k], want[k], tol, f"{where}.{k}")
    elif isinstance(want, list):
        if isinstance(got, tuple):
            got = list(got)
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got!r:.200} != {want!r:.200}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, tol, f"{where}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, float) and math.isclose(got, want, rel_tol=0, abs_tol=tol), f"{where}: {got} != {want}"
    else:
        assert got == want and type(got) is type(want), f"{where}: {got!r} != {want!r}"


def run_classification(case: dict[str, Any]) -> Any:
    pipe = bertc.pipeline("text-classification", model=model(case["model"]), **copy.deepcopy(case["init"]))
    return pipe(case["inputs"], **copy.deepcopy(case["call"]))


def run_features(case: dict[str, Any]) -> Any:
    pipe = bertc.pipeline("feature-extraction", model=model(case["model"]), **copy.deepcopy(case["init"]))
    return pipe(case["inputs"], **copy.deepcopy(case["call"]))


def assert_json_close(a: Any, b: Any, tol: float, where: str = "") -> None:
    """Two JSON values equal, floats within tol."""
    if isinstance(b, float) or isinstance(a, float):
        assert math.isclose(float(a), float(b), rel_tol=0, abs_tol=tol), f"{where}: {a} != {b}"
    elif isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in b:
            assert_json_close(a[k], b[k], tol, f"{where}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_json_close(x, y, tol, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
