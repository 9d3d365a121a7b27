"""What people look at: :mod:`.page` (the self-contained listening page) and :mod:`.plots`
(its spectrogram pictures)."""
