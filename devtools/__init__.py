"""The drivers behind the make targets: train, validate, test-rasa, eval-augment.

Runs in the bot environment (`.venv/bot`): each drives Rasa's own CLI or API, with the child
environment of `emotical_shared.childenv`. Rasa never loads this package (that is `bot/`), so
changing it does not retrain the model.
"""
