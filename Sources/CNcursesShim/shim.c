#include "CNcursesShim.h"
#include <string.h>

WINDOW *sockscope_stdscr(void) { return stdscr; }
int sockscope_cols(void) { return COLS; }
int sockscope_lines(void) { return LINES; }
int sockscope_colors(void) { return COLORS; }
int sockscope_color_pairs(void) { return COLOR_PAIRS; }

int sockscope_put_utf8(int y, int x, const char *text, int len, attr_t attrs, short pair) {
    attr_set(attrs, pair, NULL);
    return mvaddnstr(y, x, text, len);
}

int sockscope_read_key(unsigned int *ch) {
    wint_t wc = 0;
    int rc = get_wch(&wc);
    *ch = (unsigned int)wc;
    return rc;
}

void sockscope_enable_mouse(void) {
    mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
}

int sockscope_mouse(int *y, int *x, int *kind) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return -1;
    *y = ev.y; *x = ev.x;
    if (ev.bstate & BUTTON4_PRESSED) *kind = 4;
    else if (ev.bstate & BUTTON5_PRESSED) *kind = 5;
    else *kind = 1;
    return 0;
}

#include <langinfo.h>
#include <stdio.h>
#include <strings.h>

int sockscope_use_utf8_locale(void) {
    const char *set = setlocale(LC_ALL, "");
    const char *codeset = set ? nl_langinfo(CODESET) : "";
    if (!set || (strcasecmp(codeset, "UTF-8") != 0 && strcasecmp(codeset, "utf8") != 0)) {
        setlocale(LC_ALL, "C.UTF-8");
        return 0;
    }
    return 1;
}

SCREEN *sockscope_newterm(void) {
    return newterm(NULL, stdout, stdin);
}
