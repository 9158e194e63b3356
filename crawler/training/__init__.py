"""Reading training and evaluation data from disk (the I/O edge of ``analysis`` training)."""
