"""Pure rendering for sharing: QR codes (``qr``) and share posters (``poster``).

Bytes in, bytes out: no I/O beyond reading the fonts shipped in ``fonts/``, no network, no clock.
"""
