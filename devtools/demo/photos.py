"""Small, invented seal photos for the demo data, so its timelines show pictures and its queue stays honest.

Without an image every demo photo record would wait for its bytes forever, and the office's exceptions
queue would open on hundreds of "photo not arrived" items that no real office would have. Each picture is
drawn from a seed (the photo's id): an envelope with its seal label and number on a cluttered counter or
dashboard, different enough from photo to photo that the perceptual-hash check for reused photos does not
mistake one for another. About 6 KB each as JPEG; no I/O here.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

#: Width and height of a landscape demo photo (portrait ones are turned).
SIZE = (320, 240)


def seal_photo(seed: str, seal_number: str | None, *, portrait: bool, damaged: bool = False) -> bytes:
    """A JPEG of an envelope with its seal, the same bytes for the same arguments."""
    rng = random.Random(seed)
    width, height = SIZE
    image = Image.new("RGB", SIZE, _colour(rng, 40, 220))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(10, 16)):  # the counter, the dashboard, a hand: what is around the envelope
        x, y = rng.randint(-40, width), rng.randint(-40, height)
        box = (x, y, x + rng.randint(20, 160), y + rng.randint(20, 120))
        if rng.random() < 0.5:
            draw.rectangle(box, fill=_colour(rng, 0, 255))
        else:
            draw.ellipse(box, fill=_colour(rng, 0, 255))
    left, top = rng.randint(10, 110), rng.randint(10, 80)
    envelope = (left, top, left + rng.randint(170, 200), top + rng.randint(120, 140))
    draw.rectangle(
        envelope, fill=(205 + rng.randint(-20, 20), 170 + rng.randint(-20, 20), 120), outline=(90, 70, 40)
    )
    label = (envelope[0] + 20, envelope[1] + 40, envelope[0] + 150, envelope[1] + 80)
    draw.rectangle(label, fill=(200, 30, 40), outline=(255, 255, 255), width=2)
    draw.text((label[0] + 8, label[1] + 6), "SEGEL DISDUKCAPIL", fill=(255, 255, 255))
    draw.text((label[0] + 8, label[1] + 22), seal_number or "-", fill=(255, 255, 255))
    if damaged:
        draw.line((label[0] + 30, label[1] - 6, label[0] + 70, label[3] + 8), fill=(60, 40, 30), width=5)
    if portrait:
        image = image.transpose(Image.Transpose.ROTATE_90)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70, optimize=True)
    return out.getvalue()


def _colour(rng: random.Random, low: int, high: int) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))
