"""AutoTokenizer: Hugging Face's fast tokenizers' calling conventions over libbertc's tokenizer."""
from __future__ import annotations

import ctypes
import json
import os
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

from . import _lib
from ._lib import lib

if TYPE_CHECKING:
    import numpy as np

__all__ = ["AutoTokenizer", "BertcTokenizer", "BatchEncoding"]

TextInput = Union[str, Sequence[str]]
_NO_TYPE_IDS = {"distilbert", "roberta", "xlm-roberta", "camembert", "bart", "longformer", "mpnet"}
_NO_TYPE_CLASSES = {"distilbert", "roberta", "xlmroberta", "camembert", "bart", "longformer", "mpnet"}
_STRATEGIES = {"longest_first": 1, "only_first": 2, "only_second": 3}
_MAX = 1 << 30


class BatchEncoding(dict):  # type: ignore[type-arg]
    """The tokenizer's output: a dict of ``input_ids``, ``token_type_ids``, ``attention_mask`` (and the optional
    ``offset_mapping``, ``special_tokens_mask``, ``length``), with attribute access like transformers'."""

    def __init__(self, data: dict[str, Any], tokens: list[list[str]] | None = None, batched: bool = True,
                 words: list[list[int | None]] | None = None, sequences: list[list[int | None]] | None = None) -> None:
        super().__init__(data)
        self._tokens = tokens
        self._batched = batched
        self._words = words
        self._sequences = sequences

    def _row(self, rows: list[list[int | None]] | None, what: str, batch_index: int) -> list[int | None]:
        if rows is None:
            raise ValueError(f"{what}() is not available for this encoding")
        if not -len(rows) <= batch_index < len(rows):
            raise IndexError(f"batch_index {batch_index} is out of range for a batch of {len(rows)}")
        return list(rows[batch_index])

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The word each token comes from (``None`` for special and padding tokens), numbered from 0 in each
        sequence of a pair, as transformers' fast tokenizers give it: the pre-tokenizer's words (BERT: runs of
        letters and digits, each punctuation mark its own; byte-level BPE: the GPT-2 pattern's pieces)."""
        return self._row(self._words, "word_ids", batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 for the tokens of the first text, 1 for the pair's, ``None`` for special and padding tokens."""
        return self._row(self._sequences, "sequence_ids", batch_index)

    def _token_index(self, batch_or_token_index: int, token_index: int | None) -> tuple[int, int]:
        if token_index is None:
            batch_index, token_index = 0, batch_or_token_index
        else:
            batch_index = batch_or_token_index
        return batch_index, token_index

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """The word of one token (``token_to_word(i)`` in a single input, ``token_to_word(b, i)`` in a batch)."""
        b, i = self._token_index(batch_or_token_index, token_index)
        return self.word_ids(b)[i]

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """Which text of a pair one token comes from (0 or 1; ``None`` for special tokens)."""
        b, i = self._token_index(batch_or_token_index, token_index)
        return self.sequence_ids(b)[i]

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The token strings of one input."""
        if self._tokens is None:
            raise ValueError("tokens() is not available for this encoding")
        return self._tokens[batch_index]

    @property
    def is_batched(self) -> bool:
        return self._batched


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
        return v if isinstance(v, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise _lib.BertcValueError(f"{path}: {e}", "format error") from e


def _token_str(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("content")
    return v if isinstance(v, str) else None


class BertcTokenizer:
    """A Hugging Face tokenizer loaded by libbertc (tokenizer.json, else vocab.txt or vocab.json + merges.txt):
    the same token ids, type ids and offsets as transformers' fast tokenizer of the same folder."""

    def __init__(self, handle: int, owner: Any, config: dict[str, Any], model_type: str | None) -> None:
        self._h = handle
        self._owner = owner  # keeps the model alive when the tokenizer is borrowed from it
        self._config = config
        names = config.get("model_input_names")
        if not isinstance(names, list):
            # as transformers: the tokenizer class's model_input_names, else the model type's
            cls = str(config.get("tokenizer_class") or "").lower().replace("tokenizerfast", "").replace("tokenizer", "")
            no_types = cls in _NO_TYPE_CLASSES if cls else (model_type or "") in _NO_TYPE_IDS
            names = ["input_ids", "attention_mask"] if no_types else ["input_ids", "token_type_ids", "attention_mask"]
        self.model_input_names: list[str] = list(names)
        self.padding_side: str = config.get("padding_side", "right")
        self.truncation_side: str | None = config.get("truncation_side")
        self.clean_up_tokenization_spaces: bool = bool(config.get("clean_up_tokenization_spaces", False))
        mml = config.get("model_max_length")
        cap = lib.bertc_tokenizer_max_length(handle)
        self.model_max_length: int = int(mml) if isinstance(mml, (int, float)) and mml < _MAX else (
            cap if cap < _MAX else int(1e30))
        self.pad_token_id: int = int(lib.bertc_tokenizer_pad_id(handle))
        self.vocab_size: int = int(lib.bertc_tokenizer_vocab_size(handle))
        self._vocab: dict[str, int] | None = None
        for k in ("unk", "sep", "pad", "cls", "mask", "bos", "eos"):
            setattr(self, f"{k}_token", _token_str(config.get(f"{k}_token")))

    # ---- loading ------------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any) -> BertcTokenizer:
        """Loads the tokenizer of a folder (a model id is looked up in the Hugging Face cache)."""
        path = _resolve(pretrained_model_name_or_path)
        h = ctypes.c_void_p()
        err = _lib.Error()
        _lib.check(lib.bertc_tokenizer_load(os.fsencode(path), ctypes.byref(h), ctypes.byref(err)), err)
        cfg = _read_json(os.path.join(path, "tokenizer_config.json"))
        mt = _read_json(os.path.join(path, "config.json")).get("model_type")
        tok = cls(h.value or 0, None, cfg, mt)
        tok._free = True
        tok.name_or_path = str(pretrained_model_name_or_path)
        return tok

    _free = False
    _h = 0
    name_or_path = ""

    def __del__(self, _free_fn: Any = lib.bertc_tokenizer_free) -> None:  # bound now: at exit `lib` may be gone
        if self._free and self._h:
            _free_fn(self._h)
            self._h = 0

    def __repr__(self) -> str:
        return (f"BertcTokenizer(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
                f"model_max_length={self.model_max_length})")

    def __len__(self) -> int:
        return self.vocab_size

    # ---- encoding -----------------------------------------------------------------------------------------------
    def _params(self, add_special_tokens: bool, truncation: Any, max_length: int | None) -> _lib.EncodeParams:
        p = lib.bertc_encode_default_params()
        p.add_special_tokens = 1 if add_special_tokens else 0
        if truncation in (None, False, "do_not_truncate"):
            p.truncation, p.max_length = 0, _MAX
        else:
            if truncation is True:
                truncation = "longest_first"
            if truncation not in _STRATEGIES:
                raise ValueError(f"truncation must be True, False, 'longest_first', 'only_first', 'only_second' or "
                                 f"'do_not_truncate', not {truncation!r}")
            p.truncation = 1
            p.truncation_strategy = _STRATEGIES[truncation]
            p.max_length = int(max_length) if max_length is not None else min(self.model_max_length, _MAX)
            if p.max_length <= 0:
                raise ValueError("max_length must be positive")
        if self.truncation_side in ("left", "right"):
            p.truncate_left = 1 if self.truncation_side == "left" else 0
        params: _lib.EncodeParams = p
        return params

    def _encode(self, text: str, pair: str | None, p: _lib.EncodeParams) -> _lib.Encoding:
        if not isinstance(text, str) or (pair is not None and not isinstance(pair, str)):
            raise TypeError("text and text_pair must be str (or lists of str)")
        a = text.encode("utf-8", "surrogatepass")
        b = pair.encode("utf-8", "surrogatepass") if pair is not None else None
        enc = _lib.Encoding()
        err = _lib.Error()
        s = lib.bertc_tokenize(self._h, a, len(a), b, len(b) if b is not None else 0, ctypes.byref(p),
                               ctypes.byref(enc), ctypes.byref(err))
        _lib.check(s, err)
        return enc

    def __call__(self, text: TextInput, text_pair: TextInput | None = None, add_special_tokens: bool = True,
                 padding: bool | str = False, truncation: bool | str | None = None, max_length: int | None = None,
                 stride: int = 0, is_split_into_words: bool = False, pad_to_multiple_of: int | None = None,
                 return_tensors: str | None = None, return_token_type_ids: bool | None = None,
                 return_attention_mask: bool | None = None, return_overflowing_tokens: bool = False,
                 return_special_tokens_mask: bool = False, return_offsets_mapping: bool = False,
                 return_length: bool = False, verbose: bool = True, **kwargs: Any) -> BatchEncoding:
        """Encodes one text (``str``) or a batch (``list[str]``), with optional pairs, as transformers' tokenizer
        ``__call__`` does: same keys, same values, lists or numpy arrays (``return_tensors="np"``)."""
        if kwargs:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        if stride or is_split_into_words or return_overflowing_tokens:
            raise NotImplementedError("stride, is_split_into_words and return_overflowing_tokens are not supported")
        if return_tensors not in (None, "np"):
            raise ValueError(f"return_tensors={return_tensors!r}: bertc returns numpy arrays ('np') or lists (None)")
        batched = not isinstance(text, str)
        texts: list[str] = list(text) if batched else [text]  # type: ignore[list-item]
        if text_pair is None:
            pairs: list[str | None] = [None] * len(texts)
        else:
            if isinstance(text_pair, str) == batched:
                raise ValueError("text and text_pair must both be str or both be lists")
            # transformers: a single call's text_pair "" is falsy (no pair); a batch's "" is an empty pair
            pairs = list(text_pair) if batched else [text_pair or None]  # type: ignore[list-item]
            if len(pairs) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(pairs)} text_pairs")
        pad: str | None = "longest" if padding is True else (None if padding in (False, None, "do_not_pad")
                                                              else str(padding))
        if pad not in (None, "longest", "max_length"):
            raise ValueError(f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', not {padding!r}")
        if truncation is None and max_length is not None and pad is None:
            truncation = "longest_first"  # transformers' default when only max_length is given
        p = self._params(add_special_tokens, truncation, max_length)
        want_types = return_token_type_ids if return_token_type_ids is not None else (
            "token_type_ids" in self.model_input_names)
        want_mask = return_attention_mask if return_attention_mask is not None else (
            "attention_mask" in self.model_input_names)
        rows: dict[str, list[Any]] = {"input_ids": [], "token_type_ids": [], "attention_mask": [],
                                      "special_tokens_mask": [], "offset_mapping": []}
        tokens: list[list[str]] = []
        words: list[list[int | None]] = []
        sequences: list[list[int | None]] = []
        for t, q in zip(texts, pairs):
            enc = self._encode(t, q, p)
            try:
                n = enc.n
                ids = enc.ids[:n]
                rows["input_ids"].append(ids)
                rows["token_type_ids"].append(enc.type_ids[:n])
                rows["attention_mask"].append([1] * n)
                rows["special_tokens_mask"].append(list(enc.special[:n]))
                off = enc.offsets[:2 * n]
                rows["offset_mapping"].append([(off[2 * i], off[2 * i + 1]) for i in range(n)])
                tokens.append([self._id_to_token(i) or "" for i in ids])
                words.append([w if w >= 0 else None for w in enc.word_ids[:n]])
                sequences.append([q if q != 255 else None for q in enc.sequence[:n]])
            finally:
                lib.bertc_encoding_free(ctypes.byref(enc))
        if pad is not None and rows["input_ids"]:
            if pad == "max_length":
                target = max_length if max_length is not None else self.model_max_length
            else:
                target = max(len(r) for r in rows["input_ids"])
            if pad_to_multiple_of:
                target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
            pads = {"input_ids": self.pad_token_id, "token_type_ids": 0, "attention_mask": 0,
                    "special_tokens_mask": 1, "offset_mapping": (0, 0)}
            for k, seqs in rows.items():
                for i, s in enumerate(seqs):
                    if len(s) < target:
                        fill = [pads[k]] * (target - len(s))
                        seqs[i] = fill + s if self.padding_side == "left" else s + fill
            for extra in (words, sequences):
                for i, r in enumerate(extra):
                    if len(r) < target:
                        none: list[int | None] = [None] * (target - len(r))
                        extra[i] = none + r if self.padding_side == "left" else r + none
            for i in range(len(tokens)):
                if len(tokens[i]) < target and self.pad_token:
                    fill_t = [self.pad_token] * (target - len(tokens[i]))
                    tokens[i] = fill_t + tokens[i] if self.padding_side == "left" else tokens[i] + fill_t
        out: dict[str, Any] = {"input_ids": rows["input_ids"]}
        if want_types:
            out["token_type_ids"] = rows["token_type_ids"]
        if want_mask:
            out["attention_mask"] = rows["attention_mask"]
        if return_special_tokens_mask:
            out["special_tokens_mask"] = rows["special_tokens_mask"]
        if return_offsets_mapping:
            out["offset_mapping"] = rows["offset_mapping"]
        if return_length:  # after padding, as the fast tokenizers count
            out["length"] = [len(r) for r in rows["input_ids"]]
        if return_tensors == "np":
            import numpy as np
            if len({len(r) for r in rows["input_ids"]}) > 1:
                raise ValueError("Unable to create tensor: the sequences have different lengths; use padding=True "
                                 "or truncation=True to have batched tensors with the same length")
            for k in list(out):
                out[k] = np.asarray(out[k], dtype=np.int64)
                if k == "offset_mapping" and out[k].size == 0:
                    out[k] = out[k].reshape(len(texts), 0, 2)
        elif not batched:
            out = {k: v[0] for k, v in out.items()}
        return BatchEncoding(out, tokens, batched, words, sequences)

    def encode_plus(self, text: str, text_pair: str | None = None, **kwargs: Any) -> BatchEncoding:
        """One text (or pair), as ``tokenizer(text, text_pair, ...)`` gives it (transformers' older name)."""
        if not isinstance(text, str):
            raise TypeError("encode_plus takes one text (str); a list goes to tokenizer(...) or batch_encode_plus")
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs: list[Any], **kwargs: Any) -> BatchEncoding:
        """A batch of texts or (text, pair) tuples, as ``tokenizer([...], [...])`` gives it."""
        items = list(batch_text_or_text_pairs)
        if items and all(isinstance(x, (tuple, list)) for x in items):
            return self([x[0] for x in items], [x[1] for x in items], **kwargs)
        return self(items, **kwargs)

    def save_pretrained(self, save_directory: str | os.PathLike[str], **kwargs: Any) -> tuple[str, ...]:
        """Writes the tokenizer files of the folder it was loaded from into save_directory (each whole or not at
        all); returns their paths, as transformers does."""
        if kwargs:
            raise TypeError(f"save_pretrained() got keyword arguments bertc does not support: "
                            f"{', '.join(sorted(kwargs))}")
        src = getattr(self, "name_or_path", None)
        names = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "merges.txt",
                 "vocab.json", "sentencepiece.bpe.model", "spm.model"]
        dest = os.fspath(save_directory)
        err = _lib.Error()
        if src and os.path.isdir(src):
            _lib.check(lib.bertc_checkpoint_copy(os.fsencode(src), os.fsencode(dest), 1, ctypes.byref(err)), err)
        else:  # the embedded default: its folder holds the tokenizer
            _lib.check(lib.bertc_default_model_save(os.fsencode(dest), ctypes.byref(err)), err)
        return tuple(os.path.join(dest, n) for n in names if os.path.isfile(os.path.join(dest, n)))

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               truncation: bool | str | None = None, max_length: int | None = None, **kwargs: Any) -> list[int]:
        """The token ids of one text (or pair)."""
        if truncation is None and max_length is not None:
            truncation = "longest_first"
        enc = self._encode(text, text_pair or None, self._params(add_special_tokens, truncation, max_length))
        try:
            return list(enc.ids[:enc.n])
        finally:
            lib.bertc_encoding_free(ctypes.byref(enc))

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False,
                 **kwargs: Any) -> list[str]:
        """The token strings of a text, without special tokens unless asked (``Ġ``-prefixed for byte-level BPE)."""
        return [self._id_to_token(i) or "" for i in self.encode(text, pair, add_special_tokens)]

    # ---- ids and tokens -----------------------------------------------------------------------------------------
    def _id_to_token(self, i: int) -> str | None:
        s = lib.bertc_tokenizer_id_to_token(self._h, int(i))
        return s.decode("utf-8", "surrogateescape") if s is not None else None

    def convert_ids_to_tokens(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> Any:
        """Token strings of ids (one id gives one string)."""
        if isinstance(ids, int) or (hasattr(ids, "ndim") and getattr(ids, "ndim") == 0):
            return self._id_to_token(int(ids))  # type: ignore[arg-type]
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._id_to_token(int(i)) for i in ids if int(i) not in special]

    def get_vocab(self) -> dict[str, int]:
        """token -> id, for every id."""
        if self._vocab is None:
            v: dict[str, int] = {}
            for i in range(self.vocab_size):
                s = self._id_to_token(i)
                if s is not None and s not in v:
                    v[s] = i
            self._vocab = v
        return dict(self._vocab)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> Any:
        """Ids of token strings (the unknown token's id for a string not in the vocab)."""
        if self._vocab is None:
            self.get_vocab()
        assert self._vocab is not None
        unk = self._vocab.get(self.unk_token) if self.unk_token else None
        if isinstance(tokens, str):
            return self._vocab.get(tokens, unk)
        return [self._vocab.get(t, unk) for t in tokens]

    @property
    def all_special_tokens(self) -> list[str]:
        toks = [getattr(self, f"{k}_token") for k in ("bos", "eos", "unk", "sep", "pad", "cls", "mask")]
        return list(dict.fromkeys(t for t in toks if t))

    @property
    def all_special_ids(self) -> list[int]:
        return [i for i in (self.convert_tokens_to_ids(t) for t in self.all_special_tokens) if i is not None]

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_token_id") and name != "pad_token_id":
            t = self.__dict__.get(name[:-3])
            return self.convert_tokens_to_ids(t) if t else None
        raise AttributeError(name)

    # ---- decoding -----------------------------------------------------------------------------------------------
    def decode(self, token_ids: int | Iterable[int], skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None, **kwargs: Any) -> str:
        """Text of token ids, by the tokenizer's decoder (as tokenizers' ``decode``)."""
        if isinstance(token_ids, int) or (hasattr(token_ids, "ndim") and getattr(token_ids, "ndim") == 0):
            token_ids = [int(token_ids)]  # type: ignore[arg-type]
        ids = [int(i) for i in token_ids]
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        out = ctypes.c_void_p()
        n = ctypes.c_size_t()
        err = _lib.Error()
        _lib.check(lib.bertc_decode(self._h, arr, len(ids), 1 if skip_special_tokens else 0, ctypes.byref(out),
                                    ctypes.byref(n), ctypes.byref(err)), err)
        text = _lib.take_string(out, n.value)
        clean = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None else clean_up_tokenization_spaces
        if clean:
            for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(a, b)
        return text

    def batch_decode(self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None, **kwargs: Any) -> list[str]:
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences]


def _resolve(name: str | os.PathLike[str]) -> str:
    """A folder as is; a model id through the Hugging Face cache (HF_HOME / HF_HUB_CACHE, as the CLI)."""
    from ._hub import resolve
    return resolve(name)


class AutoTokenizer:
    """``AutoTokenizer.from_pretrained(folder_or_id)``: the tokenizer of a checkpoint, tokenizer-only folders
    included."""

    def __init__(self) -> None:
        raise OSError("AutoTokenizer is designed to be instantiated with AutoTokenizer.from_pretrained(...)")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any) -> BertcTokenizer:
        return BertcTokenizer.from_pretrained(pretrained_model_name_or_path, **kwargs)
