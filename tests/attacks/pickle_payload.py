"""fact returns a pickle whose loading would run code on the grader (write a marker file outside
the grading folder; the test supplies the path), raw and wrapped as {"$pickle": ...}.

Must happen: the grader never unpickles anything; the bytes arrive as bytes and compare unequal;
the marker is never written; the fact tests fail; add is graded."""
import pickle

MARKER = "__MARKER__"


class Payload:
    def __reduce__(self):
        return (exec, (f"open({MARKER!r}, 'w').write('unpickled on the grader')",))


def add(a, b):
    return a + b


def fact(n):
    blob = pickle.dumps(Payload())
    return {"$pickle": blob} if n % 2 else blob
