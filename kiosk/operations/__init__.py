"""Keeping the kiosk running unattended: counts of faults for the technician and the rules
that decide when the application restarts itself."""
