"""fact returns a list that contains itself (and, for odd n, a list nested 10000 deep).

Must happen: the protocol refuses values nested deeper than its limit; the fact tests fail
with "not plain data"; add is graded."""


def add(a, b):
    return a + b


def fact(n):
    if n % 2:
        deep = []
        for _ in range(10000):
            deep = [deep]
        return deep
    loop = []
    loop.append(loop)
    return loop
