"""Modal screens: the training dialog, help, errors, quit confirmation, the log."""
