#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H

// The wide-character API only exists when this is set before the include;
// cSettings defines do not reach Swift's import, so it lives here.
#define NCURSES_WIDECHAR 1
#include <ncursesw/ncurses.h>
#include <locale.h>

// Swift 6 rejects references to ncurses' mutable globals and cannot import
// its attribute macros, so they are re-exported as functions and constants.
WINDOW *sockscope_stdscr(void);
int sockscope_cols(void);
int sockscope_lines(void);
int sockscope_colors(void);
int sockscope_color_pairs(void);

static const attr_t SOCKSCOPE_A_NORMAL = A_NORMAL;
static const attr_t SOCKSCOPE_A_BOLD = A_BOLD;
static const attr_t SOCKSCOPE_A_DIM = A_DIM;
static const attr_t SOCKSCOPE_A_REVERSE = A_REVERSE;
static const attr_t SOCKSCOPE_A_UNDERLINE = A_UNDERLINE;

/// Writes `len` UTF-8 bytes at (y, x) with the given attributes and colour pair.
int sockscope_put_utf8(int y, int x, const char *text, int len, attr_t attrs, short pair);

/// Reads one key without blocking. Returns ERR when no input is buffered,
/// OK with a character in *ch, or KEY_CODE_YES with a KEY_* code in *ch.
int sockscope_read_key(unsigned int *ch);

/// Enables mouse reports for clicks and the wheel.
void sockscope_enable_mouse(void);
/// Reads the mouse event after KEY_MOUSE; returns 0 on success.
int sockscope_mouse(int *y, int *x, int *kind);



/// Selects the user's locale, falling back to C.UTF-8 when it is not UTF-8
/// (without UTF-8 ncurses draws borders and text as garbage). Returns 1 when the
/// user's own locale was UTF-8, 0 when it was not (the terminal may not decode UTF-8).
int sockscope_use_utf8_locale(void);
/// newterm() on stdout/stdin: returns NULL instead of exiting when there is no terminal.
SCREEN *sockscope_newterm(void);
#endif
