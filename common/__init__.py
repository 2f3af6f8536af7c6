"""antbee.common: what every part shares (errors, the run folder, atomic writes, progress, the command boundary)."""
