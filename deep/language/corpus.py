"""Real text as a character-level corpus: any UTF-8 file, or every file of a folder.

The vocabulary is the text's own characters, sorted (token id = rank of the character), so no
tokenizer is downloaded and the same text always gives the same ids. A folder's files are read in
sorted path order (hidden files and folders skipped) and joined with a newline. The last
``heldout`` share of the text (default 10%) is the held-out split, never trained on; windows of T
characters are cut at random offsets from a split (each replica its own offsets, from the caller's
numpy Generator).

The documented real corpus is the King James Bible of the Debian package ``bible-kjv``::

    apt-get install bible-kjv
    bible -f "Gen1:1-Rev22:21" > kjv.txt      # about 4.4 million characters

Errors are one :class:`CorpusError` line naming the file: a path that does not exist, a file that
cannot be read, text that is not UTF-8 (with the byte offset), an empty corpus, a split too short for
one window, and characters outside a model's vocabulary.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from theory.errors import UserError

from .options import KJV_HINT



class CorpusError(UserError, ValueError):
    """A corpus that cannot be used; the message names the file and what to do."""


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / f for f in sorted(files) if not f.startswith(".")]
    return sorted(out)


def read_text(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file or folder (see the module docstring); CorpusError otherwise."""
    p = Path(path)
    if not p.exists():
        raise CorpusError(f"corpus {os.fspath(path)!r}: no such file or folder"
                          + (f" ({KJV_HINT})" if "kjv" in p.name.lower() else ""))
    if not (p.is_file() or p.is_dir()):
        raise CorpusError(f"corpus {os.fspath(path)!r} is neither a file nor a folder")
    try:
        files = _files(p)
    except OSError as e:
        raise CorpusError(f"corpus {os.fspath(path)!r}: cannot list the folder ({e.strerror})") from None
    parts = []
    for f in files:
        try:
            raw = f.read_bytes()
        except OSError as e:
            raise CorpusError(f"corpus file {os.fspath(f)!r} cannot be read ({e.strerror or type(e).__name__})") from None
        try:
            parts.append(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise CorpusError(f"corpus file {os.fspath(f)!r} is not UTF-8 text (invalid byte 0x{raw[e.start]:02x} at "
                              f"offset {e.start}); convert it, e.g. iconv -f latin1 -t utf-8") from None
    text = "\n".join(parts)
    if not text:
        raise CorpusError(f"corpus {os.fspath(path)!r} is empty" + (" (a folder with no files)" if p.is_dir() else ""))
    return text


class Corpus:
    """A character-level corpus (see the module docstring)."""

    def __init__(self, text: str, heldout: float = 0.1, name: str = "<text>", vocabulary: str | None = None):
        if not isinstance(text, str) or not text:
            raise CorpusError(f"corpus {name} is empty")
        if not (isinstance(heldout, (int, float)) and 0 < heldout < 1):
            raise ValueError(f"heldout must be a share in (0, 1), got {heldout!r}")
        self.name = name
        self.vocabulary = "".join(sorted(set(text))) if vocabulary is None else vocabulary
        self.tokens = self.encode(text)
        self.split = len(text) - max(1, int(round(heldout * len(text))))
        if self.split < 1:
            raise CorpusError(f"corpus {name} has {len(text)} characters: too short to split into training and "
                              "held-out text")

    @classmethod
    def from_path(cls, path: str | os.PathLike, heldout: float = 0.1) -> "Corpus":
        return cls(read_text(path), heldout, repr(os.fspath(path)))

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (int64); CorpusError naming a character outside the vocabulary."""
        index = {c: i for i, c in enumerate(self.vocabulary)}
        try:
            return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise CorpusError(f"corpus {self.name}: character {e.args[0]!r} is not in the model's vocabulary of "
                              f"{self.vocab_size} characters (vocabulary mismatch)") from None

    def decode(self, ids) -> str:
        return "".join(self.vocabulary[int(i)] for i in np.asarray(ids).ravel())

    def check_vocabulary(self, saved: str) -> None:
        if saved != self.vocabulary:
            raise CorpusError(f"corpus {self.name}: its vocabulary ({self.vocab_size} characters) differs from the "
                              f"model's ({len(saved)} characters): vocabulary mismatch")

    def _part(self, split: str) -> np.ndarray:
        if split == "train":
            return self.tokens[: self.split]
        if split == "heldout":
            return self.tokens[self.split:]
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")

    def windows(self, R: int, m: int, T: int, rng: np.random.Generator, split: str = "train") -> torch.Tensor:
        """``m`` windows of ``T`` tokens per replica at random offsets of a split: long (R, m, T)."""
        part = self._part(split)
        if len(part) < T:
            raise CorpusError(f"corpus {self.name}: its {split} split has {len(part)} characters, fewer than one "
                              f"window of {T}; use a larger corpus or a shorter window")
        starts = rng.integers(0, len(part) - T + 1, size=(R, m))
        return torch.as_tensor(part[starts[..., None] + np.arange(T)])
