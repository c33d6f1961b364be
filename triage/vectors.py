"""Static word vectors for Sudachi words (those ja-ginza ships), so that topic heads generalise past the
corpus' own words: a message about 継父 reads like one about 父 even if the corpus never had 継父.

The table is taken once, at set-up, from the ja-ginza wheel (`extract_from_wheel`) without spaCy: its
`vocab/vectors` (a NumPy array) and `vocab/key2row` (msgpack: spaCy's 64-bit string hash -> row). It is kept
as plain arrays (`np.load(..., allow_pickle=False)`), so nothing executes on load."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

DIMENSIONS = 300
_M64 = 0xFFFFFFFFFFFFFFFF
_MURMUR_M = 0xC6A4A7935BD1E995


def murmur64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, as spaCy's `hash_string` computes it (seed 1) for its string store."""
    n = len(data)
    h = (seed ^ ((n * _MURMUR_M) & _M64)) & _M64
    whole = n // 8 * 8
    for (k,) in struct.iter_unpack("<Q", data[:whole]):
        k = (k * _MURMUR_M) & _M64
        k ^= k >> 47
        k = (k * _MURMUR_M) & _M64
        h ^= k
        h = (h * _MURMUR_M) & _M64
    tail = data[whole:]
    if tail:
        for i in range(len(tail) - 1, -1, -1):
            h ^= tail[i] << (8 * i)
        h = (h * _MURMUR_M) & _M64
    h ^= h >> 47
    h = (h * _MURMUR_M) & _M64
    h ^= h >> 47
    return h


@lru_cache(maxsize=65536)
def word_key(word: str) -> int:
    return murmur64a(word.encode("utf-8"))


class WordVectors:
    def __init__(self, keys: np.ndarray, rows: np.ndarray, table: np.ndarray) -> None:
        if keys.shape != rows.shape or table.ndim != 2 or table.shape[1] != DIMENSIONS:
            raise ValueError("word vectors: keys, rows and table do not fit together")
        order = np.argsort(keys)
        self.keys = keys[order].astype(np.uint64)
        self.rows = rows[order].astype(np.int32)
        self.table = table.astype(np.float32)

    def row(self, word: str) -> int:
        key = np.uint64(word_key(word))
        i = int(np.searchsorted(self.keys, key))
        return int(self.rows[i]) if i < len(self.keys) and self.keys[i] == key else -1

    def document(self, words: Sequence[str], weight_of: Callable[[str], float]) -> np.ndarray:
        """The weighted mean of the words' vectors, unit length (zeros when no word has a vector)."""
        found = [(r, weight_of(w)) for w in words if (r := self.row(w)) >= 0]
        if not found:
            return np.zeros(DIMENSIONS)
        weights = np.array([w for _, w in found])
        mean = weights @ self.table[[r for r, _ in found]].astype(np.float64) / weights.sum()
        norm = float(np.linalg.norm(mean))
        out: np.ndarray = mean / norm if norm else mean
        return out

    # -- files ------------------------------------------------------------------------------------------

    def save(self, path: Path) -> str:
        """Writes the table (half precision is plenty for features) and returns the file's sha256."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            np.savez(f, keys=self.keys, rows=self.rows, table=self.table.astype(np.float16))
        return file_sha256(path)

    @classmethod
    def load(cls, path: Path) -> WordVectors:
        with np.load(path, allow_pickle=False) as a:
            return cls(a["keys"], a["rows"], a["table"])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_from_wheel(wheel: Path) -> WordVectors:
    """The vectors inside a ja-ginza wheel (any version laid out as spaCy 3 models are)."""
    import msgpack  # type: ignore[import-untyped]

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        vectors_name = next((n for n in names if n.endswith("/vocab/vectors")), None)
        key2row_name = next((n for n in names if n.endswith("/vocab/key2row")), None)
        if vectors_name is None or key2row_name is None:
            raise ValueError(f"{wheel.name} holds no vocab/vectors and vocab/key2row")
        table = np.load(io.BytesIO(z.read(vectors_name)), allow_pickle=False)
        key2row = msgpack.unpackb(z.read(key2row_name), strict_map_key=False)
    keys = np.fromiter(key2row.keys(), dtype=np.uint64, count=len(key2row))
    rows = np.fromiter(key2row.values(), dtype=np.int64, count=len(key2row)).astype(np.int32)
    return WordVectors(keys, rows, table)
