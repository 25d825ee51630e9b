"""What an operator runs: the launcher of the processes, the command line, the
development balancer and the terminal phone."""
