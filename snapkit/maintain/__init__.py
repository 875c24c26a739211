"""Maintenance: the repository as a whole, across snapshots.

Which snapshots a command means (:mod:`~snapkit.maintain.selection`), retention
(:mod:`~snapkit.maintain.retention`, pure), the one reachability walk
(:mod:`~snapkit.maintain.reachability`) that check (:mod:`~snapkit.maintain.check`) and prune
(:mod:`~snapkit.maintain.prune`, with leftover files found by :mod:`~snapkit.maintain.strays`)
share, and importing an archive as a snapshot (:mod:`~snapkit.maintain.importer`). Imports
every pipeline layer below it; never the operations or the CLI.
"""
