"""``python -m bot.augment``: see bot.augment.cli."""

import sys

from bot.augment.cli import main

sys.exit(main())
