"""Operations: the library calls the commands make, one module each.

:mod:`~snapkit.ops.snap`, :mod:`~snapkit.ops.restore`, :mod:`~snapkit.ops.export`
(``export_to``), :mod:`~snapkit.ops.forget`, :mod:`~snapkit.ops.prune`,
:mod:`~snapkit.ops.check`, :mod:`~snapkit.ops.diff` and :mod:`~snapkit.ops.import_archive`
each open the repository at a location, take the lock the operation needs (shared to add or
read, exclusive to remove: :mod:`~snapkit.ops.repo`), run the pipeline, report what happens
while it runs as small frozen events (:mod:`~snapkit.ops.events`, throttled there) and return
a frozen result. They print nothing and know nothing of click: rendering the events and the
result as text or JSON, and turning a result into an exit code, is the CLI's part.

An operation imports the pipeline (selection, capture, snapshot building, reading,
maintenance), ``store`` and the format; never ``snapkit.cli``. This package's ``__init__``
imports nothing, so a command imports only the operation it runs.
"""
