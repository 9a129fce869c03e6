"""eMotical's custom actions, served by rasa-sdk (`rasa run actions --actions actions`).

Runs in the bot environment (`.venv/bot`).

Logic lives in plain modules (catalog, fusion, profiles, wordnet_tags, ranking, report, store);
the `*_actions` modules hold the small Action classes that use them.
"""
