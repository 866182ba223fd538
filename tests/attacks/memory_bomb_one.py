"""fact allocates and touches memory in 64 MB blocks until it has 16 GB.

Must happen: the address-space limit (and the cgroup's memory cap) stop it: a MemoryError in
the worker or the worker killed for memory; the fact tests fail; add is graded; the host
never runs short of memory."""


def add(a, b):
    return a + b


def fact(n):
    blocks = []
    for _ in range(256):
        block = bytearray(64 * 2**20)
        block[::4096] = b"\1" * (len(block) // 4096)
        blocks.append(block)
    return len(blocks)
