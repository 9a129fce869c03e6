"""Process plumbing for development, demo and tests: Redis, Rasa, the action server, the sidecar.

Standard library only, so both Python environments can import it.
"""
