"""Resident ID card reader (SAM_A serial protocol): codec, card data, emulator, read driver.

The modules are split so that each can be tested alone: :mod:`.codec` knows only bytes,
:mod:`.identity` only the card's text block, :mod:`.emulator` plays the reader's side of the
wire, and :mod:`.reader` runs a read session over any pyserial URL.
"""

import serial as _serial

# lets serial.serial_for_url() open "samemu://CARD" (see protocol_samemu)
if __name__ not in _serial.protocol_handler_packages:
    _serial.protocol_handler_packages.append(__name__)
