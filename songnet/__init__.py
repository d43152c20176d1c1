"""songnet: song-theme classification for the rufous-collared sparrow (*Zonotrichia capensis*).

The package layout is the data flow, one subpackage per stage, lowest first:

- ``songnet.core``: errors, params, atomic files, progress bars, audio input, devices;
- ``songnet.synth``: the syrinx model (labial source, trachea, cavity) and its gestures;
- ``songnet.surrogates``: the theme catalog and the surrogate dataset (``synthesize``);
- ``songnet.features``: Constant-Q images (``features``);
- ``songnet.model``: the CNN, checkpoints, ``train``, ``evaluate``, ``release``;
- ``songnet.resynth``: 1966 recordings and sketches through the model (``resynthesize``);
- ``songnet.latent``: embeddings and the latent map (``embed``, ``project``);
- ``songnet.classify``: field recordings -> song events (``classify``);
- ``songnet.cli``: one command per stage, on top of them all.

A module imports only from its own subpackage and those listed above it.
"""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use (importing
    ``importlib.metadata`` costs a command's start-up some 50 ms)."""
    if name != "__version__":
        raise AttributeError(f"module 'songnet' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version
    try:
        value = version("songnet")
    except PackageNotFoundError:  # running from a source tree that is not installed
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
