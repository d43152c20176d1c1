"""The ``features`` stage: audio -> Constant-Q images.

- :mod:`songnet.features.params`: ``FeatureParams`` (the ``features`` section).
- :mod:`songnet.features.cqt`: the batched PyTorch Constant-Q transform.
- :mod:`songnet.features.frontends`: the ``stft`` and ``mel`` front ends (NumPy).
- :mod:`songnet.features.images`: windows, images, the librosa reference.
- :mod:`songnet.features.featureset`: the stage (manifest -> split arrays), its files.
- :mod:`songnet.features.theme_plots`: the themes drawn as CQT images.
"""
