"""fmnist-tui core."""
