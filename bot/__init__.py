"""The Stadtwerk assistant's own code, in layers (see docs/architecture.md).

- `bot.protocol`: the seam between the bot and its channels (the typed reply,
  its input hint, the payloads channels send); imports nothing of ours.
- `bot.domain`: what a utility's customer service is about: tables, services,
  parsing, languages, texts. Imports no Rasa, web or channel code.
- `bot.infra`: settings, database, migrations, logging.
- `bot.rasa_runtime`: how the Rasa server is started and what we change in it.
- `bot.web`: the FastAPI app (web chat gateway, agent console, dashboard).
- `bot.ops`: the processes and commands an operator runs (launcher, CLI).

Channels live in the top-level `connectors/` package, Rasa SDK actions in
`actions/`.
"""
