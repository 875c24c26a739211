"""The content-addressed store: backends, codecs, packs, index, locks and the Repository."""
