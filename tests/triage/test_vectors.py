"""Word vectors taken from a ja-ginza wheel without spaCy, kept as plain arrays, checked by hash."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import msgpack  # type: ignore[import-untyped]
import numpy as np
import pytest

from triage.labels import TOPICS
from triage.model import ModelIntegrityError, TriageModel
from triage.vectors import DIMENSIONS, WordVectors, extract_from_wheel, murmur64a, word_key


def test_keys_are_spacys_64_bit_string_hashes() -> None:
    assert murmur64a(b"apple") == 8566208034543834098  # spaCy's hash_string("apple")
    assert murmur64a(b"") != murmur64a(b"a") != murmur64a("学校".encode())


def fake_wheel(tmp_path: Path, words: dict[str, int]) -> Path:
    table = np.zeros((3, DIMENSIONS), dtype=np.float32)
    table[0, 0], table[1, 1], table[2, 2] = 1.0, 2.0, 3.0
    npy = io.BytesIO()
    np.save(npy, table)
    wheel = tmp_path / "ja_ginza-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("ja_ginza/ja_ginza-0.0.0/vocab/vectors", npy.getvalue())
        z.writestr(
            "ja_ginza/ja_ginza-0.0.0/vocab/key2row",
            msgpack.packb({word_key(w): r for w, r in words.items()}),
        )
    return wheel


def test_vectors_come_out_of_the_wheel_and_back_from_disk(tmp_path: Path) -> None:
    vectors = extract_from_wheel(fake_wheel(tmp_path, {"学校": 0, "先生": 2, "部活": 2}))
    assert (vectors.row("学校"), vectors.row("先生"), vectors.row("宇宙")) == (0, 2, -1)
    doc = vectors.document(["学校", "宇宙", "先生"], lambda w: 1.0)
    assert np.isclose(np.linalg.norm(doc), 1.0) and doc[0] > 0 and doc[2] > 0 and doc[1] == 0
    assert not vectors.document(["宇宙"], lambda w: 1.0).any()
    vectors.save(tmp_path / "v.npz")
    again = WordVectors.load(tmp_path / "v.npz")
    assert again.row("部活") == 2 and np.allclose(again.table, vectors.table)


def test_a_wheel_without_vectors_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("something/else.txt", "x")
    with pytest.raises(ValueError, match="no vocab/vectors"):
        extract_from_wheel(wheel)


def test_a_model_with_vectors_is_checked_by_hash(triage_model: TriageModel, tmp_path: Path) -> None:
    vectors = extract_from_wheel(fake_wheel(tmp_path, {"学校": 0, "いじめ": 1}))
    dense = np.zeros((len(TOPICS), DIMENSIONS))
    dense[TOPICS.index("school"), 0] = 50.0  # "学校" alone decides: shows the block is read
    model = dataclasses.replace(triage_model, vectors=vectors, topic_dense=dense, dense_weight=1.0)
    model.save(tmp_path / "m")
    loaded = TriageModel.load(tmp_path / "m")
    assert loaded.vectors is not None and loaded.dense_weight == 1.0
    assert "school" in loaded.predict("学校").topics
    with (tmp_path / "m" / "vectors.npz").open("r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01")
    with pytest.raises(ModelIntegrityError, match="vectors"):
        TriageModel.load(tmp_path / "m")
