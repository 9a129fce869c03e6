"""Process plumbing for development, demo and tests: Redis, Rasa, the action server, the sidecar.

Standard library only (with `emotical_shared`), so either environment's interpreter runs it:
`make demo` runs it in the vision environment, `make shell` and the bot tests in the bot one.
`environments.py` declares which environment runs every top-level package.
"""
