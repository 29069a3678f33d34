"""The kiosk's devices as the application uses them: health checks and the running devices."""
