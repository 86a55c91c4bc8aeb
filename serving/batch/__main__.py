"""`python -m serving.batch batch|pack ...`: the `digits` command without its console script."""

import sys

from serving.batch.cli import main

sys.exit(main())
