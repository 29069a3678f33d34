"""SQLite storage kept on the kiosk: catalogue cache, outbox, audit (no Kivy, no HTTP)."""
