"""AutoModel / AutoModelForSequenceClassification: transformers' model classes over libbertc's encoder."""
from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Any, Sequence

from . import _lib
from ._lib import lib
from ._tokenizer import BertcTokenizer, _read_json, _resolve

if TYPE_CHECKING:
    import numpy as np

__all__ = ["AutoModel", "AutoModelForSequenceClassification", "BertcModel", "ModelOutput", "BertcConfig",
           "load_model"]

_DTYPES = {None: 0, "float32": 0, "fp32": 0, "float": 0, "auto": 0, "int8": 1, "qint8": 1, "float16": 2, "fp16": 2,
           "half": 2, "bfloat16": 3, "bf16": 3}
_COMPUTE = {None: 0, "fp32": 0, "float32": 0, "bf16": 1, "bfloat16": 1}
_ARCHS = {None: 0, "auto": 0, "distilbert": 1, "bert": 2, "roberta": 3, "mpnet": 4, "electra": 5, "deberta-v2": 6,
           "modernbert": 7}
_PROBLEMS = {0: None, 1: "single_label_classification", 2: "multi_label_classification", 3: "regression"}
POOLINGS = {"none": 0, "cls": 1, "mean": 2, "max": 3, "mean_sqrt_len": 4, "weightedmean": 5, "lasttoken": 6,
            "default": 7}


def dtype_code(dtype: Any) -> int:
    """bertc's compute type for a dtype given as a string ("float32", "fp16", "bf16", "int8") or a numpy /
    torch dtype."""
    key = dtype if dtype is None or isinstance(dtype, str) else str(dtype).replace("torch.", "")
    if isinstance(key, str):
        key = key.lower()
        if key.startswith("<class 'numpy."):
            key = key[len("<class 'numpy."):-2]
    if key not in _DTYPES:
        raise ValueError(f"dtype {dtype!r}: bertc computes in float32, float16, bfloat16 or int8")
    return _DTYPES[key]


class ModelOutput(dict):  # type: ignore[type-arg]
    """transformers' ModelOutput: keys in order, reachable as attributes, by name or by position."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, int):
            return list(self.values())[k]
        return super().__getitem__(k)

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(self.values())


class BertcConfig:
    """The parts of config.json that transformers' users read: model_type, num_labels, id2label, label2id,
    problem_type, the sizes."""

    def __init__(self, info: _lib.ModelInfo, labels: list[str], raw: dict[str, Any]) -> None:
        self.model_type: str = (info.model_type or b"").decode()
        self.architectures: list[str] = [(info.architecture or b"").decode()] if info.architecture else []
        self.num_labels: int = int(info.n_labels)
        self.id2label: dict[int, str] = dict(enumerate(labels))
        self.label2id: dict[str, int] = {v: k for k, v in self.id2label.items()}
        self.problem_type: str | None = _PROBLEMS.get(int(info.problem))
        self.hidden_size: int = int(info.hidden)
        self.num_hidden_layers: int = int(info.layers)
        self.num_attention_heads: int = int(info.heads)
        self.intermediate_size: int = int(info.intermediate)
        self.vocab_size: int = int(info.vocab_size)
        self.max_position_embeddings: int = int(info.max_positions)
        self._raw = raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BertcConfig:
        """From config.json alone (DistilBERT's names, dim / n_layers / n_heads / hidden_dim, read as the others')."""
        c = cls.__new__(cls)
        c.model_type = str(raw.get("model_type", ""))
        c.architectures = list(raw.get("architectures") or [])
        i2l = raw.get("id2label")
        labels = [str(i2l[k]) for k in sorted(i2l, key=int)] if isinstance(i2l, dict) and i2l else \
            [f"LABEL_{i}" for i in range(int(raw.get("num_labels", 2)))]
        c.num_labels = len(labels)
        c.id2label = dict(enumerate(labels))
        c.label2id = {v: k for k, v in c.id2label.items()}
        c.problem_type = raw.get("problem_type")
        c.hidden_size = int(raw.get("hidden_size", raw.get("dim", 0)))
        c.num_hidden_layers = int(raw.get("num_hidden_layers", raw.get("n_layers", 0)))
        c.num_attention_heads = int(raw.get("num_attention_heads", raw.get("n_heads", 0)))
        c.intermediate_size = int(raw.get("intermediate_size", raw.get("hidden_dim", 0)))
        c.vocab_size = int(raw.get("vocab_size", 0))
        c.max_position_embeddings = int(raw.get("max_position_embeddings", 0))
        c._raw = raw
        return c

    def to_dict(self) -> dict[str, Any]:
        d = dict(self._raw)
        d.update({k: v for k, v in vars(self).items() if not k.startswith("_")})
        return d

    def __repr__(self) -> str:
        return f"BertcConfig(model_type={self.model_type!r}, num_labels={self.num_labels}, id2label={self.id2label})"


class AutoConfig:
    """``AutoConfig.from_pretrained(folder_or_id)``: a checkpoint's config.json as a BertcConfig, without loading the
    weights (None or "embedded": the built-in model's)."""

    def __init__(self) -> None:
        raise OSError("AutoConfig is designed to be instantiated with AutoConfig.from_pretrained(...)")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike[str] | None = None,
                        **kwargs: Any) -> BertcConfig:
        if kwargs:
            raise TypeError(f"from_pretrained() got keyword arguments bertc does not support: "
                            f"{', '.join(sorted(kwargs))}")
        name = pretrained_model_name_or_path
        if name is None or str(name) == "embedded":
            return load_model(None).config
        from ._tokenizer import _resolve
        raw = _read_json(os.path.join(_resolve(name), "config.json"))
        if not raw:
            raise OSError(f"{name}: no config.json")
        return BertcConfig.from_json(raw)


class BertcModel:
    """A checkpoint loaded by libbertc: fp32 weights mmap'ed or packed once; immutable, so one model may be shared
    by Python threads (the GIL is released while it computes)."""

    _h = 0

    def __init__(self, path: str | None, dtype: Any = None, threads: int | None = None,
                 arch: str | None = None, compute: str | None = None, revision: str | None = None) -> None:
        p = lib.bertc_model_default_params()
        p.dtype = dtype_code(dtype)
        if compute not in _COMPUTE:
            raise ValueError(f"compute {compute!r}: fp32 or bf16 (bf16: matmul inputs rounded to bf16, fp32 sums)")
        p.compute = _COMPUTE[compute]
        if threads is not None:
            if int(threads) < 0:
                raise ValueError("threads must be >= 0 (0: all cores)")
            p.n_threads = int(threads)
        if arch not in _ARCHS:
            raise ValueError(f"arch {arch!r}: one of {', '.join(k for k in _ARCHS if k)}")
        p.arch = _ARCHS[arch]
        from ._hub import hub_params, resolve_failed
        # a folder takes no revision (transformers ignores one given with a folder; libbertc refuses it)
        hp, _keep = hub_params(revision if path and not os.path.isdir(path) else None)
        h = ctypes.c_void_p()
        err = _lib.Error()
        folder = ctypes.create_string_buffer(4096)
        status = lib.bertc_model_open(os.fsencode(path) if path else None, ctypes.byref(p), ctypes.byref(hp),
                                      ctypes.byref(h), folder, len(folder), ctypes.byref(err))
        if status and path and not folder.value:
            resolve_failed(path, status, err)  # a missing folder, a model id that could not be downloaded
        _lib.check(status, err)
        self._h = h.value or 0
        path = os.fsdecode(folder.value) if path else None
        info = _lib.ModelInfo()
        lib.bertc_model_get_info(self._h, ctypes.byref(info))
        self.info = info
        labels = [lib.bertc_model_label(self._h, i).decode() for i in range(info.n_labels)]
        raw = _read_json(os.path.join(path, "config.json")) if path else {}
        self.config = BertcConfig(info, labels, raw)
        self.name_or_path: str = path or (info.source or b"").decode()
        tcfg = _read_json(os.path.join(path, "tokenizer_config.json")) if path else {}
        if not path:
            tcfg = {"model_max_length": int(info.max_length), "pad_token": "[PAD]", "unk_token": "[UNK]",
                    "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"}
        self.tokenizer = BertcTokenizer(lib.bertc_model_tokenizer(self._h), self, tcfg, self.config.model_type)
        self.tokenizer.name_or_path = self.name_or_path

    def __del__(self, _free_fn: Any = lib.bertc_model_free) -> None:  # bound now: at exit `lib` may be gone
        if self._h:
            _free_fn(self._h)
            self._h = 0

    # ---- what transformers' PreTrainedModel users call -----------------------------------------------------------
    def eval(self) -> BertcModel:
        """Inference is all a loaded model does (dropout is never on): returns the model, as torch's does."""
        return self

    def to(self, device: Any) -> BertcModel:
        """``.to("cpu")`` (or a torch CPU device) returns the model; bertc runs on the CPU only."""
        if str(device).split(":")[0] != "cpu":
            raise ValueError(f"device {device!r}: bertc runs on the CPU")
        return self

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """The parameters of the checkpoint's tensors bertc uses (transformers' count for the same model)."""
        if exclude_embeddings:
            raise NotImplementedError("num_parameters(exclude_embeddings=True) is not counted by bertc")
        return int(self.info.n_params)

    def save_pretrained(self, save_directory: str | os.PathLike[str], **kwargs: Any) -> None:
        """Writes the checkpoint folder this model was loaded from (config.json, the weights as stored, the
        tokenizer files) into save_directory, each file whole or not at all, so that ``from_pretrained`` (bertc's or
        transformers') loads it. The embedded default is written as its folder."""
        if kwargs:
            raise TypeError(f"save_pretrained() got keyword arguments bertc does not support: "
                            f"{', '.join(sorted(kwargs))}")
        dest = os.fspath(save_directory)
        src = self.name_or_path if self.name_or_path and os.path.isdir(self.name_or_path) else None
        if src is None:
            err = _lib.Error()
            _lib.check(lib.bertc_default_model_save(os.fsencode(dest), ctypes.byref(err)), err)
            return
        err = _lib.Error()
        _lib.check(lib.bertc_checkpoint_copy(os.fsencode(src), os.fsencode(dest), 0, ctypes.byref(err)), err)

    def __repr__(self) -> str:
        return (f"BertcModel({self.name_or_path!r}, {self.config.model_type}, {self.config.num_hidden_layers}x"
                f"{self.config.hidden_size}, labels={list(self.config.id2label.values())})")

    @property
    def has_head(self) -> bool:
        return int(self.info.problem) != 0

    @property
    def head(self) -> str:
        """The task head that was loaded: "sequence-classification", "token-classification", "question-answering",
        "masked-lm" or "none"."""
        return (lib.bertc_head_name(int(self.info.head)) or b"none").decode()

    @property
    def dtype(self) -> str:
        """What the encoder's weights are held in."""
        return {0: "float32", 1: "int8", 2: "float16", 3: "bfloat16"}[int(self.info.compute)]

    @property
    def compute(self) -> str:
        """What its matmuls compute in: "fp32", or "bf16" (inputs rounded to bf16, fp32 sums)."""
        return "bf16" if int(self.info.compute_mode) == 1 else "fp32"

    @property
    def compute_isa(self) -> str:
        """The kernel tier of the encoder's matmuls, chosen once per process by timing this CPU's candidates: for
        bf16 compute "amx", "avx512bf16", "avx2" or "portable" ("fp32-avx512" / "fp32-avx2" where no bf16 tier beats
        the fp32 kernels and bf16 compute runs as fp32), for int8 "amx", "avx512", "avx2" or "portable",
        "amx-emulated" under BERTC_AMX=emulate; for fp32 the SIMD tier ("avx512", "avx2", "portable")."""
        return (self.info.compute_isa or b"").decode()

    # ---- transformers' forward: model(**tokenizer(..., return_tensors="np")) ----------------------------------
    def _encodings(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> tuple[Any, list[Any], Any]:
        import numpy as np
        ids = np.ascontiguousarray(np.asarray(input_ids), dtype=np.int32)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2:
            raise ValueError(f"input_ids must be [batch, tokens], not of shape {ids.shape}")
        B, T = ids.shape
        mask = np.ones((B, T), np.int32) if attention_mask is None else np.asarray(attention_mask).reshape(B, T)
        types = np.zeros((B, T), np.int32) if token_type_ids is None else np.ascontiguousarray(
            np.asarray(token_type_ids).reshape(B, T), dtype=np.int32)
        lens = mask.astype(bool).sum(axis=1)
        for b in range(B):
            if not mask[b, :lens[b]].all():
                raise ValueError(f"row {b}: the attention mask must be ones then zeros (right padding); bertc does "
                                 "not run left-padded or holed masks")
        encs = (_lib.Encoding * B)()
        keep = []
        for b in range(B):
            n = int(lens[b])
            ri, rt = np.ascontiguousarray(ids[b, :n]), np.ascontiguousarray(types[b, :n])
            keep += [ri, rt]
            encs[b].n = n
            encs[b].ids = ri.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
            encs[b].type_ids = rt.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        return encs, keep, lens

    def forward(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None,
                **kwargs: Any) -> ModelOutput:
        _check_forward_kwargs(kwargs)
        import numpy as np
        encs, _keep, lens = self._encodings(input_ids, attention_mask, token_type_ids)
        B = len(lens)
        T = int(np.asarray(input_ids).shape[-1])
        H, L = self.config.hidden_size, self.config.num_labels
        total = int(lens.sum())
        hidden = np.empty((max(total, 1), H), np.float32) if self._want_hidden else None
        logits = np.empty((B, L), np.float32) if self._want_logits else None
        err = _lib.Error()
        fp = ctypes.POINTER(ctypes.c_float)
        _lib.check(lib.bertc_forward(self._h, encs, B, hidden.ctypes.data_as(fp) if hidden is not None else None,
                                     logits.ctypes.data_as(fp) if logits is not None else None, ctypes.byref(err)),
                   err)
        out = ModelOutput()
        if logits is not None:
            out["logits"] = logits
        if hidden is not None:
            # padded positions are zeros (transformers computes values there that nothing should read)
            last = np.zeros((B, T, H), np.float32)
            o = 0
            for b in range(B):
                n = int(lens[b])
                last[b, :n] = hidden[o:o + n]
                o += n
            out["last_hidden_state"] = last
        return out

    __call__ = forward
    _want_hidden = True
    _want_logits = False

    # ---- what the pipelines call --------------------------------------------------------------------------------
    def _texts(self, texts: Sequence[tuple[str, str | None]]) -> tuple[Any, list[bytes]]:
        arr = (_lib.Text * max(len(texts), 1))()
        keep: list[bytes] = []
        for i, (t, q) in enumerate(texts):
            a = t.encode("utf-8", "surrogatepass")
            keep.append(a)
            arr[i].text, arr[i].len = a, len(a)
            if q is not None:
                b = q.encode("utf-8", "surrogatepass")
                keep.append(b)
                arr[i].pair, arr[i].pair_len = b, len(b)
        return arr, keep

    def _encode_params(self, truncation: Any, max_length: int | None) -> _lib.EncodeParams:
        """The tokenizer's parameters for a model call: without truncation the bound is the model's positions, so a
        longer input is an error, as in transformers."""
        p = self.tokenizer._params(True, truncation, max_length)
        if p.truncation == 0:
            p.max_length = 0
        return p

    def logits(self, texts: Sequence[tuple[str, str | None]], truncation: Any = None, max_length: int | None = None,
               batch_size: int = 32) -> np.ndarray:
        """[n, num_labels] float32 logits of texts (with optional pairs)."""
        import numpy as np
        if not self.has_head:
            raise ValueError(f"{self.name_or_path}: the checkpoint has no classification head")
        p = lib.bertc_classify_default_params()
        p.encode = self._encode_params(truncation, max_length)
        p.function = 3
        p.batch_size = max(1, int(batch_size))
        n, L = len(texts), self.config.num_labels
        res = np.empty((n, L), np.float32)
        chunk = 1024
        outs = (_lib.Classification * chunk)()
        err = _lib.Error()
        for i in range(0, n, chunk):
            part = texts[i:i + chunk]
            arr, _keep = self._texts(part)
            _lib.check(lib.bertc_classify(self._h, arr, len(part), ctypes.byref(p), outs, ctypes.byref(err)), err)
            try:
                for j in range(len(part)):
                    res[i + j] = np.ctypeslib.as_array(outs[j].logits, (L,))
            finally:
                lib.bertc_classification_free(outs, len(part))
        return res

    def hidden_states(self, texts: Sequence[tuple[str, str | None]], truncation: Any = None,
                      max_length: int | None = None, pooling: str = "none") -> list[np.ndarray]:
        """last_hidden_state [tokens, hidden] of each text (or a pooled [1, dim] with pooling)."""
        import numpy as np
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r}: one of {', '.join(POOLINGS)}")
        ep = self._encode_params(truncation, max_length)
        n = len(texts)
        arr, _keep = self._texts(texts)
        outs = (_lib.Embedding * max(n, 1))()
        err = _lib.Error()
        _lib.check(lib.bertc_embed(self._h, arr, n, ctypes.byref(ep), POOLINGS[pooling], outs, ctypes.byref(err)),
                   err)
        try:
            return [np.ctypeslib.as_array(outs[i].data, (outs[i].rows, outs[i].hidden)).copy() for i in range(n)]
        finally:
            lib.bertc_embedding_free(outs, n)


# What transformers' from_pretrained and forward take that bertc does not do: a TypeError naming them, at the call,
# rather than accepted and ignored (or failing later with an AttributeError).
_LOAD_HARMLESS = {"trust_remote_code", "local_files_only", "low_cpu_mem_usage", "use_safetensors", "device_map",
                  "cache_dir", "force_download", "token"}


def _check_load_kwargs(m: Any, kwargs: dict[str, Any], head: bool = True) -> None:
    kwargs = {k: v for k, v in kwargs.items() if k not in _LOAD_HARMLESS and v is not None}
    n = kwargs.pop("num_labels", None)
    if head and n is not None and int(n) != int(m.config.num_labels):
        raise ValueError(f"{m.name_or_path}: its head has {m.config.num_labels} labels, not num_labels={n}; bertc does "
                         "not put a new random head on a trained one (transformers' ignore_mismatched_sizes): train "
                         "one with bertc.train(model, ..., labels=[...])")
    given = kwargs.pop("id2label", None)
    if head and given is not None and {int(a): b for a, b in dict(given).items()} != m.config.id2label:
        raise ValueError(f"{m.name_or_path}: id2label={given} differs from the checkpoint's {m.config.id2label}; bertc "
                         "loads the labels the checkpoint was trained with")
    given = kwargs.pop("label2id", None)
    if head and given is not None and dict(given) != m.config.label2id:
        raise ValueError(f"{m.name_or_path}: label2id={given} differs from the checkpoint's {m.config.label2id}")
    if kwargs:
        raise TypeError(f"from_pretrained() got keyword arguments bertc does not support: {', '.join(sorted(kwargs))}")


_FORWARD_UNSUPPORTED = {"labels": "the loss (train with bertc.train)",
                        "output_hidden_states": "every layer's hidden states",
                        "output_attentions": "attention weights", "position_ids": "position ids",
                        "head_mask": "head masks", "inputs_embeds": "input embeddings"}


def _check_forward_kwargs(kwargs: dict[str, Any]) -> None:
    bad = [k for k, v in kwargs.items() if v is not None and v is not False and
           not (k == "return_dict" and v is True)]
    if bad:
        what = "; ".join(f"{k} ({_FORWARD_UNSUPPORTED[k]})" if k in _FORWARD_UNSUPPORTED else k for k in sorted(bad))
        raise TypeError(f"forward() got arguments bertc does not compute: {what}")


def load_model(model: str | os.PathLike[str] | None, dtype: Any = None, threads: int | None = None,
               revision: str | None = None, arch: str | None = None, compute: str | None = None) -> BertcModel:
    path = os.fspath(model) if model is not None and os.fspath(model) != "" else None
    return BertcModel(path, dtype=dtype, threads=threads, arch=arch, compute=compute, revision=revision)


class _HeadModel(BertcModel):
    _want_hidden = False
    _want_logits = True


class _TokenHeadModel(BertcModel):
    """A token-classification or question-answering checkpoint: ``logits`` [B, T, num_labels], or ``start_logits`` and
    ``end_logits`` [B, T]; zeros at padded positions."""

    def forward(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None,
                **kwargs: Any) -> ModelOutput:
        _check_forward_kwargs(kwargs)
        import numpy as np
        encs, _keep, lens = self._encodings(input_ids, attention_mask, token_type_ids)
        B, T = len(lens), int(np.asarray(input_ids).shape[-1])
        qa = self.head == "question-answering"
        W = 2 if qa else self.config.num_labels
        flat = np.empty((max(int(lens.sum()), 1), W), np.float32)
        err = _lib.Error()
        _lib.check(lib.bertc_token_logits(self._h, encs, B, flat.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                          ctypes.byref(err)), err)
        full = _unflatten(flat, lens, T)
        out = ModelOutput()
        if qa:
            out["start_logits"], out["end_logits"] = full[..., 0].copy(), full[..., 1].copy()
        else:
            out["logits"] = full
        return out

    __call__ = forward


class _MaskedLMModel(BertcModel):
    """A masked-LM checkpoint: ``logits`` [B, T, vocab_size] at every position (zeros at padded ones)."""

    def forward(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None,
                **kwargs: Any) -> ModelOutput:
        _check_forward_kwargs(kwargs)
        import numpy as np
        encs, _keep, lens = self._encodings(input_ids, attention_mask, token_type_ids)
        B, T = len(lens), int(np.asarray(input_ids).shape[-1])
        rows = np.array([(b, t) for b in range(B) for t in range(int(lens[b]))], np.int32).reshape(-1, 2)
        V = int(self.info.vocab_size)
        flat = np.empty((max(len(rows), 1), V), np.float32)
        err = _lib.Error()
        _lib.check(lib.bertc_mlm_logits(self._h, encs, B, rows.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), len(rows),
                                        flat.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.byref(err)), err)
        out = ModelOutput()
        out["logits"] = _unflatten(flat, lens, T)
        return out

    __call__ = forward


def _unflatten(flat: Any, lens: Any, T: int) -> Any:
    import numpy as np
    full = np.zeros((len(lens), T, flat.shape[1]), np.float32)
    o = 0
    for b, n in enumerate(lens):
        full[b, :int(n)] = flat[o:o + int(n)]
        o += int(n)
    return full


def _with_head(head: str, cls: type[BertcModel], what: str) -> Any:
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, *, dtype: Any = None,
                        torch_dtype: Any = None, threads: int | None = None, revision: str | None = None,
                        compute: str | None = None, **kwargs: Any) -> BertcModel:
        m = load_model(pretrained_model_name_or_path, dtype if dtype is not None else torch_dtype, threads, revision,
                       compute=compute)
        if m.head != head:
            raise _lib.BertcValueError(f"{m.name_or_path}: the checkpoint has no {head} head (it has: {m.head}); "
                                       f"{what} does not add random weights", "architecture mismatch", 5)
        _check_load_kwargs(m, kwargs)
        m.__class__ = cls
        return m
    return staticmethod(from_pretrained)


class AutoModelForTokenClassification:
    """``AutoModelForTokenClassification.from_pretrained(folder_or_id)``: ``model(**inputs).logits`` [B, T, L]."""

    def __init__(self) -> None:
        raise OSError("use AutoModelForTokenClassification.from_pretrained(...)")

    from_pretrained = _with_head("token-classification", _TokenHeadModel, "AutoModelForTokenClassification")


class AutoModelForQuestionAnswering:
    """``AutoModelForQuestionAnswering.from_pretrained(folder_or_id)``: ``start_logits`` and ``end_logits`` [B, T]."""

    def __init__(self) -> None:
        raise OSError("use AutoModelForQuestionAnswering.from_pretrained(...)")

    from_pretrained = _with_head("question-answering", _TokenHeadModel, "AutoModelForQuestionAnswering")


class _ElectraDiscriminatorModel(_TokenHeadModel):
    """ElectraForPreTraining (the discriminator): ``logits`` [B, T], one per token, > 0 where the token is judged
    replaced (sigmoid: the probability); zeros at padded positions."""

    def forward(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None,
                **kwargs: Any) -> ModelOutput:
        _check_forward_kwargs(kwargs)
        out = super().forward(input_ids, attention_mask, token_type_ids)  # [B, T, 2]: 0, logit
        out["logits"] = out["logits"][..., 1].copy()
        return out

    __call__ = forward


class ElectraForPreTraining:
    """``ElectraForPreTraining.from_pretrained(folder_or_id)`` (an ELECTRA discriminator): ``model(**inputs).logits``
    [B, T] as transformers returns them. As a token classifier (``pipeline("token-classification")``) the same
    checkpoint has the labels "original" and "replaced", scored 1 - sigmoid(logit) and sigmoid(logit)."""

    def __init__(self) -> None:
        raise OSError("use ElectraForPreTraining.from_pretrained(...)")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, *, dtype: Any = None,
                        torch_dtype: Any = None, threads: int | None = None, revision: str | None = None,
                        compute: str | None = None, **kwargs: Any) -> BertcModel:
        m = load_model(pretrained_model_name_or_path, dtype if dtype is not None else torch_dtype, threads, revision,
                       compute=compute)
        if m.config.architectures != ["ElectraForPreTraining"]:
            raise _lib.BertcValueError(f"{m.name_or_path}: not an ELECTRA discriminator (architectures "
                                       f"{m.config.architectures})", "architecture mismatch", 5)
        m.__class__ = _ElectraDiscriminatorModel
        return m


class AutoModelForMaskedLM:
    """``AutoModelForMaskedLM.from_pretrained(folder_or_id)``: ``model(**inputs).logits`` [B, T, vocab_size]."""

    def __init__(self) -> None:
        raise OSError("use AutoModelForMaskedLM.from_pretrained(...)")

    from_pretrained = _with_head("masked-lm", _MaskedLMModel, "AutoModelForMaskedLM")


class AutoModel:
    """``AutoModel.from_pretrained(folder_or_id)``: the encoder; ``model(**inputs).last_hidden_state``."""

    def __init__(self) -> None:
        raise OSError("AutoModel is designed to be instantiated with AutoModel.from_pretrained(...)")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, *, dtype: Any = None,
                        torch_dtype: Any = None, threads: int | None = None, revision: str | None = None,
                        compute: str | None = None, **kwargs: Any) -> BertcModel:
        m = load_model(pretrained_model_name_or_path, dtype if dtype is not None else torch_dtype, threads,
                       revision, compute=compute)
        _check_load_kwargs(m, kwargs, head=False)
        return m


class AutoModelForSequenceClassification:
    """``AutoModelForSequenceClassification.from_pretrained(folder_or_id)``: ``model(**inputs).logits``. A
    checkpoint without a classification head is refused (transformers would add random weights)."""

    def __init__(self) -> None:
        raise OSError("AutoModelForSequenceClassification is designed to be instantiated with "
                      "AutoModelForSequenceClassification.from_pretrained(...)")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, *, dtype: Any = None,
                        torch_dtype: Any = None, threads: int | None = None, revision: str | None = None,
                        compute: str | None = None, **kwargs: Any) -> BertcModel:
        m = load_model(pretrained_model_name_or_path, dtype if dtype is not None else torch_dtype, threads, revision,
                       compute=compute)
        if not m.has_head:
            raise _lib.BertcValueError(f"{m.name_or_path}: the checkpoint has no sequence-classification head "
                                       "(load it with AutoModel)", "architecture mismatch", 5)
        _check_load_kwargs(m, kwargs)
        m.__class__ = _HeadModel
        return m
