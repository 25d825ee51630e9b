"""What tests and benchmarks drive the system with: real servers on free ports,
browser-like clients of the web app."""
