"""Theme discovery: from unsorted field recordings to a proposed theme catalog.

:mod:`songnet.discover.songs` finds every chingolo song of a recording and measures it;
:mod:`songnet.discover.group` groups the songs into proposed themes at a threshold measured
on the recordings; :mod:`songnet.discover.report` writes the folders, table and contact
sheet of ``songnet themes discover``.
"""
