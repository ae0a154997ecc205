"""Fast screen grabs from the X server with libX11 through ctypes (no compiled helper, no PIL)."""
import ctypes
import os
from ctypes import POINTER, Structure, c_char_p, c_int, c_uint, c_ulong, c_void_p

_x = ctypes.cdll.LoadLibrary("libX11.so.6")


class XImage(Structure):
    _fields_ = [
        ("width", c_int), ("height", c_int), ("xoffset", c_int), ("format", c_int),
        ("data", c_void_p), ("byte_order", c_int), ("bitmap_unit", c_int),
        ("bitmap_bit_order", c_int), ("bitmap_pad", c_int), ("depth", c_int),
        ("bytes_per_line", c_int), ("bits_per_pixel", c_int),
    ]


_x.XOpenDisplay.restype = c_void_p
_x.XOpenDisplay.argtypes = [c_char_p]
_x.XDefaultRootWindow.restype = c_ulong
_x.XDefaultRootWindow.argtypes = [c_void_p]
_x.XGetImage.restype = POINTER(XImage)
_x.XGetImage.argtypes = [c_void_p, c_ulong, c_int, c_int, c_uint, c_uint, c_ulong, c_int]
_x.XDestroyImage.argtypes = [POINTER(XImage)]
_x.XDestroyImage.restype = c_int

ALL_PLANES = 0xFFFFFFFFFFFFFFFF
ZPIXMAP = 2


class Screen:
    def __init__(self, display=None):
        self.dpy = _x.XOpenDisplay((display or os.environ["DISPLAY"]).encode())
        if not self.dpy:
            raise RuntimeError("cannot open display")
        self.root = _x.XDefaultRootWindow(self.dpy)

    def grab(self, x=0, y=0, w=1280, h=800):
        """BGRX bytes (4 per pixel) of the rectangle, rows packed."""
        img = _x.XGetImage(self.dpy, self.root, x, y, w, h, ALL_PLANES, ZPIXMAP)
        if not img:
            raise RuntimeError("XGetImage failed")
        im = img.contents
        assert im.bits_per_pixel == 32, im.bits_per_pixel
        bpl = im.bytes_per_line
        raw = ctypes.string_at(im.data, bpl * h)
        _x.XDestroyImage(img)
        if bpl != w * 4:
            raw = b"".join(raw[r * bpl: r * bpl + w * 4] for r in range(h))
        return raw


def unique_colours(raw, step=1):
    """Unique 24-bit colours among every step-th pixel (the X pad byte masked off)."""
    mv = memoryview(raw).cast("I")
    s = set(mv[::step])
    return len({v & 0xFFFFFF for v in s})


def more_than(raw, n=10):
    """(is the count of unique colours > n, count found). Cheap when the picture is uniform."""
    first = raw[:4]
    if raw == first * (len(raw) // 4):
        return False, 1
    k = unique_colours(raw, 5)
    if k > n:
        return True, k
    k = unique_colours(raw, 1)
    return k > n, k


# --- event-driven map detection (supplementary, finer than polling xdotool) ---
SUBSTRUCTURE_NOTIFY_MASK = 1 << 19
MAP_NOTIFY = 19
_x.XSelectInput.argtypes = [c_void_p, c_ulong, ctypes.c_long]
_x.XPending.argtypes = [c_void_p]
_x.XNextEvent.argtypes = [c_void_p, c_void_p]
_x.XFetchName.argtypes = [c_void_p, c_ulong, POINTER(ctypes.c_char_p)]
_x.XFlush.argtypes = [c_void_p]
_x.XSync.argtypes = [c_void_p, c_int]


class MapWatcher:
    """Own X connection listening for MapNotify on the root (no window manager: top-levels map there)."""

    def __init__(self, display=None):
        self.dpy = _x.XOpenDisplay((display or os.environ["DISPLAY"]).encode())
        self.root = _x.XDefaultRootWindow(self.dpy)
        _x.XSelectInput(self.dpy, self.root, SUBSTRUCTURE_NOTIFY_MASK)
        _x.XSync(self.dpy, 0)
        self.ev = ctypes.create_string_buffer(192)

    def drain(self):
        """[(time.time() when read, window id, name)] for MapNotify events waiting now."""
        out = []
        while _x.XPending(self.dpy):
            _x.XNextEvent(self.dpy, self.ev)
            t = time.time()
            typ = ctypes.c_int.from_buffer(self.ev, 0).value
            if typ == MAP_NOTIFY:
                win = ctypes.c_ulong.from_buffer(self.ev, 40).value
                name = ctypes.c_char_p()
                nm = None
                if _x.XFetchName(self.dpy, win, ctypes.byref(name)) and name.value is not None:
                    nm = name.value.decode(errors="replace")
                out.append((t, win, nm))
        return out


import time  # noqa: E402
