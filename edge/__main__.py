"""`python -m antbee.edge`: the same as the antbee-edge command."""

from antbee.edge.cli import main

main()
