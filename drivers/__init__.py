"""Device drivers and their byte-level emulators (no Kivy, SQL or HTTP in here)."""
