"""ESC/POS receipt printer: receipt layout, rendering, real-time status, emulator, driver."""
