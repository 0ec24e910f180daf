"""Model ids through the Hugging Face cache (libbertc's hub client: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT,
HF_TOKEN, HF_HUB_OFFLINE, as huggingface_hub reads them)."""
from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, Structure, c_char_p, c_int, c_size_t, c_void_p

from . import _lib
from ._lib import lib


class HubParams(Structure):
    _fields_ = [("revision", c_char_p), ("endpoint", c_char_p), ("token", c_char_p), ("cache_dir", c_char_p),
                ("offline", c_int), ("progress", c_void_p), ("progress_ctx", c_void_p)]


lib.bertc_hub_default_params.restype = HubParams
lib.bertc_hub_default_params.argtypes = []
lib.bertc_hub_is_model_id.restype = c_int
lib.bertc_hub_is_model_id.argtypes = [c_char_p]
lib.bertc_hub_snapshot.restype = c_int
lib.bertc_hub_snapshot.argtypes = [c_char_p, POINTER(HubParams), c_char_p, c_size_t, POINTER(_lib.Error)]


def snapshot(repo_id: str, revision: str | None = None, cache_dir: str | None = None,
             token: str | None = None) -> str:
    """The local snapshot folder of a model id, downloading the files bertc needs when they are missing."""
    if not lib.bertc_hub_is_model_id(repo_id.encode()):
        raise _lib.BertcOSError(f"{repo_id}: no such folder, and not a model id", "I/O error", _lib.BERTC_ERR_IO)
    p = lib.bertc_hub_default_params()
    if revision:
        p.revision = revision.encode()
    if cache_dir:
        p.cache_dir = os.fsencode(cache_dir)
    if token:
        p.token = token.encode()
    buf = ctypes.create_string_buffer(4096)
    err = _lib.Error()
    _lib.check(lib.bertc_hub_snapshot(repo_id.encode(), ctypes.byref(p), buf, len(buf), ctypes.byref(err)), err)
    return os.fsdecode(buf.value)
