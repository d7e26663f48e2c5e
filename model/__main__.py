"""``python -m model`` runs the ``nines`` command line."""

import sys

from model.cli.main import main

sys.exit(main())
