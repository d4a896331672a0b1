"""`python -m candlecast_cli`: the same as the `candlecast` command."""

import sys

from candlecast_cli.app import main

sys.exit(main())
