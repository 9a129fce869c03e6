"""Score texts with the project's sentiment rule for a process that cannot import it.

`nlu_augment` runs in the vision environment, which has neither VADER nor TextBlob; the rule
lives in `bot/sentiment.py` (`analyse`) and nowhere else. This tiny bot-environment driver
reads a JSON list of texts on stdin and writes a JSON list of `[score, label]` on stdout, in
the same order: `.venv/bot/bin/python -m devtools.sentiment_score < texts.json`.
"""

from __future__ import annotations

import json
import sys

from bot.sentiment import analyse


def main() -> int:
    """Read texts from stdin, write their fused scores and labels to stdout."""
    texts = json.load(sys.stdin)
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        print("sentiment_score: stdin must be a JSON list of strings", file=sys.stderr)
        return 2
    out = []
    for text in texts:
        s = analyse(text)
        out.append([s.score, s.label])
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
