"""Help for the citizen beside the screens: speech, prompt tones and the call for staff."""
