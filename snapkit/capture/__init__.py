"""Capture: turning the files the selection chose into a snapshot in the store.

The lstat walk (:mod:`~snapkit.capture.walk`), node-from-stat (:mod:`~snapkit.capture.nodes`),
the files cache's reuse decision (:mod:`~snapkit.capture.files_cache`), reading a file or a
live SQLite database through the backup API (:mod:`~snapkit.capture.file`,
:mod:`~snapkit.capture.sqlite`), chunking (:mod:`~snapkit.capture.chunker`), the dry-run
preview (:mod:`~snapkit.capture.dryrun`), the gateway lifecycle (:mod:`~snapkit.capture.service`:
detect, decide, stop and restart) and the builder that drives them
(:mod:`~snapkit.capture.snapshot`). Imports selection, the store and the format.
"""
