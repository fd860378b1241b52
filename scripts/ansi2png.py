#!/usr/bin/python3
"""Turns a `tmux capture-pane -p -e -N` dump (text with SGR colour codes) into a PNG.

Usage: ansi2png.py CAPTURE.txt OUT.png COLS ROWS [light]

"light" paints the terminal's default colours dark on light, as a light-themed
terminal would (the light theme assumes one).

Box-drawing characters are drawn as lines so borders join; everything else
with DejaVu Sans Mono. Needs Pillow (Debian's python3-pil) and fonts-dejavu-core.
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BG = (24, 26, 33)
FG = (216, 219, 226)
PALETTE = [
    (40, 42, 54), (232, 93, 93), (126, 201, 111), (229, 192, 96),
    (97, 153, 230), (198, 120, 221), (86, 196, 214), (216, 219, 226),
    (92, 99, 112), (255, 121, 121), (152, 230, 136), (255, 220, 120),
    (130, 180, 255), (220, 150, 240), (120, 220, 235), (255, 255, 255),
]


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = False
        self.dim = False
        self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = PALETTE[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                colour = xterm256(codes[i + 2])
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
                i += 2
            i += 1

    def colours(self):
        fg = self.fg or FG
        bg = self.bg or BG
        if self.reverse:
            fg, bg = (self.bg or BG), (self.fg or FG)
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        return fg, bg


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def parse(text, cols, rows):
    grid = [[(" ", FG, BG, False) for _ in range(cols)] for _ in range(rows)]
    style = Style()
    for y, line in enumerate(text.split("\n")[:rows]):
        x = 0
        pos = 0
        while pos < len(line) and x < cols:
            m = SGR.match(line, pos)
            if m:
                style.apply(m.group(1))
                pos = m.end()
                continue
            if line[pos] == "\x1b":  # other sequences are not expected; skip the byte
                pos += 1
                continue
            fg, bg = style.colours()
            grid[y][x] = (line[pos], fg, bg, style.bold)
            x += 1
            pos += 1
    return grid


LINES = {  # box drawing: which of up/down/left/right a character connects
    "─": "lr", "│": "ud", "┌": "dr", "┐": "dl", "└": "ur", "┘": "ul",
    "├": "udr", "┤": "udl", "┬": "dlr", "┴": "ulr", "┼": "udlr",
}


def render(grid, out):
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(BOLD, SIZE)
    left, top, right, bottom = font.getbbox("M")
    cw = font.getlength("M")
    ch = int(SIZE * 1.35)
    cols = len(grid[0])
    rows = len(grid)
    pad = 12
    image = Image.new("RGB", (int(cw * cols) + 2 * pad, ch * rows + 2 * pad), BG)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(grid):
        for x, (char, fg, bg, is_bold) in enumerate(row):
            x0 = pad + x * cw
            y0 = pad + y * ch
            if bg != BG:
                draw.rectangle([x0, y0, x0 + cw, y0 + ch], fill=bg)
            if char in LINES:
                cx, cy = x0 + cw / 2, y0 + ch / 2
                for d in LINES[char]:
                    end = {"u": (cx, y0), "d": (cx, y0 + ch), "l": (x0, cy), "r": (x0 + cw, cy)}[d]
                    draw.line([(cx, cy), end], fill=fg, width=1)
            elif char != " ":
                draw.text((x0, y0 + (ch - SIZE) / 2 - 1), char, font=bold if is_bold else font, fill=fg)
    image.save(out)


def main():
    global BG, FG
    src, out, cols, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if len(sys.argv) > 5 and sys.argv[5] == "light":
        BG, FG = (250, 250, 246), (40, 42, 54)
    with open(src, encoding="utf-8", errors="replace") as f:
        text = f.read()
    render(parse(text, cols, rows), out)


if __name__ == "__main__":
    main()
