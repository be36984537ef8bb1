"""Enrollment links as people receive them: a URL, and the same URL as a QR code (terminal or page)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg

from server.settings import Settings


def enrollment_url(settings: Settings, token: str) -> str:
    return f"{settings.origin}/auth/enroll/{token}"


def qr_terminal(url: str) -> str:
    """The URL as a QR code drawn with text blocks, to scan from a terminal with the phone's camera."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(url)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def qr_svg(url: str) -> str:
    """The URL as an inline SVG QR code for the staff page (no image file, nothing fetched)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return str(image.to_string(encoding="unicode"))
