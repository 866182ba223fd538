"""fact returns an object whose __eq__ is always true (and __ne__ always false, __bool__ true).

Must happen: the object is not plain data, so it stays in the worker and the test gets a
handle that equals nothing: the fact tests fail; add is graded."""


class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    __hash__ = object.__hash__


def add(a, b):
    return a + b


def fact(n):
    return Anything()
