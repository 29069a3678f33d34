"""Application core of the self-service government kiosk.

This package knows nothing of widgets: screens call it, never the other way round.
"""

__version__ = "0.1.0"
