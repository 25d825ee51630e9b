"""Domain core of the Stadtwerk assistant: data, services, formatting, CLI.

Nothing in this package imports Rasa, so it can be used from actions, the web
app, the CLI and tests alike.
"""
