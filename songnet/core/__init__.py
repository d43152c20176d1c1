"""Shared modules below every stage: errors, params, atomic files, progress, audio.

- :mod:`songnet.core.errors`: ``SongnetError`` (a user can fix it: one line, exit 2).
- :mod:`songnet.core.params`: frozen params classes from ``params.yaml`` sections.
- :mod:`songnet.core.files`: atomic outputs.
- :mod:`songnet.core.progress`: progress bars.
- :mod:`songnet.core.sound`: ``Sound``, validated mono audio.
- :mod:`songnet.core.audio`: reading any audio file, streaming long ones (decoding and its
  checks: :mod:`songnet.core.decode`; which files are recordings:
  :mod:`songnet.core.audio_files`).
- :mod:`songnet.core.device`: ``--device`` values -> torch devices.
- :mod:`songnet.core.threads`: usable cores, worker pools shared per process.
"""
