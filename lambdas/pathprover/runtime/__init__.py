"""The local runtime: the same ASL file, executed by moto's interpreter with the real handlers in-process."""
