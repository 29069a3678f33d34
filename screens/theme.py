"""Colours and sizes of the kiosk's look, in one place.

Contrast: every text colour on its background is at least 4.5:1 (WCAG 1.4.3); touch targets
are at least 64 dp, well over the 48 dp minimum, because many users are elderly.
Sizes are strings ("28sp") so that the large-font switch rescales them live.
"""

BACKGROUND = (0.957, 0.965, 0.980, 1)
SURFACE = (1, 1, 1, 1)
PRIMARY = (0.043, 0.306, 0.635, 1)  # #0B4EA2, 7.6:1 against white
PRIMARY_DARK = (0.024, 0.200, 0.435, 1)
PRIMARY_LIGHT = (0.894, 0.929, 0.980, 1)
TEXT = (0.102, 0.102, 0.102, 1)
TEXT_MUTED = (0.290, 0.322, 0.369, 1)  # #4A525E, 8:1 against white
ON_PRIMARY = (1, 1, 1, 1)
DANGER = (0.718, 0.110, 0.110, 1)  # call staff
SUCCESS = (0.078, 0.459, 0.204, 1)
WARNING = (0.600, 0.318, 0.000, 1)
DIVIDER = (0.820, 0.843, 0.878, 1)
SAMPLE = (0.600, 0.318, 0.000, 1)

TILE_COLOURS = (
    (0.043, 0.306, 0.635, 1),
    (0.000, 0.424, 0.416, 1),
    (0.455, 0.180, 0.561, 1),
    (0.690, 0.259, 0.000, 1),
    (0.078, 0.459, 0.204, 1),
    (0.557, 0.141, 0.290, 1),
    (0.200, 0.286, 0.427, 1),
    (0.024, 0.200, 0.435, 1),
    (0.400, 0.255, 0.118, 1),
)

FONT_HUGE = "64sp"
FONT_TITLE = "40sp"
FONT_LARGE = "32sp"
FONT_BODY = "26sp"
FONT_SMALL = "22sp"
TOUCH_MIN = "72dp"
TOUCH_MIN_DP = 72
BAR_HEIGHT = "120dp"
HEADER_HEIGHT = "110dp"
PADDING = "24dp"
