"""Text corpora: the vocabulary, windows, and one clear error for each bad corpus."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deep.language.corpus import Corpus, CorpusError, read_text  # noqa: E402


def test_vocabulary_windows_and_splits(tmp_path):
    (tmp_path / "a.txt").write_text("abc cab", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("ßé", encoding="utf-8")
    (tmp_path / ".hidden").write_text("\xff", encoding="latin1")
    text = read_text(tmp_path)
    assert text == "abc cab\nßé"
    c = Corpus(text * 10, heldout=0.2)
    assert c.vocabulary == "".join(sorted(set(text)))
    assert c.decode(c.encode("cab")) == "cab"
    w = c.windows(2, 5, 4, np.random.default_rng(0))
    assert w.shape == (2, 5, 4) and w.dtype == torch.long
    h = c.windows(2, 5, 4, np.random.default_rng(0), split="heldout")
    assert h.shape == (2, 5, 4)


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CorpusError, match="is empty"):
        read_text(tmp_path / "empty.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(CorpusError, match="is empty"):
        read_text(tmp_path / "folder")


def test_missing_and_unreadable_corpus(tmp_path, monkeypatch):
    with pytest.raises(CorpusError, match="no such file"):
        read_text(tmp_path / "nothing.txt")
    with pytest.raises(CorpusError, match="bible -f"):
        read_text(tmp_path / "kjv.txt")
    f = tmp_path / "locked.txt"
    f.write_text("text")
    from pathlib import Path

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CorpusError, match="cannot be read .Permission denied."):
        read_text(f)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads any file")
def test_unreadable_file_by_permissions(tmp_path):
    f = tmp_path / "locked.txt"
    f.write_text("text")
    f.chmod(0)
    with pytest.raises(CorpusError, match="cannot be read"):
        read_text(f)


def test_non_utf8_corpus(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("caf\xe9".encode("latin1"))
    with pytest.raises(CorpusError, match=r"not UTF-8 text \(invalid byte 0xe9 at offset 3\)"):
        read_text(f)


def test_vocabulary_mismatch_and_short_corpus():
    c = Corpus("hello world" * 3)
    with pytest.raises(CorpusError, match="not in the model's vocabulary"):
        c.encode("HELLO")
    with pytest.raises(CorpusError, match="vocabulary mismatch"):
        c.check_vocabulary("abc")
    with pytest.raises(CorpusError, match="fewer than one window"):
        c.windows(1, 2, 20, np.random.default_rng(0), split="heldout")
