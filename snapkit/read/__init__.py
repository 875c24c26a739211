"""Reading snapshots back: one tree walker, and the sinks it feeds.

:mod:`~snapkit.read.treewalk` walks a snapshot's trees iteratively and streams a file's blobs
through the store's one content reader (``Repository.read_blobs``); restore
(:mod:`~snapkit.read.restore`, writing through :mod:`~snapkit.read.restore_writer` and
:mod:`~snapkit.read.partials`), export to tar (:mod:`~snapkit.read.export`, OpenClaw's archive
layout in :mod:`~snapkit.read.openclaw_archive` and :mod:`~snapkit.read.openclaw_format`),
an archive's verification (:mod:`~snapkit.read.archive_verify`), diff
(:mod:`~snapkit.read.diff`) and browse (:mod:`~snapkit.read.browse`) are its users. Imports
capture (the live diff walks the disk the way a snapshot would), selection, the store and the
format; never writes to the store.
"""
