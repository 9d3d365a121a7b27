"""``python -m audiostyle.cli``: the ``audiostyle`` command."""

import sys

from . import main

sys.exit(main())
