"""snapkit: deduplicated, incremental snapshots of an OpenClaw installation or any directory tree.

The package is layered top to bottom (never imported upward): ``cli`` → operations
(``snapshot``, ``restore``, …) → ``store`` (repository, packs, index, backend) → ``model``.
"""

__version__ = "0.1.0"
