"""``python -m crazycall``."""

from crazycall.cli import main

if __name__ == "__main__":
    main()
