"""Adapters: the same ports, implemented for AWS and for one machine."""
