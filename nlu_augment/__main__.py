"""``python -m nlu_augment``: see nlu_augment.cli."""

import sys

from nlu_augment.cli import main

sys.exit(main())
