"""Surrogate songs: the theme catalog, recording conditions and the ``synthesize`` stage.

- :mod:`songnet.surrogates.themes`: ``Theme``, the catalog (``catalog/*.yaml``), contours.
- :mod:`songnet.surrogates.conditions`: distance, noise, clutter, reverberation.
- :mod:`songnet.surrogates.synthesize`: the surrogate dataset and its manifest
  (``save_manifest`` / ``load_manifest``); its params :mod:`songnet.surrogates.synthesize_params`,
  birds and renditions :mod:`songnet.surrogates.birds`, the clip plan
  :mod:`songnet.surrogates.plan`, the rendering :mod:`songnet.surrogates.render`.
- :mod:`songnet.surrogates.fieldsim`: simulated field recordings with known songs.
"""
