"""antbee.convert: Keras model -> quantized TFLite with its labels inside, verified against Keras (TensorFlow)."""
