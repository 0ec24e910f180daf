"""ctypes declarations of libbertc's public API (include/bertc*.h) and the error mapping.

ctypes releases the GIL for the duration of every foreign call, so Python threads computing with one shared
model run in parallel; libbertc's models and tokenizers are immutable after load and safe to share.
"""
from __future__ import annotations

import ctypes
import os
from ctypes import (POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_size_t, c_uint8,
                    c_uint64, c_void_p)
from typing import Any, NoReturn

__all__ = ["lib", "BertcError", "BertcValueError", "BertcOSError", "BertcMemoryError", "check"]


class BertcError(Exception):
    """An error reported by libbertc: ``status`` is its bertc_status name ("format error", ...)."""

    def __init__(self, message: str, status: str = "error", code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class BertcValueError(BertcError, ValueError):
    """Bad input or a malformed, unsupported or mismatched model (BERTC_ERR_INVALID_ARG, FORMAT, UNSUPPORTED,
    ARCH, INPUT, DIVERGED)."""


class BertcOSError(BertcError, OSError):
    """A file could not be opened, read, mapped or written (BERTC_ERR_IO; BERTC_ERR_OUTPUT: an output could not be
    written, e.g. a full disk or a read-only folder)."""


class BertcMemoryError(BertcError, MemoryError):
    """Out of memory (BERTC_ERR_NOMEM)."""


class BertcInterrupted(BertcError, KeyboardInterrupt):
    """Training stopped on request after saving a checkpoint (BERTC_ERR_INTERRUPTED)."""


BERTC_ERR_IO, BERTC_ERR_NOMEM, BERTC_ERR_INTERRUPTED, BERTC_ERR_OUTPUT = 2, 7, 8, 10


class Error(Structure):
    _fields_ = [("status", c_int), ("message", c_char * 512)]


class EncodeParams(Structure):
    _fields_ = [("add_special_tokens", c_int), ("truncation", c_int), ("max_length", c_int),
                ("truncate_left", c_int), ("truncation_strategy", c_int)]


class Encoding(Structure):
    _fields_ = [("n", c_size_t), ("ids", POINTER(c_int32)), ("type_ids", POINTER(c_int32)),
                ("attention_mask", POINTER(c_int32)), ("offsets", POINTER(c_int32)), ("special", POINTER(c_uint8)),
                ("sequence", POINTER(c_uint8)), ("word_ids", POINTER(c_int32))]


class Text(Structure):
    _fields_ = [("text", c_char_p), ("len", c_size_t), ("pair", c_char_p), ("pair_len", c_size_t)]


class ModelParams(Structure):
    _fields_ = [("arch", c_int), ("n_threads", c_int), ("dtype", c_int), ("compute", c_int)]


class ModelInfo(Structure):
    _fields_ = [("arch", c_int), ("model_type", c_char_p), ("architecture", c_char_p), ("problem", c_int),
                ("n_labels", c_int), ("hidden", c_int), ("layers", c_int), ("heads", c_int),
                ("intermediate", c_int), ("vocab_size", c_int), ("max_positions", c_int), ("max_length", c_int),
                ("n_params", c_uint64), ("weight_bytes", c_uint64), ("dtype", c_char_p), ("compute", c_int),
                ("load_ms", c_double), ("source", c_char_p), ("isa", c_char_p), ("compute_mode", c_int),
                ("compute_isa", c_char_p), ("head", c_int), ("max_tokens", c_int)]


class ClassifyParams(Structure):
    _fields_ = [("encode", EncodeParams), ("function", c_int), ("batch_size", c_int)]


class Classification(Structure):
    _fields_ = [("n_labels", c_int), ("label_id", c_int), ("score", c_float), ("logits", POINTER(c_float)),
                ("scores", POINTER(c_float)), ("n_tokens", c_int), ("order", POINTER(c_int)), ("function", c_int)]


class Embedding(Structure):
    _fields_ = [("n_tokens", c_int), ("rows", c_int), ("hidden", c_int), ("data", POINTER(c_float))]


class EmbedParams(Structure):
    _fields_ = [("encode", EncodeParams), ("pooling", c_int), ("normalize", c_int), ("prompt", c_char_p),
                ("prompt_name", c_char_p)]


class ZeroShotParams(Structure):
    _fields_ = [("hypothesis_template", c_char_p), ("multi_label", c_int), ("classify", ClassifyParams),
                ("entailment_id", c_int)]


class ZeroShotResult(Structure):
    _fields_ = [("n_labels", c_size_t), ("order", POINTER(c_size_t)), ("scores", POINTER(c_float)),
                ("logits", POINTER(c_float)), ("entailment_id", c_int), ("contradiction_id", c_int)]


class TokenClassParams(Structure):
    _fields_ = [("aggregation", c_int), ("ignore_labels", POINTER(c_char_p)), ("n_ignore", c_size_t),
                ("encode", EncodeParams), ("stride", c_int)]


class TokenEntity(Structure):
    _fields_ = [("label", c_char_p), ("score", c_float), ("index", c_int), ("word", c_char_p), ("start", c_int),
                ("end", c_int)]


class TokenClassResult(Structure):
    _fields_ = [("n", c_size_t), ("entities", POINTER(TokenEntity))]


class QAParams(Structure):
    _fields_ = [("top_k", c_int), ("doc_stride", c_int), ("max_seq_len", c_int), ("max_question_len", c_int),
                ("max_answer_len", c_int), ("handle_impossible_answer", c_int), ("align_to_words", c_int)]


class Answer(Structure):
    _fields_ = [("score", c_double), ("start", c_int), ("end", c_int), ("answer", c_char_p)]


class QAResult(Structure):
    _fields_ = [("n", c_size_t), ("answers", POINTER(Answer))]


class FillMaskParams(Structure):
    _fields_ = [("top_k", c_int), ("targets", POINTER(c_char_p)), ("n_targets", c_size_t), ("encode", EncodeParams)]


class MaskCandidate(Structure):
    _fields_ = [("score", c_float), ("token", c_int32), ("token_str", c_char_p), ("sequence", c_char_p)]


class FillMaskResult(Structure):
    _fields_ = [("n_masks", c_size_t), ("k", c_size_t), ("candidates", POINTER(MaskCandidate))]


def _find_library() -> str:
    env = os.environ.get("BERTC_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libbertc.so", "libbertc.so.0"):
        p = os.path.join(here, name)
        if os.path.exists(p):
            return p
    import ctypes.util  # imports subprocess and shutil: only when the package has no library of its own

    found = ctypes.util.find_library("bertc")
    if found:
        return found
    raise ImportError("bertc: libbertc.so not found (install the package with `pip install ./python`, or set "
                      "BERTC_LIBRARY to the library's path)")


def _declare(lib: ctypes.CDLL) -> None:
    P = POINTER
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "bertc_status_str": (c_char_p, [c_int]),
        "bertc_free": (None, [c_void_p]),
        "bertc_tokenizer_load": (c_int, [c_char_p, P(c_void_p), P(Error)]),
        "bertc_tokenizer_free": (None, [c_void_p]),
        "bertc_encode_default_params": (EncodeParams, []),
        "bertc_tokenize": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, P(EncodeParams), P(Encoding),
                                   P(Error)]),
        "bertc_encoding_free": (None, [P(Encoding)]),
        "bertc_decode": (c_int, [c_void_p, P(c_int32), c_size_t, c_int, P(c_void_p), P(c_size_t), P(Error)]),
        "bertc_tokenizer_id_to_token": (c_char_p, [c_void_p, c_int32]),
        "bertc_tokenizer_vocab_size": (c_int, [c_void_p]),
        "bertc_tokenizer_pad_id": (c_int, [c_void_p]),
        "bertc_tokenizer_max_length": (c_int, [c_void_p]),
        "bertc_model_default_params": (ModelParams, []),
        "bertc_model_load": (c_int, [c_char_p, P(ModelParams), P(c_void_p), P(Error)]),
        "bertc_model_free": (None, [c_void_p]),
        "bertc_default_model_save": (c_int, [c_char_p, P(Error)]),
        "bertc_checkpoint_copy": (c_int, [c_char_p, c_char_p, c_int, P(Error)]),
        "bertc_default_model_folder": (c_int, [c_char_p, c_size_t, P(Error)]),
        "bertc_model_get_info": (None, [c_void_p, P(ModelInfo)]),
        "bertc_model_tokenizer": (c_void_p, [c_void_p]),
        "bertc_model_label": (c_char_p, [c_void_p, c_int]),
        "bertc_classify_default_params": (ClassifyParams, []),
        "bertc_classify": (c_int, [c_void_p, P(Text), c_size_t, P(ClassifyParams), P(Classification), P(Error)]),
        "bertc_classification_free": (None, [P(Classification), c_size_t]),
        "bertc_classify_function": (c_int, [c_void_p, c_int]),
        "bertc_scores_order": (None, [P(c_float), c_int, P(c_int)]),
        "bertc_embed_default_params": (EmbedParams, []),
        "bertc_embed": (c_int, [c_void_p, P(Text), c_size_t, P(EncodeParams), c_int, P(Embedding), P(Error)]),
        "bertc_embed_ex": (c_int, [c_void_p, P(Text), c_size_t, P(EmbedParams), P(Embedding), P(Error)]),
        "bertc_embedding_free": (None, [P(Embedding), c_size_t]),
        "bertc_zero_shot_default_params": (ZeroShotParams, []),
        "bertc_zero_shot": (c_int, [c_void_p, c_char_p, c_size_t, P(c_char_p), c_size_t, P(ZeroShotParams),
                                    P(ZeroShotResult), P(Error)]),
        "bertc_zero_shot_result_free": (None, [P(ZeroShotResult)]),
        "bertc_head_name": (c_char_p, [c_int]),
        "bertc_token_logits": (c_int, [c_void_p, P(Encoding), c_size_t, P(c_float), P(Error)]),
        "bertc_mlm_logits": (c_int, [c_void_p, P(Encoding), c_size_t, P(c_int32), c_size_t, P(c_float), P(Error)]),
        "bertc_tokenizer_mask_id": (c_int, [c_void_p]),
        "bertc_token_class_default_params": (TokenClassParams, []),
        "bertc_token_classify": (c_int, [c_void_p, c_char_p, c_size_t, P(TokenClassParams), P(TokenClassResult),
                                         P(Error)]),
        "bertc_token_class_result_free": (None, [P(TokenClassResult)]),
        "bertc_qa_default_params": (QAParams, []),
        "bertc_question_answer": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, P(QAParams), P(QAResult),
                                          P(Error)]),
        "bertc_qa_result_free": (None, [P(QAResult)]),
        "bertc_fill_mask_default_params": (FillMaskParams, []),
        "bertc_fill_mask": (c_int, [c_void_p, c_char_p, c_size_t, P(FillMaskParams), P(FillMaskResult), P(Error)]),
        "bertc_fill_mask_result_free": (None, [P(FillMaskResult)]),
        "bertc_forward": (c_int, [c_void_p, P(Encoding), c_size_t, P(c_float), P(c_float), P(Error)]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


def _sibling(path: str, names: tuple[str, ...], env: str) -> str:
    """libbertc-eval.so beside libbertc.so (the wheel ships the three libraries together)."""
    given = os.environ.get(env)
    if given:
        return given
    here = os.path.dirname(os.path.realpath(path)) if os.path.sep in path else ""
    for name in names:
        p = os.path.join(here, name)
        if here and os.path.exists(p):
            return p
    return names[-1]  # the dynamic loader's search path


_path = _find_library()
lib = ctypes.CDLL(_path)
_declare(lib)
# the evaluation library (reports, evaluation runs) is libbertc-eval.so; the default model (minilm-sst2) is
# libbertc-default.so.0, which libbertc.so opens from its own folder when bertc_model_load(NULL) asks for it
eval_lib = ctypes.CDLL(_sibling(_path, ("libbertc-eval.so", "libbertc-eval.so.0"), "BERTC_EVAL_LIBRARY"))


# Each ctypes mirror of a C struct, by its C name: checked against the library's sizeof at import.
MIRRORS: dict[str, type[Structure]] = {}


def check_struct_sizes(library: ctypes.CDLL, size_fn: str, structs: dict[str, type[Structure]]) -> None:
    """ImportError unless every mirror has the size the library reports for its C struct (bertc_struct_size /
    bertc_eval_struct_size): a Python package and a libbertc.so from different versions would otherwise read and
    write the wrong bytes."""
    try:
        f = getattr(library, size_fn)
    except AttributeError:
        raise ImportError(f"bertc: {library._name} has no {size_fn}(): a library older than this Python package "
                          "(reinstall both together, or point BERTC_LIBRARY at the matching libbertc.so)") from None
    f.restype, f.argtypes = c_size_t, [c_char_p]
    bad = []
    for name, cls in structs.items():
        want, have = int(f(name.encode())), ctypes.sizeof(cls)
        if want != have:
            bad.append(f"{name} is {want} bytes in the library, {have} in {cls.__module__}.{cls.__name__}"
                       if want else f"{name} is not a struct of the library")
    if bad:
        raise ImportError(f"bertc: {library._name} does not match this Python package ({'; '.join(bad)}): "
                          "reinstall both together, or point BERTC_LIBRARY at the matching libbertc.so")
    MIRRORS.update(structs)


check_struct_sizes(lib, "bertc_struct_size", {
    "bertc_error": Error, "bertc_encode_params": EncodeParams, "bertc_encoding": Encoding, "bertc_text": Text,
    "bertc_model_params": ModelParams, "bertc_model_info": ModelInfo, "bertc_classify_params": ClassifyParams,
    "bertc_classification": Classification, "bertc_embedding": Embedding, "bertc_embed_params": EmbedParams,
    "bertc_zero_shot_params": ZeroShotParams, "bertc_zero_shot_result": ZeroShotResult,
    "bertc_token_class_params": TokenClassParams, "bertc_token_entity": TokenEntity,
    "bertc_token_class_result": TokenClassResult, "bertc_qa_params": QAParams, "bertc_answer": Answer,
    "bertc_qa_result": QAResult, "bertc_fill_mask_params": FillMaskParams, "bertc_mask_candidate": MaskCandidate,
    "bertc_fill_mask_result": FillMaskResult})


def python_words(msg: str) -> str:
    """libbertc's messages name the command line's flags (--text-column); in Python they are keyword arguments
    (text_column=)."""
    import re
    return re.sub(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\b(?!=)",
                  lambda mo: mo.group(1).replace("-", "_") + "=", msg)


def raise_error(status: int, err: Error) -> NoReturn:
    msg = python_words(err.message.decode("utf-8", "replace"))
    name = (lib.bertc_status_str(status) or b"error").decode()
    cls: type[BertcError] = BertcValueError
    if status in (BERTC_ERR_IO, BERTC_ERR_OUTPUT):
        cls = BertcOSError
    elif status == BERTC_ERR_NOMEM:
        cls = BertcMemoryError
    elif status == BERTC_ERR_INTERRUPTED:
        cls = BertcInterrupted
    raise cls(msg, name, status)


def check(status: int, err: Error) -> None:
    """Raises the Python exception of a non-zero bertc_status with libbertc's message."""
    if status:
        raise_error(status, err)


def take_string(ptr: c_void_p, length: int | None = None) -> str:
    """Copies a malloc'ed UTF-8 string returned by libbertc and frees it."""
    try:
        if length is None:
            raw = ctypes.string_at(ptr)
        else:
            raw = ctypes.string_at(ptr, length)
        return raw.decode("utf-8")
    finally:
        lib.bertc_free(ptr)
