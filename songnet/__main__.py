"""``python -m songnet`` runs the command line."""

import sys

from songnet.cli import main

sys.exit(main())
