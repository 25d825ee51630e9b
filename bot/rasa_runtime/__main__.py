"""The Rasa process: `python -m bot.rasa_runtime run --model ...` (the same arguments as `rasa`).

TensorFlow is kept out until a model needs it (bot/rasa_runtime/lazy_tensorflow.py);
that has to happen before Rasa is imported, so it is done here, first, and then
Rasa runs with our changes (bot/rasa_runtime/server.py).
"""

from bot.rasa_runtime import lazy_tensorflow

lazy_tensorflow.defer()

from bot.rasa_runtime.server import main  # noqa: E402 - after the deferral, on purpose

main()
