"""The laptop side: the four-pixel network, its training data, and the model file."""
