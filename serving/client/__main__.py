"""`python -m serving.client`: the client's command line (see serving.client.cli)."""

import sys

from serving.client.cli import main

if __name__ == "__main__":
    sys.exit(main())
