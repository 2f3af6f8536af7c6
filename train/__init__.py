"""antbee.train: transfer learning on a frozen MobileNetV2, on a workstation (TensorFlow)."""
