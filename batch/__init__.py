"""Batch work on Ray Data: the device's classifier over many files on many machines (antbee-batch)."""
