"""Model ids through the Hugging Face cache (libbertc's hub client: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT,
HF_TOKEN, HF_HUB_OFFLINE, as huggingface_hub reads them)."""
from __future__ import annotations

import ctypes
import os
from typing import NoReturn
from ctypes import POINTER, Structure, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass

from . import _lib
from ._lib import lib


class HubParams(Structure):
    _fields_ = [("revision", c_char_p), ("endpoint", c_char_p), ("token", c_char_p), ("cache_dir", c_char_p),
                ("offline", c_int), ("progress", c_void_p), ("progress_ctx", c_void_p)]


class CachedModelC(Structure):
    _fields_ = [("repo_id", c_char_p), ("path", c_char_p), ("size_on_disk", c_uint64), ("n_refs", c_size_t),
                ("refs", POINTER(c_char_p))]


_lib.check_struct_sizes(lib, "bertc_struct_size", {"bertc_hub_params": HubParams,
                                                   "bertc_hub_cached_model": CachedModelC})
lib.bertc_hub_resolve.restype = c_int
lib.bertc_hub_resolve.argtypes = [c_char_p, POINTER(HubParams), c_char_p, c_size_t, POINTER(_lib.Error)]
lib.bertc_model_open.restype = c_int
lib.bertc_model_open.argtypes = [c_char_p, POINTER(_lib.ModelParams), POINTER(HubParams), POINTER(c_void_p), c_char_p,
                                 c_size_t, POINTER(_lib.Error)]
lib.bertc_hub_cache_list.restype = c_int
lib.bertc_hub_cache_list.argtypes = [POINTER(HubParams), POINTER(POINTER(CachedModelC)), POINTER(c_size_t),
                                     POINTER(_lib.Error)]
lib.bertc_hub_cache_list_free.restype = None
lib.bertc_hub_cache_list_free.argtypes = [POINTER(CachedModelC), c_size_t]
lib.bertc_hub_cache_remove.restype = c_int
lib.bertc_hub_cache_remove.argtypes = [c_char_p, POINTER(HubParams), c_char_p, c_size_t, POINTER(_lib.Error)]
lib.bertc_hub_default_params.restype = HubParams
lib.bertc_hub_default_params.argtypes = []
lib.bertc_hub_is_model_id.restype = c_int
lib.bertc_hub_is_model_id.argtypes = [c_char_p]
lib.bertc_hub_snapshot.restype = c_int
lib.bertc_hub_snapshot.argtypes = [c_char_p, POINTER(HubParams), c_char_p, c_size_t, POINTER(_lib.Error)]


def hub_params(revision: str | None = None, cache_dir: str | os.PathLike[str] | None = None,
               token: str | None = None) -> tuple[HubParams, list[bytes]]:
    """bertc_hub_params (and the bytes its pointers borrow: keep them alive while it is used)."""
    p = lib.bertc_hub_default_params()
    keep: list[bytes] = []
    if revision:
        keep.append(revision.encode())
        p.revision = keep[-1]
    if cache_dir:
        keep.append(os.fsencode(cache_dir))
        p.cache_dir = keep[-1]
    if token:
        keep.append(token.encode())
        p.token = keep[-1]
    return p, keep


def resolve_failed(name: str, status: int, err: _lib.Error) -> NoReturn:
    """The error of a name that did not resolve to a folder, named as the command names it."""
    err.message = f"cannot load model {name}: {err.message.decode('utf-8', 'replace')}".encode()[:511]
    _lib.raise_error(status, err)


def resolve(name: str | os.PathLike[str], revision: str | None = None, cache_dir: str | None = None,
            token: str | None = None) -> str:
    """The checkpoint folder of a folder or a model id (libbertc's bertc_hub_resolve: a folder as it is, else the
    id through the Hugging Face cache, downloading what is missing)."""
    path = os.fspath(name)
    p, _keep = hub_params(revision, cache_dir, token)
    buf = ctypes.create_string_buffer(4096)
    err = _lib.Error()
    status = lib.bertc_hub_resolve(os.fsencode(path), ctypes.byref(p), buf, len(buf), ctypes.byref(err))
    if status:
        resolve_failed(path, status, err)
    return os.fsdecode(buf.value)


def snapshot(repo_id: str, revision: str | None = None, cache_dir: str | None = None,
             token: str | None = None) -> str:
    """The local snapshot folder of a model id, downloading the files bertc needs when they are missing."""
    if not lib.bertc_hub_is_model_id(repo_id.encode()):
        raise _lib.BertcOSError(f"{repo_id}: no such folder, and not a model id", "I/O error", _lib.BERTC_ERR_IO)
    p, _keep = hub_params(revision, cache_dir, token)
    buf = ctypes.create_string_buffer(4096)
    err = _lib.Error()
    _lib.check(lib.bertc_hub_snapshot(repo_id.encode(), ctypes.byref(p), buf, len(buf), ctypes.byref(err)), err)
    return os.fsdecode(buf.value)


@dataclass(frozen=True)
class CachedModel:
    """One model of the Hugging Face cache (the fields huggingface_hub's CachedRepoInfo names so)."""

    repo_id: str
    repo_path: str
    size_on_disk: int
    refs: tuple[str, ...]


def cache_list(cache_dir: str | os.PathLike[str] | None = None) -> list[CachedModel]:
    """The models of the Hugging Face cache (``bertc cache list``): sorted by id, with their size on disk and their
    refs. cache_dir: default $HF_HUB_CACHE, $HF_HOME/hub, ... as huggingface_hub picks it."""
    p, _keep = hub_params(cache_dir=cache_dir)
    arr = POINTER(CachedModelC)()
    n = c_size_t()
    err = _lib.Error()
    _lib.check(lib.bertc_hub_cache_list(ctypes.byref(p), ctypes.byref(arr), ctypes.byref(n), ctypes.byref(err)), err)
    try:
        return [CachedModel(os.fsdecode(m.repo_id), os.fsdecode(m.path), int(m.size_on_disk),
                            tuple(os.fsdecode(m.refs[k]) for k in range(m.n_refs)))
                for m in (arr[i] for i in range(n.value))]
    finally:
        lib.bertc_hub_cache_list_free(arr, n.value)


def cache_remove(repo_id: str, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """Removes a model from the Hugging Face cache (``bertc cache rm``), every revision of it, so that it is never
    seen half-removed; returns the folder removed. A model that is not cached: BertcValueError; a cache that cannot
    be written: BertcOSError."""
    p, _keep = hub_params(cache_dir=cache_dir)
    buf = ctypes.create_string_buffer(4800)
    err = _lib.Error()
    _lib.check(lib.bertc_hub_cache_remove(repo_id.encode(), ctypes.byref(p), buf, len(buf), ctypes.byref(err)), err)
    return os.fsdecode(buf.value)
