"""The live side of a camera run: a frames-per-second status line and an optional window with the label."""

from __future__ import annotations

import os
import sys
import time

from antbee.common.errors import UsageError

WINDOW = "antbee-edge"
QUIT_KEYS = (ord("q"), 27)  # q or Esc in the display window
STATUS_INTERVAL_S = 0.1


class Status:
    """The live frames-per-second line on stderr, redrawn in place; silent unless stderr is a terminal."""

    def __init__(self, enabled: bool, shares_terminal: bool):
        self.enabled, self.shares_terminal = enabled, shares_terminal
        self.shown, self.last = False, 0.0

    def show(self, result, stats) -> None:
        """Redraw the status line for the latest result (at most every STATUS_INTERVAL_S)."""
        now = time.monotonic()
        # When stdout scrolls the same terminal the line is cleared for each result, so redraw it each time.
        if not self.enabled or (not self.shares_terminal and now - self.last < STATUS_INTERVAL_S):
            return
        top = result.classification.top if result.classification else None
        label = f"{top.label} {top.score:.2f}" if top else ("error" if result.error else "-")
        sys.stderr.write(f"\r\x1b[K{stats.results} frames  {stats.fps:5.1f} fps  {label}")
        sys.stderr.flush()
        self.shown, self.last = True, now

    def clear(self, force: bool = False) -> None:
        """Erase the status line before other output; `force` even when stdout is elsewhere."""
        if self.shown and (force or self.shares_terminal):
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


def open_window(display: bool | None) -> bool:
    """Open the display window if asked (or, when unset, if there is a display); whether it is open."""
    import cv2

    if display is None:
        display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        asked = False
    else:
        asked = display
    if not display:
        return False
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    except cv2.error:
        message = ("--display: this OpenCV cannot open windows (opencv-python-headless has no GUI); "
                   "install opencv-python, or pass --no-display")
        if asked:
            raise UsageError(message)
        print(f"antbee-edge: {message.replace('--display', 'display off')}", file=sys.stderr, flush=True)
        return False
    return True


def show(image, result, fps: float, window: str = WINDOW) -> bool:
    """Draw the label, score and FPS on the frame and show it in `window`; True when the user pressed q or Esc."""
    import cv2

    top = result.classification.top
    text = f"{top.label} {top.score:.2f}  {fps:.1f} fps" if top else f"-  {fps:.1f} fps"
    scale = max(0.5, image.shape[0] / 720)
    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.rectangle(image, (0, 0), (width + 16, height + base + 16), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (8, height + 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.imshow(window, image)
    return (cv2.waitKey(1) & 0xFF) in QUIT_KEYS
