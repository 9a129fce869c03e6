"""Dependency-free code shared by the bot and the vision sidecar: labels and the Redis schema."""
