"""Sounds in and out: :mod:`.audio` (the :class:`~.audio.Audio` value, reading, checking and
writing files, rates and channels) and :mod:`.devices` (which torch device runs the work)."""
