"""Resident ID card reader (SAM_A serial protocol): codec, card data, emulator, read driver.

The modules are split so that each can be tested alone: :mod:`.codec` knows only bytes,
:mod:`.identity` only the card's text block, :mod:`.emulator` plays the reader's side of the
wire, and :mod:`.reader` runs a read session over any pyserial URL.
"""
