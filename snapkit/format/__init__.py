"""The format: what snapkit writes, as records, and the errors every layer raises.

:mod:`~snapkit.format.model` (trees, nodes, manifests, the repository config, chunker
parameters, with their msgpack encode/decode pairs), :mod:`~snapkit.format.blob_index` (pack
trailers, index and lock files), :mod:`~snapkit.format.encoding` (msgpack and id helpers),
:mod:`~snapkit.format.archive_meta` (an export archive's metadata record),
:mod:`~snapkit.format.paths` (snapshot path names) and :mod:`~snapkit.format.errors` (the
exception classes and their exit codes). The bottom layer: it imports nothing from snapkit
outside itself. ``docs/format.md`` specifies the bytes.
"""
