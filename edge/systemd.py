"""antbee-edge --print-systemd-unit: a systemd unit that runs the same command as a service."""

from __future__ import annotations

import os
import shlex
import sys


def systemd_unit(argv: list[str]) -> str:
    """A systemd unit that runs this same command (without --print-systemd-unit and the token) as a service."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--token":
            skip = True
        elif argument != "--print-systemd-unit" and not argument.startswith("--token="):
            kept.append(argument)
    command = shlex.join([sys.executable, "-m", "antbee.edge", *kept])
    return f"""# /etc/systemd/system/antbee.service (see docs/service.md); then:
#   sudo systemctl daemon-reload && sudo systemctl enable --now antbee
[Unit]
Description=antbee image classifier service
Wants=network-online.target
After=network-online.target

[Service]
User=antbee
Group=antbee
# video: /dev/video* cameras and the Pi camera
SupplementaryGroups=video
WorkingDirectory={os.getcwd()}
# The token stays out of the unit: put ANTBEE_TOKEN=... in this file (mode 600).
EnvironmentFile=-/etc/antbee/env
# The default event log goes to $XDG_STATE_HOME/antbee/events.db = /var/lib/antbee/antbee/events.db
StateDirectory=antbee
Environment=XDG_STATE_HOME=/var/lib/antbee
ExecStart={command}
Restart=always
RestartSec=5
TimeoutStopSec=30
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""
