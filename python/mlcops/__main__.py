"""Allow ``python -m mlcops``."""

import sys

from mlcops.cli import main

sys.exit(main())
