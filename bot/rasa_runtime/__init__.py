"""The Rasa server as we run it: its entry point, each change we make to Rasa's
runtime (explained and tested against Rasa's own behaviour), the language-tagging
response generator, and what channels may read from or do to a conversation."""
