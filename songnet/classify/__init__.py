"""The ``classify`` stage: songs and their themes in field recordings.

- :mod:`songnet.classify.recordings`: finding the audio files to read.
- :mod:`songnet.classify.params`: ``ClassifyParams`` and the block geometry.
- :mod:`songnet.classify.windows`: streamed blocks -> window scores (the scan:
  :mod:`songnet.classify.blocks`, :mod:`songnet.classify.scan`; frame activity:
  :mod:`songnet.classify.activity`; scores: :mod:`songnet.classify.scores`; candidate images:
  :mod:`songnet.classify.candidates`).
- :mod:`songnet.classify.events`: window scores -> song events.
- :mod:`songnet.classify.report`: tables, CSV, JSON, Raven selection tables.
"""
