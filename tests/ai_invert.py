"""A second AI producer for the tests only: ``e_test_invert[:slow_<seconds>]`` inverts the
colours (alpha kept), optionally sleeping first.  Imported by the tests that use it and
by their worker (``celery worker --include tests.ai_invert``); it touches no lifecycle
code, only the producer protocol (transforms.ai.producers)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.errors import BadRequest
from transforms.ai import producers


@dataclass(frozen=True)
class InvertOptions:
    slow: int = 0

    @property
    def canonical(self) -> str:
        return f"slow_{self.slow}" if self.slow else ""


class Invert(producers.Producer):
    kind = "test_invert"
    label = "Test inversion"

    def parse(self, args, qualifiers) -> InvertOptions:
        if not args:
            return InvertOptions()
        key, _, value = ":".join(args).partition("_")
        if key != "slow" or not value.isdigit() or not 0 <= int(value) <= 30:
            raise BadRequest(f"Invalid e_test_invert option {':'.join(args)!r}")
        return InvertOptions(int(value))

    def compute(self, image, options: InvertOptions) -> producers.Produced:
        time.sleep(options.slow)
        colour = image.extract_band(0, n=3).invert()
        out = colour.bandjoin(image.extract_band(3)) if image.bands == 4 else colour
        return producers.Produced(out.copy(interpretation="srgb"), {"inverted": True})


PRODUCER = producers.get(Invert.kind) or producers.register(Invert())
