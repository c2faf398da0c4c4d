/*
 * popup.c - one Pipes notification window (see popup.h).
 *
 * Layout is computed from the content at the window's DPI: the width is
 * fixed (360 px at 96 DPI), the height follows the text (the body up to 200
 * px at 96 DPI, then it scrolls). Every size is recomputed on WM_DPICHANGED,
 * so a popup moved to another monitor keeps its proportions.
 */
#include "popup.h"

#include <commctrl.h>
#include <uxtheme.h>

#include <stdlib.h>
#include <string.h>

#define WIDTH 360
#define PAD 12
#define GAP 6
#define ICON 20
#define CLOSE_W 64
#define BUTTON_H 26
#define BODY_MAX_H 200
#define TIMER_HIDE 1u
#define TIMER_TICK_MS 250u

typedef struct popup {
    tray_app *app;
    tray_popup_data *data; /* NULL for a summary */
    unsigned more;         /* summary: how many */
    HWND icon, title, meta, body, progress, status, open, close, more_btn;
    HWND action[PIPES_PROTO_MAX_ACTIONS];
    HFONT font, bold;
    HBRUSH brush;
    COLORREF fg, dim, bg;
    int high_contrast, dark;
    UINT dpi;
    ULONGLONG shown_since;  /* 0 = not counting (hidden) */
    int body_scrolls;
} popup;

static popup *get(HWND hwnd)
{
    return (popup *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
}

static int px(const popup *p, int v)
{
    return MulDiv(v, (int)(p->dpi ? p->dpi : 96u), 96);
}

/* ------------------------------------------------------------------------ */
/* Theme and fonts                                                          */
/* ------------------------------------------------------------------------ */

static int system_dark(void)
{
    DWORD v = 1, size = sizeof(v);
    if (RegGetValueW(HKEY_CURRENT_USER,
                     L"Software\\Microsoft\\Windows\\CurrentVersion\\Themes\\Personalize",
                     L"AppsUseLightTheme", RRF_RT_REG_DWORD, NULL, &v, &size) != ERROR_SUCCESS) {
        return 0;
    }
    return v == 0;
}

static void read_theme(popup *p)
{
    HIGHCONTRASTW hc;
    memset(&hc, 0, sizeof(hc));
    hc.cbSize = sizeof(hc);
    p->high_contrast = SystemParametersInfoW(SPI_GETHIGHCONTRAST, sizeof(hc), &hc, 0) &&
                       (hc.dwFlags & HCF_HIGHCONTRASTON);
    p->dark = !p->high_contrast &&
              (p->app->theme_forced == 2 || (p->app->theme_forced == 0 && system_dark()));
    if (p->high_contrast) {
        /* The user's own colours, nothing of ours. */
        p->bg = GetSysColor(COLOR_WINDOW);
        p->fg = GetSysColor(COLOR_WINDOWTEXT);
        p->dim = p->fg;
    } else if (p->dark) {
        p->bg = RGB(43, 43, 43);
        p->fg = RGB(242, 242, 242);
        p->dim = RGB(176, 176, 176);
    } else {
        p->bg = RGB(249, 249, 249);
        p->fg = RGB(26, 26, 26);
        p->dim = RGB(92, 92, 92);
    }
    if (p->brush) {
        DeleteObject(p->brush);
    }
    p->brush = CreateSolidBrush(p->bg);
}

static void make_fonts(popup *p)
{
    NONCLIENTMETRICSW ncm;
    LOGFONTW bold;
    memset(&ncm, 0, sizeof(ncm));
    ncm.cbSize = sizeof(ncm);
    if (!SystemParametersInfoForDpi(SPI_GETNONCLIENTMETRICS, sizeof(ncm), &ncm, 0, p->dpi) &&
        !SystemParametersInfoW(SPI_GETNONCLIENTMETRICS, sizeof(ncm), &ncm, 0)) {
        return;
    }
    if (p->font) {
        DeleteObject(p->font);
    }
    if (p->bold) {
        DeleteObject(p->bold);
    }
    p->font = CreateFontIndirectW(&ncm.lfMessageFont);
    bold = ncm.lfMessageFont;
    bold.lfWeight = FW_BOLD;
    p->bold = CreateFontIndirectW(&bold);
}

/* ------------------------------------------------------------------------ */
/* Controls                                                                 */
/* ------------------------------------------------------------------------ */

static HWND child(popup *p, HWND parent, const wchar_t *cls, const wchar_t *text, DWORD style,
                  int id)
{
    HWND h = CreateWindowExW(0, cls, text, WS_CHILD | style, 0, 0, 0, 0, parent,
                             (HMENU)(INT_PTR)id, p->app->instance, NULL);
    if (h && p->dark && wcscmp(cls, WC_BUTTONW) == 0) {
        SetWindowTheme(h, L"DarkMode_Explorer", NULL); /* dark buttons where Windows has them */
    }
    return h;
}

static void set_text_utf8(HWND h, const char *s, size_t len)
{
    wchar_t *w = text_utf8_to_wide(s, len);
    SetWindowTextW(h, w ? w : L"");
    free(w);
}

/* The body for an edit control: line breaks as CR LF. */
static void set_body(HWND h, const char *s, size_t len)
{
    wchar_t *w = text_utf8_to_wide(s, len);
    wchar_t *crlf;
    size_t i, n = 0, lf = 0;
    if (!w) {
        SetWindowTextW(h, L"");
        return;
    }
    for (i = 0; w[i]; ++i) {
        lf += w[i] == L'\n';
    }
    crlf = (wchar_t *)malloc((wcslen(w) + lf + 1) * sizeof(wchar_t));
    if (crlf) {
        for (i = 0; w[i]; ++i) {
            if (w[i] == L'\n' && (i == 0 || w[i - 1] != L'\r')) {
                crlf[n++] = L'\r';
            }
            crlf[n++] = w[i];
        }
        crlf[n] = L'\0';
    }
    SetWindowTextW(h, crlf ? crlf : w);
    free(crlf);
    free(w);
}

/* "source - from ALICE (directly)" for the meta line. */
static void meta_text(popup *p, wchar_t *out, size_t cap)
{
    const pipes_proto_notification *n = &p->data->n;
    const pipes_proto_sender *s = &n->sender;
    wchar_t account[PIPES_PROTO_MAX_ACCOUNT + 1], origin[PIPES_PROTO_MAX_ORIGIN + 1],
        source[PIPES_PROTO_MAX_SOURCE + 1], from[600];
    UINT id = IDS_FROM_UNKNOWN;
    text_utf8_to_wide_buf(s->account_len ? s->account : s->sid, s->account_len ? s->account_len : s->sid_len,
                          account, ARRAYSIZE(account));
    text_utf8_to_wide_buf(s->origin, s->origin_len, origin, ARRAYSIZE(origin));
    text_utf8_to_wide_buf(n->source, n->source_len, source, ARRAYSIZE(source));
    if (s->kind != PIPES_PROTO_SENDER_NONE && !p->data->via_service) {
        id = IDS_FROM_DIRECT;
    } else if (s->kind == PIPES_PROTO_SENDER_USER) {
        id = IDS_FROM_USER;
    } else if (s->kind == PIPES_PROTO_SENDER_SYSTEM) {
        id = IDS_FROM_SYSTEM;
    } else if (s->kind == PIPES_PROTO_SENDER_SERVICE) {
        id = IDS_FROM_SERVICE;
    } else if (s->kind == PIPES_PROTO_SENDER_BROKER) {
        id = IDS_FROM_BROKER;
    }
    app_format_string(p->app, id, from, ARRAYSIZE(from), account, origin);
    if (source[0]) {
        app_format_string(p->app, IDS_META, out, cap, source, from);
    } else {
        tray_copy_truncated(out, cap, from);
    }
}

/* Creates the controls for p->data (first time) or sets their text again. */
static void fill(popup *p, HWND hwnd)
{
    const pipes_proto_notification *n = &p->data->n;
    wchar_t text[700], host[300];
    size_t host_off = 0, host_len = 0;
    unsigned i;
    if (!p->title) {
        p->icon = child(p, hwnd, WC_STATICW, L"", SS_ICON | SS_REALSIZECONTROL, IDC_POPUP_ICON);
        p->title = child(p, hwnd, WC_STATICW, L"", SS_NOPREFIX | SS_NOTIFY, IDC_POPUP_TITLE);
        p->meta = child(p, hwnd, WC_STATICW, L"", SS_NOPREFIX | SS_ENDELLIPSIS, IDC_POPUP_META);
        p->body = child(p, hwnd, WC_EDITW, L"",
                        ES_MULTILINE | ES_READONLY | ES_AUTOVSCROLL | WS_VSCROLL | WS_TABSTOP,
                        IDC_POPUP_BODY);
        p->progress = child(p, hwnd, PROGRESS_CLASSW, L"", 0, IDC_POPUP_PROGRESS);
        p->status = child(p, hwnd, WC_STATICW, L"", SS_NOPREFIX | SS_ENDELLIPSIS, IDC_POPUP_STATUS);
        p->open = child(p, hwnd, WC_BUTTONW, L"", WS_TABSTOP | BS_PUSHBUTTON, IDC_POPUP_OPEN);
        for (i = 0; i < PIPES_PROTO_MAX_ACTIONS; ++i) {
            p->action[i] = child(p, hwnd, WC_BUTTONW, L"", WS_TABSTOP | BS_PUSHBUTTON,
                                 IDC_POPUP_ACTION0 + (int)i);
        }
        app_load_string(p->app, IDS_POPUP_CLOSE, text, ARRAYSIZE(text));
        p->close = child(p, hwnd, WC_BUTTONW, text, WS_TABSTOP | BS_PUSHBUTTON, IDC_POPUP_CLOSE);
    }
    SendMessageW(p->icon, STM_SETICON,
                 (WPARAM)(p->app->icon_level[n->level] ? p->app->icon_level[n->level]
                                                        : p->app->icon_app),
                 0);
    if (n->clear || n->title_len == 0) {
        SetWindowTextW(p->title, L"");
    } else {
        set_text_utf8(p->title, n->title, n->title_len);
    }
    meta_text(p, text, ARRAYSIZE(text));
    SetWindowTextW(p->meta, text);
    set_body(p->body, n->body, n->body_len);
    ShowWindow(p->body, n->body_len ? SW_SHOWNA : SW_HIDE);
    ShowWindow(p->progress, n->has_progress ? SW_SHOWNA : SW_HIDE);
    ShowWindow(p->status, n->has_progress && n->progress_status_len ? SW_SHOWNA : SW_HIDE);
    if (n->has_progress) {
        LONG_PTR style = GetWindowLongPtrW(p->progress, GWL_STYLE);
        int marquee = n->progress_value < 0;
        if (((style & PBS_MARQUEE) != 0) != marquee) {
            SetWindowLongPtrW(p->progress, GWL_STYLE, marquee ? style | PBS_MARQUEE : style & ~PBS_MARQUEE);
        }
        SendMessageW(p->progress, PBM_SETMARQUEE, (WPARAM)marquee, 30);
        SendMessageW(p->progress, PBM_SETRANGE32, 0, 100);
        SendMessageW(p->progress, PBM_SETPOS, marquee ? 0 : (WPARAM)n->progress_value, 0);
        set_text_utf8(p->status, n->progress_status, n->progress_status_len);
    }
    /* The link is shown by its host first: that is what the user decides on. */
    if (n->open_len && pipes_proto_url_check(n->open, n->open_len, &host_off, &host_len) == 0) {
        text_utf8_to_wide_buf(n->open + host_off, host_len, host, ARRAYSIZE(host));
        app_format_string(p->app, IDS_POPUP_OPEN, text, ARRAYSIZE(text), host);
        SetWindowTextW(p->open, text);
        ShowWindow(p->open, SW_SHOWNA);
    } else {
        ShowWindow(p->open, SW_HIDE);
    }
    for (i = 0; i < PIPES_PROTO_MAX_ACTIONS; ++i) {
        if (i < n->action_count) {
            set_text_utf8(p->action[i], n->actions[i].label, n->actions[i].label_len);
        }
        ShowWindow(p->action[i], i < n->action_count ? SW_SHOWNA : SW_HIDE);
        SendMessageW(p->action[i], BM_SETSTYLE, i == 0 ? BS_DEFPUSHBUTTON : BS_PUSHBUTTON, TRUE);
    }
    ShowWindow(p->icon, SW_SHOWNA);
    ShowWindow(p->title, SW_SHOWNA);
    ShowWindow(p->meta, SW_SHOWNA);
    ShowWindow(p->close, SW_SHOWNA);
}

/* ------------------------------------------------------------------------ */
/* Layout                                                                   */
/* ------------------------------------------------------------------------ */

static int text_height(popup *p, HWND h, HFONT font, int width)
{
    int len = GetWindowTextLengthW(h);
    wchar_t *t = (wchar_t *)malloc(((size_t)len + 2) * sizeof(wchar_t));
    RECT r;
    HDC dc = GetDC(h);
    HGDIOBJ old = SelectObject(dc, font);
    SetRect(&r, 0, 0, width, 0); /* not an initializer: MSVC C4204 */
    if (t) {
        GetWindowTextW(h, t, len + 1);
        if (len == 0) {
            wcscpy(t, L" ");
        }
        DrawTextW(dc, t, -1, &r, DT_CALCRECT | DT_WORDBREAK | DT_EDITCONTROL | DT_NOPREFIX);
        free(t);
    }
    SelectObject(dc, old);
    ReleaseDC(h, dc);
    (void)p;
    return r.bottom - r.top;
}

static int button_width(popup *p, HWND h)
{
    wchar_t t[PIPES_PROTO_MAX_LABEL + 32];
    SIZE sz = {0, 0};
    HDC dc = GetDC(h);
    HGDIOBJ old = SelectObject(dc, p->font);
    int n = GetWindowTextW(h, t, ARRAYSIZE(t));
    GetTextExtentPoint32W(dc, t, n, &sz);
    SelectObject(dc, old);
    ReleaseDC(h, dc);
    return sz.cx + px(p, 24) > px(p, 80) ? sz.cx + px(p, 24) : px(p, 80);
}

/* Places every control; returns the height the content needs. Only
 * measures when move is 0. */
static int layout(popup *p, int move)
{
    const pipes_proto_notification *n;
    int w = px(p, WIDTH), pad = px(p, PAD), gap = px(p, GAP), bh = px(p, BUTTON_H);
    int inner = w - 2 * pad, y = pad, x, h, i, line;
    if (!p->data) {
        if (move) {
            MoveWindow(p->more_btn, pad, pad, inner, bh, TRUE);
        }
        return 2 * pad + bh;
    }
    n = &p->data->n;
    /* Header: icon, title (up to the Close button), Close. */
    h = text_height(p, p->title, p->bold, inner - px(p, ICON) - gap - px(p, CLOSE_W) - gap);
    if (h < bh) {
        h = bh;
    }
    if (move) {
        MoveWindow(p->icon, pad, y + (bh - px(p, ICON)) / 2, px(p, ICON), px(p, ICON), TRUE);
        MoveWindow(p->title, pad + px(p, ICON) + gap, y,
                   inner - px(p, ICON) - 2 * gap - px(p, CLOSE_W), h, TRUE);
        MoveWindow(p->close, w - pad - px(p, CLOSE_W), y, px(p, CLOSE_W), bh, TRUE);
    }
    y += h + gap;
    line = text_height(p, p->meta, p->font, inner);
    if (move) {
        MoveWindow(p->meta, pad, y, inner, line, TRUE);
    }
    y += line + gap;
    if (n->body_len) {
        /* The edit needs room for its margins; past the cap it scrolls. */
        int need = text_height(p, p->body, p->font, inner - px(p, 8)) + px(p, 6);
        p->body_scrolls = need > px(p, BODY_MAX_H);
        h = p->body_scrolls ? px(p, BODY_MAX_H) : need;
        if (move) {
            MoveWindow(p->body, pad, y, inner, h, TRUE);
            ShowScrollBar(p->body, SB_VERT, p->body_scrolls);
        }
        y += h + gap;
    }
    if (n->has_progress) {
        if (move) {
            MoveWindow(p->progress, pad, y, inner, px(p, 14), TRUE);
        }
        y += px(p, 14) + gap;
        if (n->progress_status_len) {
            if (move) {
                MoveWindow(p->status, pad, y, inner, line, TRUE);
            }
            y += line + gap;
        }
    }
    if (n->open_len || n->action_count) {
        x = w - pad;
        for (i = (int)n->action_count - 1; i >= 0; --i) {
            int bw = button_width(p, p->action[i]);
            x -= bw;
            if (move) {
                MoveWindow(p->action[i], x, y, bw, bh, TRUE);
            }
            x -= gap;
        }
        if (n->open_len && move) {
            int bw = button_width(p, p->open);
            /* Its own row when the actions leave too little room. */
            if (x - pad < bw) {
                y += bh + gap;
                x = w - pad;
            }
            MoveWindow(p->open, pad, y, bw < inner ? bw : inner, bh, TRUE);
        } else if (n->open_len && x - pad < button_width(p, p->open)) {
            y += bh + gap;
        }
        y += bh + gap;
    }
    return y - gap + pad;
}

SIZE popup_size(HWND hwnd)
{
    popup *p = get(hwnd);
    SIZE s = {0, 0};
    RECT frame = {0, 0, 0, 0};
    if (!p) {
        return s;
    }
    AdjustWindowRectExForDpi(&frame, (DWORD)GetWindowLongPtrW(hwnd, GWL_STYLE), FALSE,
                             (DWORD)GetWindowLongPtrW(hwnd, GWL_EXSTYLE), p->dpi);
    s.cx = px(p, WIDTH) + (frame.right - frame.left);
    s.cy = layout(p, 0) + (frame.bottom - frame.top);
    return s;
}

static void apply_fonts(popup *p, HWND hwnd)
{
    HWND c;
    make_fonts(p);
    for (c = GetWindow(hwnd, GW_CHILD); c; c = GetWindow(c, GW_HWNDNEXT)) {
        SendMessageW(c, WM_SETFONT, (WPARAM)(c == p->title ? p->bold : p->font), FALSE);
    }
}

/* ------------------------------------------------------------------------ */
/* Window procedure                                                         */
/* ------------------------------------------------------------------------ */

unsigned popup_timeout_ms(const tray_app *app, const tray_popup_data *data)
{
    if (data->n.sticky || data->n.priority == PIPES_PROTO_PRIORITY_URGENT) {
        return 0;
    }
    if (app->popup_timeout_ms) {
        return app->popup_timeout_ms;
    }
    return data->n.priority == PIPES_PROTO_PRIORITY_HIGH ? TRAY_POPUP_TIMEOUT_HIGH_MS
                                                         : TRAY_POPUP_TIMEOUT_MS;
}

void popup_restart_timeout(HWND hwnd)
{
    popup *p = get(hwnd);
    if (p) {
        p->shown_since = IsWindowVisible(hwnd) ? GetTickCount64() : 0;
    }
}

/* The hide timer: counts only while visible, not hovered, not focused. */
static void on_tick(popup *p, HWND hwnd)
{
    POINT pt;
    RECT r;
    HWND focus = GetFocus();
    unsigned limit;
    if (!p->data || !IsWindowVisible(hwnd)) {
        p->shown_since = 0;
        return;
    }
    limit = popup_timeout_ms(p->app, p->data);
    GetCursorPos(&pt);
    GetWindowRect(hwnd, &r);
    if (limit == 0 || PtInRect(&r, pt) || (focus && (focus == hwnd || IsChild(hwnd, focus))) ||
        p->shown_since == 0) {
        p->shown_since = GetTickCount64(); /* hovered or focused: start again when left */
        return;
    }
    if (GetTickCount64() - p->shown_since >= limit) {
        popups_answered(p->app, hwnd, PIPES_PROTO_RESULT_TIMEOUT, NULL);
    }
}

static LRESULT on_command(popup *p, HWND hwnd, WPARAM wparam)
{
    int id = LOWORD(wparam);
    if (!p->data) {
        if (id == IDC_POPUP_MORE) {
            historywnd_show(p->app);
        }
        return 0;
    }
    if (id >= IDC_POPUP_ACTION0 && id < IDC_POPUP_ACTION0 + (int)p->data->n.action_count) {
        popups_answered(p->app, hwnd, PIPES_PROTO_RESULT_ACTION,
                        p->data->n.actions[id - IDC_POPUP_ACTION0].id);
    } else if (id == IDC_POPUP_CLOSE || id == IDCANCEL) {
        popups_answered(p->app, hwnd, PIPES_PROTO_RESULT_DISMISSED, NULL);
    } else if (id == IDC_POPUP_OPEN || (id == IDC_POPUP_TITLE && HIWORD(wparam) == STN_CLICKED)) {
        popups_open(p->app, p->data);
        if (p->data->n.action_count == 0) {
            popups_closed(p->app, hwnd); /* nothing to answer: opening is enough */
        }
    }
    return 0;
}

static LRESULT CALLBACK popup_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    popup *p = get(hwnd);
    if (msg == WM_NCCREATE) {
        p = (popup *)((CREATESTRUCTW *)lparam)->lpCreateParams;
        SetWindowLongPtrW(hwnd, GWLP_USERDATA, (LONG_PTR)p);
    }
    if (!p) {
        return DefWindowProcW(hwnd, msg, wparam, lparam);
    }
    switch (msg) {
    case WM_COMMAND:
        return on_command(p, hwnd, wparam);
    case DM_GETDEFID:
        /* Enter: the first action, else Open, else Close. */
        if (!p->data) {
            return MAKELRESULT(IDC_POPUP_MORE, DC_HASDEFID);
        }
        return MAKELRESULT(p->data->n.action_count ? IDC_POPUP_ACTION0
                           : p->data->n.open_len   ? IDC_POPUP_OPEN
                                                   : IDC_POPUP_CLOSE,
                           DC_HASDEFID);
    case WM_CTLCOLORSTATIC:
    case WM_CTLCOLOREDIT:
    case WM_CTLCOLORBTN:
        if (p->high_contrast) {
            break; /* the system's colours */
        }
        SetTextColor((HDC)wparam, (HWND)lparam == p->meta || (HWND)lparam == p->status ? p->dim : p->fg);
        SetBkColor((HDC)wparam, p->bg);
        return (LRESULT)p->brush;
    case WM_ERASEBKGND: {
        RECT r;
        GetClientRect(hwnd, &r);
        FillRect((HDC)wparam, &r, p->high_contrast ? GetSysColorBrush(COLOR_WINDOW) : p->brush);
        return 1;
    }
    case WM_TIMER:
        if (wparam == TIMER_HIDE) {
            on_tick(p, hwnd);
        }
        return 0;
    case WM_SHOWWINDOW:
        p->shown_since = wparam ? GetTickCount64() : 0;
        break;
    case WM_DPICHANGED: {
        const RECT *r = (const RECT *)lparam;
        p->dpi = HIWORD(wparam);
        apply_fonts(p, hwnd);
        SetWindowPos(hwnd, NULL, r->left, r->top, r->right - r->left, r->bottom - r->top,
                     SWP_NOZORDER | SWP_NOACTIVATE);
        popups_relayout(p->app);
        return 0;
    }
    case WM_SIZE:
        layout(p, 1);
        return 0;
    case WM_THEMECHANGED:
        popup_apply_theme(hwnd); /* the broadcasts reach the main window (wndproc.c) */
        return 0;
    case WM_CLOSE:
        popups_answered(p->app, hwnd, PIPES_PROTO_RESULT_DISMISSED, NULL);
        return 0;
    case WM_POPUP_DESTROY:
        DestroyWindow(hwnd);
        return 0;
    case WM_NCDESTROY:
        KillTimer(hwnd, TIMER_HIDE);
        if (p->font) {
            DeleteObject(p->font);
        }
        if (p->bold) {
            DeleteObject(p->bold);
        }
        if (p->brush) {
            DeleteObject(p->brush);
        }
        free(p->data);
        free(p);
        SetWindowLongPtrW(hwnd, GWLP_USERDATA, 0);
        return 0;
    default:
        break;
    }
    return DefWindowProcW(hwnd, msg, wparam, lparam);
}

static int register_class(tray_app *app)
{
    static ATOM atom;
    WNDCLASSEXW wc;
    if (atom) {
        return 1;
    }
    memset(&wc, 0, sizeof(wc));
    wc.cbSize = sizeof(wc);
    wc.lpfnWndProc = popup_proc;
    wc.hInstance = app->instance;
    wc.hCursor = LoadCursorW(NULL, MAKEINTRESOURCEW(32512)); /* IDC_ARROW */
    wc.lpszClassName = POPUP_CLASS;
    atom = RegisterClassExW(&wc);
    return atom != 0;
}

static HWND create(tray_app *app, popup *p, POINT at)
{
    wchar_t name[128];
    HWND hwnd;
    if (!p || !register_class(app)) {
        free(p);
        return NULL;
    }
    app_load_string(app, IDS_POPUP_CLASS_NAME, name, ARRAYSIZE(name));
    /* Created on the target monitor, so GetDpiForWindow gives its DPI. */
    hwnd = CreateWindowExW(WS_EX_TOPMOST | WS_EX_TOOLWINDOW | WS_EX_CONTROLPARENT, POPUP_CLASS,
                           name, WS_POPUP | WS_BORDER, at.x, at.y, 1, 1, NULL, NULL, app->instance,
                           p);
    if (!hwnd) {
        free(p->data);
        free(p);
        return NULL;
    }
    p->dpi = GetDpiForWindow(hwnd);
    read_theme(p);
    SetTimer(hwnd, TIMER_HIDE, TIMER_TICK_MS, NULL);
    return hwnd;
}

HWND popup_create(tray_app *app, tray_popup_data *data, POINT at)
{
    popup *p = (popup *)calloc(1, sizeof(popup));
    HWND hwnd;
    if (!p) {
        free(data);
        return NULL;
    }
    p->app = app;
    p->data = data;
    hwnd = create(app, p, at);
    if (hwnd) {
        fill(p, hwnd);
        apply_fonts(p, hwnd);
        if (data->n.title_len) {
            /* The window's own name is the title: what a screen reader reads first. */
            set_text_utf8(hwnd, data->n.title, data->n.title_len);
        }
    }
    return hwnd;
}

HWND popup_create_summary(tray_app *app, unsigned more, POINT at)
{
    popup *p = (popup *)calloc(1, sizeof(popup));
    HWND hwnd;
    if (!p) {
        return NULL;
    }
    p->app = app;
    hwnd = create(app, p, at);
    if (hwnd) {
        p->more_btn = child(p, hwnd, WC_BUTTONW, L"", WS_VISIBLE | WS_TABSTOP | BS_DEFPUSHBUTTON,
                            IDC_POPUP_MORE);
        apply_fonts(p, hwnd);
        popup_set_more(hwnd, more);
    }
    return hwnd;
}

void popup_set_data(HWND hwnd, tray_popup_data *data)
{
    popup *p = get(hwnd);
    if (!p || !p->data) {
        free(data);
        return;
    }
    free(p->data);
    p->data = data;
    fill(p, hwnd);
    apply_fonts(p, hwnd);
    if (data->n.title_len) {
        set_text_utf8(hwnd, data->n.title, data->n.title_len);
    }
    layout(p, 1);
    InvalidateRect(hwnd, NULL, TRUE);
    popup_restart_timeout(hwnd);
}

void popup_set_more(HWND hwnd, unsigned more)
{
    popup *p = get(hwnd);
    wchar_t text[128];
    if (!p || p->data) {
        return;
    }
    p->more = more;
    app_format_string(p->app, IDS_POPUP_MORE, text, ARRAYSIZE(text), more);
    SetWindowTextW(p->more_btn, text);
    SetWindowTextW(hwnd, text);
}

const tray_popup_data *popup_data(HWND hwnd)
{
    popup *p = get(hwnd);
    return p ? p->data : NULL;
}

void popup_apply_theme(HWND hwnd)
{
    popup *p = get(hwnd);
    if (p) {
        read_theme(p);
        InvalidateRect(hwnd, NULL, TRUE);
    }
}
