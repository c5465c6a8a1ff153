"""``python -m matchsim.cli``: the ``matchsim`` command."""

import sys

from matchsim.cli import main

sys.exit(main())
