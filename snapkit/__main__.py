"""``python -m snapkit`` entry point."""

from snapkit.cli.main import main

if __name__ == "__main__":
    main()
