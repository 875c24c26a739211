"""``python -m snapkit`` entry point."""

from snapkit.cli.entry import main

if __name__ == "__main__":
    main()
