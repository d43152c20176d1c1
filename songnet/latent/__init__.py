"""The ``embed`` and ``project`` stages: the latent map of 2020 and 1966 songs.

- :mod:`songnet.latent.embed`: embeddings of the trained network, the song set, its files.
- :mod:`songnet.latent.project`: UMAP/PCA maps, the theme matcher, the persistence table.
- :mod:`songnet.latent.validate`: the k-fold validation of the persistence answer (its
  params :mod:`songnet.latent.validate_params`, folds :mod:`songnet.latent.folds`, rules
  :mod:`songnet.latent.rules`).
- :mod:`songnet.latent.plots`: the latent map and the persistence figure.
"""
