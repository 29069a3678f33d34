"""Kivy screens and widgets. They call ``kiosk`` only; never drivers or sqlite3."""
