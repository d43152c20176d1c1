"""What measures a song, in one place: pitch tracks, notes and trills, the distance
between introductions, and the note check.

Every stage that measures a chingolo song imports it from here: ``songnet themes``
(learning themes from recordings), the realism measures, resynthesis, the foreign-theme
generator and ``classify``'s note check. NumPy only.

- :mod:`songnet.song.track`: the pitch tracker (:class:`PitchTrack`);
- :mod:`songnet.song.segment`: notes and trill syllables, songs cut from a track;
- :mod:`songnet.song.reading`: a song read from its notes (the trill is what repeats);
- :mod:`songnet.song.distance`: note vectors and the distance between introductions;
- :mod:`songnet.song.notecheck`: the note check (:class:`NoteCheck`).
"""
