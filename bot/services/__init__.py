"""Business capabilities, one module each. Services take a session and plain
values, return plain data classes and raise the errors in `errors`."""
