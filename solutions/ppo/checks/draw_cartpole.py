"""Public checks of draw_cartpole (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
import math

from otter.test_files import test_case

OK_FORMAT = False
name = "draw_cartpole"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


def pole_vectors(ax):
    """(lower end, upward unit-length vector) of every line segment of length 1 drawn on ax."""
    found = []
    for line in ax.lines:
        xs, ys = line.get_xdata(), line.get_ydata()
        for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
            if abs(math.hypot(x1 - x0, y1 - y0) - 1.0) < 1e-6:
                if y1 < y0:
                    x0, y0, x1, y1 = x1, y1, x0, y0
                found.append(((float(x0), float(y0)), (float(x1 - x0), float(y1 - y0))))
    return found


def patch_centres_x(ax):
    return [float(p.get_path().transformed(p.get_patch_transform()).get_extents().intervalx.mean()) for p in ax.patches]


@test_case(points=None, hidden=False, success_message=SUCCESS)
def cart_and_leaning_pole(draw_cartpole, plt, np):
    """Cart at x = 0.5, angle 0.3: a patch centred at x = 0.5 and a pole of length 1 from x = 0.5 to 0.5 + sin(0.3), leaning right."""
    fig, ax = plt.subplots()
    try:
        draw_cartpole(ax, np.array([0.5, 0.0, 0.3, 0.0]))
        assert any(abs(c - 0.5) < 1e-6 for c in patch_centres_x(ax)), "draw the cart as a patch (plt.Rectangle) centred at x = obs[0]"
        poles = pole_vectors(ax)
        assert poles, "draw the pole as a line of length 1 (ax.plot between its two ends)"
        assert any(abs(lo[0] - 0.5) < 1e-6 and abs(v[0] - math.sin(0.3)) < 1e-6 and abs(v[1] - math.cos(0.3)) < 1e-6
                   for lo, v in poles), "the pole should start at x = obs[0] and point along (sin(angle), cos(angle))"
    finally:
        plt.close(fig)
