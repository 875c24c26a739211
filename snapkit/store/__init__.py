"""The content-addressed store: backends (local directory, S3) and locations, codecs, packs,
index, locks and the Repository."""
