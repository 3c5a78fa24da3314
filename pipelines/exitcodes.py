"""Exit statuses of the command line (README, "Exit status"), in a module of their own so the CLI starts light."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
