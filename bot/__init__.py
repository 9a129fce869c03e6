"""The code Rasa itself loads: runs in the bot environment (`.venv/bot`, inside `rasa run`/`rasa train`).

`components` (the sentiment NLU component, named in config.yml; rule in `sentiment`),
`channels` (the socketio channel of credentials.yml) and `action_validation` (the cached check
of action server answers, installed by `components`). Every file here is a model fingerprint
input (stack/fingerprint.py): a change retrains. The make-target drivers live in `devtools/`.
"""
