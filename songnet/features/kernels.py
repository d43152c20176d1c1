"""The Constant-Q filters as time-domain kernels, in NumPy only (no torch, no librosa).

``librosa.cqt`` computes each octave as an STFT of a (down-sampled) signal multiplied by
a sparse frequency-domain filter basis. Here every octave's basis is built as librosa
builds it (``librosa.filters.wavelet``, the same length normalisation, the same 1 %
sparsification; checked against librosa by the tests), then turned back into the
time-domain kernel it applies to each frame. :mod:`songnet.features.cqt` runs the kernels
as torch convolutions, :mod:`songnet.features.npcqt` as NumPy matrix products (the
classify path, without torch).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["SPARSITY", "cqt_frequencies", "octave_bases", "octave_kernels", "wavelet_lengths"]

SPARSITY = 0.01
"""Fraction of each filter's spectral mass dropped, as ``librosa.cqt``'s default."""

_HANN_BANDWIDTH = 1.50018310546875  # librosa's equivalent noise bandwidth of "hann", bins


def cqt_frequencies(n_bins: int, fmin: float, bins_per_octave: int) -> np.ndarray:
    """Bin centre frequencies in Hz, ``(n_bins,)``, as ``librosa.cqt_frequencies``."""
    return fmin * 2.0 ** (np.arange(n_bins, dtype=float) / bins_per_octave)


def _relative_bandwidth(freqs: np.ndarray) -> np.ndarray:
    """``alpha`` of each bin from its neighbours, as ``librosa.filters._relative_bandwidth``."""
    bpo = np.empty_like(freqs)
    logf = np.log2(freqs)
    bpo[0] = 1 / (logf[1] - logf[0])
    bpo[-1] = 1 / (logf[-1] - logf[-2])
    bpo[1:-1] = 2 / (logf[2:] - logf[:-2])
    return (2.0 ** (2 / bpo) - 1) / (2.0 ** (2 / bpo) + 1)


def wavelet_lengths(sr: int, fmin: float, bins_per_octave: int, n_bins: int
                    ) -> tuple[np.ndarray, float]:
    """Filter lengths in samples ``(n_bins,)`` and the highest frequency they reach (Hz).

    As ``librosa.filters.wavelet_lengths`` for a Hann window, ``filter_scale=1``,
    ``gamma=0``. Needs ``n_bins >= 2`` (bandwidths come from neighbouring bins).
    """
    if n_bins < 2:
        raise ValueError(f"n_bins={n_bins}: at least 2 bins are needed for bandwidths")
    freqs = cqt_frequencies(n_bins, fmin, bins_per_octave)
    return _lengths(freqs, _relative_bandwidth(freqs), sr)


def _lengths(freqs: np.ndarray, alpha: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    q = 1.0 / alpha
    cutoff = float(np.max(freqs * (1 + 0.5 * _HANN_BANDWIDTH / q)))
    return q * sr / freqs, cutoff


def _wavelet(freqs: np.ndarray, alpha: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed complex wavelets, L1-normalised, centred in a power-of-two length.

    As ``librosa.filters.wavelet(freqs=freqs, sr=sr, alpha=alpha, window="hann",
    filter_scale=1, norm=1, pad_fft=True)``: ``(basis (n, n_fft) complex64, lengths (n,))``.
    """
    lengths, _ = _lengths(freqs, alpha, sr)
    n_fft = int(2.0 ** np.ceil(np.log2(lengths.max())))
    basis = np.zeros((freqs.shape[0], n_fft), dtype=np.complex64)
    for row, (ilen, freq) in enumerate(zip(lengths, freqs, strict=True)):
        angles = np.arange(-ilen // 2, ilen // 2, dtype=float) * 2 * np.pi * freq / sr
        sig = np.cos(angles) + 1j * np.sin(angles)
        n = sig.shape[0]
        fac = np.linspace(-np.pi, np.pi, n + 1)[:-1]  # scipy's periodic Hann window
        sig *= 0.5 + 0.5 * np.cos(fac)
        sig /= np.abs(sig).sum()
        lpad = (n_fft - n) // 2
        basis[row, lpad:lpad + n] = sig
    return basis, lengths


def _sparsify_rows(x: np.ndarray, quantile: float) -> np.ndarray:
    """Zero each row's smallest entries holding ``quantile`` of its L1 mass.

    As ``librosa.util.sparsify_rows(x, quantile=quantile).toarray()``.
    """
    mags = np.abs(x)
    norms = np.sum(mags, axis=1, keepdims=True)
    mag_sort = np.sort(mags, axis=1)
    cumulative = np.cumsum(mag_sort / norms, axis=1)
    threshold_idx = np.argmin(cumulative < quantile, axis=1)
    keep = mags >= mag_sort[np.arange(x.shape[0]), threshold_idx][:, np.newaxis]
    return np.where(keep, x, 0)


def _octave_basis(freqs: np.ndarray, alpha: np.ndarray, sr: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """librosa's sparse frequency-domain filters of one octave: ``(basis (n, n_fft // 2 + 1)
    complex, lengths (n,))``; ``C = basis @ stft(y, window="ones") / sqrt(lengths)``."""
    basis, lengths = _wavelet(freqs, alpha, sr)
    n_fft = basis.shape[1]
    basis = basis * (lengths[:, np.newaxis] / n_fft)
    fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    return _sparsify_rows(fft_basis, SPARSITY), lengths


def _octave_kernel(fft_basis: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Time-domain kernels ``(n, n_fft)`` complex of one octave's sparse basis.

    ``C[k, t] = sum_m v[k, m] * y[t * hop + m - n_fft // 2]``, the same linear map as
    librosa's ``fft_basis @ stft(y, window="ones")``, divided by ``sqrt(length_k)``.
    """
    n_fft = 2 * (fft_basis.shape[1] - 1)
    # the STFT row f of a frame x is sum_m x[m] exp(-2j pi f m / n_fft), so
    # v[k, m] = sum_f fft_basis[k, f] exp(-2j pi f m / n_fft): a forward DFT over f
    v = np.fft.fft(fft_basis, n=n_fft, axis=1)  # (n, n_fft)
    return v / np.sqrt(lengths[:, np.newaxis])


@functools.lru_cache(maxsize=16)
def octave_bases(sr: int, fmin: float, bins_per_octave: int, n_bins: int
                 ) -> tuple[tuple[int, int, np.ndarray, np.ndarray], ...]:
    """The CQT as sparse frequency-domain filters, one group per octave from the top.

    Returns
    -------
    tuple of (lo, hi, basis, lengths)
        Bins ``lo:hi``, ``basis`` complex ``(hi - lo, n_fft // 2 + 1)`` (librosa's sparse
        ``fft_basis``) and the filter ``lengths``: ``C[k, t] = sum_f basis[k, f] *
        X_t[f] / sqrt(lengths[k])`` with ``X_t`` the DFT of the ``n_fft`` samples centred
        on frame ``t`` (no window).
    """
    freqs = cqt_frequencies(n_bins, fmin, bins_per_octave)
    alpha = _relative_bandwidth(freqs)
    groups = []
    hi = n_bins
    while hi > 0:  # octaves from the top, as librosa slices them
        lo = max(0, hi - bins_per_octave)
        basis, lengths = _octave_basis(freqs[lo:hi], alpha[lo:hi], sr)
        groups.append((lo, hi, basis, lengths))
        hi = lo
    return tuple(groups)


@functools.lru_cache(maxsize=16)
def octave_kernels(sr: int, fmin: float, bins_per_octave: int, n_bins: int
                   ) -> tuple[tuple[int, int, np.ndarray], ...]:
    """The CQT as time-domain kernels, one group per octave from the top (cached).

    Returns
    -------
    tuple of (lo, hi, weight)
        Bins ``lo:hi`` and their kernels, ``weight`` float32 of shape
        ``(2 * (hi - lo), 1, n_fft)``: real parts then imaginary parts, ``n_fft`` a power
        of two, centred on the frame (``C[k, t] = sum_m v[k, m] * y[t * hop + m -
        n_fft // 2]``).
    """
    groups = []
    for lo, hi, basis, lengths in octave_bases(sr, fmin, bins_per_octave, n_bins):
        v = _octave_kernel(basis, lengths)
        w = np.concatenate([v.real, v.imag]).astype(np.float32)[:, np.newaxis, :]
        groups.append((lo, hi, np.ascontiguousarray(w)))
    return tuple(groups)
