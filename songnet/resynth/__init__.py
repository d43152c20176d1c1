"""The ``resynthesize`` stage: 1966 recordings and sketches -> model-made songs.

- :mod:`songnet.resynth.sketch`: digitised sonogram sketches.
- :mod:`songnet.resynth.resynthesize`: fitting the syrinx model, the stage's files.
"""
