"""``python3 -m dlverify``: the command line."""

import sys

from dlverify.cli import main

if __name__ == "__main__":
    sys.exit(main())
