"""The ``classify`` stage: songs and their themes in field recordings.

- :mod:`songnet.classify.recordings`: finding the audio files to read.
- :mod:`songnet.classify.windows`: ``ClassifyParams``, streamed blocks -> window scores.
- :mod:`songnet.classify.events`: window scores -> song events.
- :mod:`songnet.classify.report`: tables, CSV, JSON, Raven selection tables.
"""
