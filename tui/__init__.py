"""fmnist-tui UI."""
