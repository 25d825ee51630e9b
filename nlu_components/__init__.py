"""Custom Rasa NLU components (registered in config.yml by dotted path)."""
