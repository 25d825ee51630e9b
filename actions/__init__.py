"""Rasa SDK custom actions: thin adapters from the tracker to `bot.domain.services`.

One module per capability; every customer-facing text is a response in
`domain/`, so actions send response names and formatted values only.
"""
