"""The device's MQTT link: events from the event log, status, state, Home Assistant discovery and model rollout."""
