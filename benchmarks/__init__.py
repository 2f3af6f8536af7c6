"""antbee-bench: every TFLite variant against the Keras model, measured in one run on one machine."""
