"""The domain: customers, contracts, bills, cases, and the rules about them.

Plain Python and SQLAlchemy only: nothing here imports Rasa, the web app or a
channel, so actions, the web app, the CLI and tests use it alike.
"""
