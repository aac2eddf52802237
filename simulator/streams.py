"""One seed, many independent random streams.

Every consumer asks for its own named stream (``streams.get("approvals")``
or per entity, ``streams.get("consultant", "res_000007")``). Streams are
derived by hashing the seed with the name, so adding a draw in one process
never shifts the numbers another process sees: two what-if variants share
the same random people, and their differences are the scenario's, not
noise. The flip side: a name must identify one use. Two processes that ask
for the same name draw the same numbers, so a process that can recur for
one entity (a second review after an adjustment) must put what
distinguishes it (the version) in the name.
"""

from __future__ import annotations

import hashlib
import random


class Streams:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def get(self, *name: str) -> random.Random:
        material = ":".join(("c2c", str(self.seed), *name)).encode()
        return random.Random(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))

    def derive_int(self, *name: str) -> int:
        return self.get(*name).getrandbits(63)
