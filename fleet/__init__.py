"""antbee-fleet: a read-only view of the devices publishing to an MQTT broker."""
