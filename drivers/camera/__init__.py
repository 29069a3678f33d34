"""Camera: frame sources, QR decoding and document capture (OpenCV, headless build)."""
