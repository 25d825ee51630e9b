"""What an operator runs: the launcher of the processes, the edge proxy's
configuration, the command line and the terminal phone."""
