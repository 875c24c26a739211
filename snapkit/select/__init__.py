"""Selection: what a snapshot takes, decided before any file is read.

The exclusion rules (:mod:`~snapkit.select.rules`, gitignore-style patterns in
:mod:`~snapkit.select.gitignore`, sizes in :mod:`~snapkit.select.sizes`), the config file
(:mod:`~snapkit.select.config`: defaults, records, lookup, validation, writing), the sources a
run backs up and the rules each gets (:mod:`~snapkit.select.sources`), and OpenClaw discovery
(:mod:`~snapkit.select.openclaw`, with its config reading in
:mod:`~snapkit.select.openclaw_config` and the installation records in
:mod:`~snapkit.select.openclaw_install`). Imports the format only: no store, no file content.
"""
