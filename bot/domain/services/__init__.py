"""One module per capability. Services take a session and plain values, return
plain data classes and raise the errors of `bot.domain.errors`."""
