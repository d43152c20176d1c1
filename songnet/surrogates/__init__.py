"""Surrogate songs: the theme catalog, recording conditions and the ``synthesize`` stage.

- :mod:`songnet.surrogates.themes`: ``Theme``, the catalog (``catalog/*.yaml``), contours.
- :mod:`songnet.surrogates.conditions`: distance, noise, clutter, reverberation.
- :mod:`songnet.surrogates.synthesize`: birds, renditions, the surrogate dataset and its
  manifest (``save_manifest`` / ``load_manifest``).
- :mod:`songnet.surrogates.fieldsim`: simulated field recordings with known songs.
"""
