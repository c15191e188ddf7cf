// xdraw: paints a deterministic test pattern on an X display so that VNC grabs of it can be
// compared pixel for pixel, and logs the keys the display receives.
//
//   xdraw --display :N [--seed S] [--keylog FILE] [--animate] [--ready-file F]
//         [--copies-file F]
//
// The whole picture is rendered client-side into an XImage and put with XPutImage, so every
// pixel is defined by the seed alone (no fonts, no server-side rasterisation differences).
// The window is full-screen and override-redirect with an invisible cursor, so no VNC server
// ever paints a cursor into a grab. SIGUSR1 toggles the animation; the ready file is rewritten
// after each toggle ("frozen N" / "animating N") once the X server has processed the last frame,
// so a test can freeze the picture and know when it is still.
// SIGUSR2 scrolls the top band up with XCopyArea (so VNC servers send CopyRect) and paints the
// strip it uncovers; the copies file then reads "copies N" once the X server has done the N-th.
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace {

volatile sig_atomic_t g_quit = 0;
volatile sig_atomic_t g_toggles = 0;
volatile sig_atomic_t g_copies = 0;

void on_term(int) {
    g_quit = 1;
}
void on_usr1(int) {
    g_toggles = g_toggles + 1;
}
void on_usr2(int) {
    g_copies = g_copies + 1;
}

struct Options {
    std::string display;
    uint64_t seed = 1;
    std::string keylog;
    std::string ready_file;
    std::string copies_file;
    bool animate = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "xdraw: %s\nusage: xdraw --display :N [--seed S] [--keylog FILE] [--animate] "
                 "[--ready-file F] [--copies-file F]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--display") {
            o.display = value();
        } else if (a == "--seed") {
            std::string v = value();
            char* end = nullptr;
            o.seed = std::strtoull(v.c_str(), &end, 0);
            if (end == v.c_str() || *end != '\0') usage("bad --seed");
        } else if (a == "--keylog") {
            o.keylog = value();
        } else if (a == "--ready-file") {
            o.ready_file = value();
        } else if (a == "--copies-file") {
            o.copies_file = value();
        } else if (a == "--animate") {
            o.animate = true;
        } else {
            usage(("unknown argument " + a).c_str());
        }
    }
    if (o.display.empty()) usage("--display is required");
    return o;
}

// splitmix64: tiny, fast and identical on every platform, which is all a test pattern needs.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
    uint32_t rgb() { return static_cast<uint32_t>(next() & 0xffffff); }
};

// The picture as 0xRRGGBB values; converted to the visual's pixel layout only when put.
struct Canvas {
    int w = 0, h = 0;
    std::unique_ptr<uint32_t[]> px;

    void fill(int x0, int y0, int cw, int ch, uint32_t c) {
        for (int y = std::max(0, y0); y < std::min(h, y0 + ch); ++y)
            for (int x = std::max(0, x0); x < std::min(w, x0 + cw); ++x)
                px[size_t(y) * w + x] = c;
    }
    void set(int x, int y, uint32_t c) {
        if (x >= 0 && y >= 0 && x < w && y < h) px[size_t(y) * w + x] = c;
    }
};

// Band 1: solid blocks of irregular sizes (RRE / Hextile background / ZRLE solid tiles).
void draw_blocks(Canvas& c, Rng& rng, int y0, int y1) {
    c.fill(0, y0, c.w, y1 - y0, rng.rgb());
    for (int y = y0; y < y1;) {
        int bh = 24 + static_cast<int>(rng.below(56));
        for (int x = 0; x < c.w;) {
            int bw = 20 + static_cast<int>(rng.below(90));
            c.fill(x, y, bw, std::min(bh, y1 - y), rng.rgb());
            x += bw;
        }
        y += bh;
    }
}

// Band 2: "text": glyph-like bitmaps in one or two foreground colours on a per-line background
// (Hextile subrects, ZRLE packed palettes).
void draw_text(Canvas& c, Rng& rng, int y0, int y1) {
    const int cell_w = 7, cell_h = 12;
    for (int line_y = y0; line_y + cell_h <= y1; line_y += cell_h + 2) {
        uint32_t bg = (line_y / (cell_h + 2)) % 3 == 0 ? 0xffffff : rng.rgb() | 0x808080;
        uint32_t fg1 = rng.rgb() & 0x7f7f7f;
        uint32_t fg2 = rng.rgb() & 0x3f3f3f;
        c.fill(0, line_y, c.w, cell_h + 2, bg);
        for (int x = 2; x + cell_w <= c.w; x += cell_w + 1) {
            if (rng.below(8) == 0) continue;  // a space between "words"
            uint64_t bits = rng.next();
            uint32_t fg = rng.below(4) == 0 ? fg2 : fg1;
            for (int gy = 1; gy < cell_h - 1; ++gy)
                for (int gx = 0; gx < cell_w - 1; ++gx)
                    if ((bits >> ((gy * 6 + gx) % 64)) & 1) c.set(x + gx, line_y + gy, fg);
        }
    }
}

// Band 3: gradients (many colours: ZRLE raw / plain RLE) and colour runs of random length
// (ZRLE plain and palette RLE).
void draw_gradients(Canvas& c, Rng& rng, int y0, int y1) {
    const int half = c.w / 2;
    const int hh = std::max(1, y1 - y0);
    for (int y = y0; y < y1; ++y)
        for (int x = 0; x < half; ++x) {
            uint32_t r = static_cast<uint32_t>(x * 255 / std::max(1, half - 1));
            uint32_t g = static_cast<uint32_t>((y - y0) * 255 / hh);
            uint32_t b = static_cast<uint32_t>((x + y) & 0xff);
            c.set(x, y, (r << 16) | (g << 8) | b);
        }
    uint32_t palette[40];
    for (auto& p : palette)
        p = rng.rgb();
    for (int y = y0; y < y1; ++y) {
        int x = half;
        while (x < c.w) {
            int run = 1 + static_cast<int>(rng.below(y % 16 < 8 ? 40 : 6));
            uint32_t colour = palette[rng.below(y % 32 < 16 ? 40 : 5)];
            for (int i = 0; i < run && x < c.w; ++i, ++x)
                c.set(x, y, colour);
        }
    }
}

// Band 4: incompressible noise, a two-colour dither and a palette-of-16 mosaic.
void draw_noise(Canvas& c, Rng& rng, int y0, int y1) {
    const int third = c.w / 3;
    for (int y = y0; y < y1; ++y)
        for (int x = 0; x < third; ++x)
            c.set(x, y, rng.rgb());
    uint32_t a = rng.rgb(), b = rng.rgb();
    for (int y = y0; y < y1; ++y)
        for (int x = third; x < 2 * third; ++x)
            c.set(x, y, ((x ^ y) & 1) ? a : b);
    uint32_t pal[16];
    for (auto& p : pal)
        p = rng.rgb();
    for (int y = y0; y < y1; y += 3)
        for (int x = 2 * third; x < c.w; x += 3)
            c.fill(x, y, 3, std::min(3, y1 - y), pal[rng.below(16)]);
}

// The animated block: the frame counter as 16 cells of 16x16, in colours that change with it.
struct CounterBlock {
    int x = 0, y = 0;
    static constexpr int kSize = 64;
    void draw(Canvas& c, uint32_t n) const {
        uint32_t on = 0xff0000 ^ ((n * 0x3b1f5u) & 0xffffff);
        uint32_t off = 0x0000ff ^ ((n * 0x1c7u) & 0x00ffff);
        for (int bit = 0; bit < 16; ++bit)
            c.fill(x + (bit % 4) * 16, y + (bit / 4) * 16, 16, 16, ((n >> bit) & 1) ? on : off);
    }
};

void render(Canvas& c, uint64_t seed) {
    Rng rng{seed * 0x2545f4914f6cdd1dull + 1};
    const int q = c.h / 4;
    draw_blocks(c, rng, 0, q);
    draw_text(c, rng, q, 2 * q);
    draw_gradients(c, rng, 2 * q, 3 * q);
    draw_noise(c, rng, 3 * q, c.h);
}

int mask_shift(unsigned long m) {
    int s = 0;
    while (m && !(m & 1)) {
        m >>= 1;
        ++s;
    }
    return s;
}
int mask_bits(unsigned long m) {
    m >>= mask_shift(m);
    int b = 0;
    while (m & 1) {
        m >>= 1;
        ++b;
    }
    return b;
}

struct Output {
    Display* dpy = nullptr;
    Window win = 0;
    GC gc = nullptr;
    XImage* img = nullptr;
    Visual* visual = nullptr;
    int rs = 0, gs = 0, bs = 0, rb = 8, gb = 8, bb = 8;

    unsigned long pixel(uint32_t rgb) const {
        auto ch = [](uint32_t v8, int bits, int shift) -> unsigned long {
            return static_cast<unsigned long>(bits >= 8 ? v8 << (bits - 8) : v8 >> (8 - bits))
                   << shift;
        };
        return ch((rgb >> 16) & 0xff, rb, rs) | ch((rgb >> 8) & 0xff, gb, gs) |
               ch(rgb & 0xff, bb, bs);
    }
    void upload(const Canvas& c, int x0, int y0, int w, int h) {
        for (int y = y0; y < y0 + h; ++y)
            for (int x = x0; x < x0 + w; ++x)
                XPutPixel(img, x, y, pixel(c.px[size_t(y) * c.w + x]));
    }
    void put(int x, int y, int w, int h) { XPutImage(dpy, win, gc, img, x, y, x, y, w, h); }
};

int on_io_error(Display*) {
    // The X server went away (the test tore it down): nothing left to draw on.
    std::_Exit(0);
}

// One scroll step of the top band (the solid blocks): the band moves up by kScrollStep rows
// and the uncovered strip gets new blocks that depend only on the seed and the step number.
constexpr int kScrollStep = 16;

void scroll_band(Canvas& c, Output& s, uint64_t seed, int step) {
    const int band_h = c.h / 4;
    if (band_h <= kScrollStep) return;
    const int moved = band_h - kScrollStep;
    std::memmove(&c.px[0], &c.px[size_t(kScrollStep) * c.w],
                 size_t(moved) * c.w * sizeof(uint32_t));
    Rng rng{(seed + 0x51u) * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(step)};
    for (int x = 0; x < c.w;) {
        int bw = 20 + static_cast<int>(rng.below(90));
        c.fill(x, moved, bw, kScrollStep, rng.rgb());
        x += bw;
    }
    XCopyArea(s.dpy, s.win, s.win, s.gc, 0, kScrollStep, c.w, moved, 0, 0);
    s.upload(c, 0, moved, c.w, kScrollStep);
    s.put(0, moved, c.w, kScrollStep);
}

void write_ready(const std::string& path, const char* state, int n) {
    if (path.empty()) return;
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) {
        std::perror("xdraw: ready file");
        return;
    }
    std::fprintf(f, "%s %d\n", state, n);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
}

Display* open_display(const std::string& name) {
    // The X server may still be starting: give it a few seconds.
    for (int i = 0; i < 100; ++i) {
        if (Display* d = XOpenDisplay(name.c_str())) return d;
        if (g_quit) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);

    struct sigaction sa {};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, nullptr);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, nullptr);

    FILE* keylog = nullptr;
    if (!opt.keylog.empty()) {
        keylog = std::fopen(opt.keylog.c_str(), "a");
        if (!keylog) {
            std::perror("xdraw: keylog");
            return 1;
        }
    }

    Output s;
    s.dpy = open_display(opt.display);
    if (!s.dpy) {
        std::fprintf(stderr, "xdraw: cannot open display %s\n", opt.display.c_str());
        return 1;
    }
    XSetIOErrorHandler(on_io_error);
    int scr = DefaultScreen(s.dpy);
    s.visual = DefaultVisual(s.dpy, scr);
    if (s.visual->c_class != TrueColor) {
        std::fprintf(stderr, "xdraw: default visual is not TrueColor\n");
        return 1;
    }
    s.rs = mask_shift(s.visual->red_mask);
    s.gs = mask_shift(s.visual->green_mask);
    s.bs = mask_shift(s.visual->blue_mask);
    s.rb = mask_bits(s.visual->red_mask);
    s.gb = mask_bits(s.visual->green_mask);
    s.bb = mask_bits(s.visual->blue_mask);

    Canvas canvas;
    canvas.w = DisplayWidth(s.dpy, scr);
    canvas.h = DisplayHeight(s.dpy, scr);
    canvas.px = std::make_unique<uint32_t[]>(size_t(canvas.w) * canvas.h);
    render(canvas, opt.seed);
    CounterBlock counter;
    counter.x = canvas.w - CounterBlock::kSize - 32;
    counter.y = canvas.h - CounterBlock::kSize - 32;
    uint32_t frame = 0;
    counter.draw(canvas, frame);

    int depth = DefaultDepth(s.dpy, scr);
    int bytes = depth > 16 ? 4 : depth > 8 ? 2 : 1;
    char* data = static_cast<char*>(std::malloc(size_t(canvas.w) * canvas.h * bytes));
    if (!data) return 1;
    s.img =
        XCreateImage(s.dpy, s.visual, depth, ZPixmap, 0, data, canvas.w, canvas.h, bytes * 8, 0);
    if (!s.img) {
        std::fprintf(stderr, "xdraw: XCreateImage failed\n");
        return 1;
    }
    s.upload(canvas, 0, 0, canvas.w, canvas.h);

    XSetWindowAttributes attrs{};
    attrs.override_redirect = True;
    attrs.background_pixel = BlackPixel(s.dpy, scr);
    attrs.event_mask = ExposureMask | KeyPressMask | StructureNotifyMask;
    s.win = XCreateWindow(s.dpy, RootWindow(s.dpy, scr), 0, 0, canvas.w, canvas.h, 0, depth,
                          InputOutput, s.visual, CWOverrideRedirect | CWBackPixel | CWEventMask,
                          &attrs);
    // An all-transparent cursor: servers that paint the cursor paint nothing.
    Pixmap blank = XCreatePixmap(s.dpy, s.win, 1, 1, 1);
    GC bgc = XCreateGC(s.dpy, blank, 0, nullptr);
    XSetForeground(s.dpy, bgc, 0);
    XFillRectangle(s.dpy, blank, bgc, 0, 0, 1, 1);
    XFreeGC(s.dpy, bgc);
    XColor black{};
    Cursor invisible = XCreatePixmapCursor(s.dpy, blank, blank, &black, &black, 0, 0);
    XDefineCursor(s.dpy, s.win, invisible);
    XFreePixmap(s.dpy, blank);
    s.gc = XCreateGC(s.dpy, s.win, 0, nullptr);

    XMapRaised(s.dpy, s.win);
    for (;;) {
        XEvent ev;
        XNextEvent(s.dpy, &ev);
        if (ev.type == MapNotify && ev.xmap.window == s.win) break;
    }
    s.put(0, 0, canvas.w, canvas.h);
    XSetInputFocus(s.dpy, s.win, RevertToParent, CurrentTime);
    XSync(s.dpy, False);
    write_ready(opt.ready_file, opt.animate ? "animating" : "frozen", 0);

    bool animating = opt.animate;
    int toggles_seen = 0;
    int copies_done = 0;
    const auto period = std::chrono::milliseconds(100);
    auto next_tick = std::chrono::steady_clock::now() + period;
    const int xfd = ConnectionNumber(s.dpy);

    while (!g_quit) {
        while (XPending(s.dpy)) {
            XEvent ev;
            XNextEvent(s.dpy, &ev);
            if (ev.type == Expose) {
                s.put(ev.xexpose.x, ev.xexpose.y, ev.xexpose.width, ev.xexpose.height);
            } else if (ev.type == KeyPress && keylog) {
                char buf[16];
                KeySym ks = NoSymbol;
                XLookupString(&ev.xkey, buf, sizeof buf, &ks, nullptr);
                std::fprintf(keylog, "0x%lx\n", static_cast<unsigned long>(ks));
                std::fflush(keylog);
            }
        }
        int toggles = g_toggles;
        if (toggles != toggles_seen) {
            if ((toggles - toggles_seen) % 2) animating = !animating;
            toggles_seen = toggles;
            XSync(s.dpy, False);
            write_ready(opt.ready_file, animating ? "animating" : "frozen", toggles_seen);
        }
        while (copies_done < g_copies) {
            ++copies_done;
            scroll_band(canvas, s, opt.seed, copies_done);
            // Let the server see each copy separately: one merged region is often sent as pixels.
            XSync(s.dpy, False);
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            if (copies_done == g_copies) {
                write_ready(opt.copies_file, "copies", copies_done);
            }
        }
        auto now = std::chrono::steady_clock::now();
        if (animating && now >= next_tick) {
            ++frame;
            counter.draw(canvas, frame);
            s.upload(canvas, counter.x, counter.y, CounterBlock::kSize, CounterBlock::kSize);
            s.put(counter.x, counter.y, CounterBlock::kSize, CounterBlock::kSize);
            XFlush(s.dpy);
            next_tick = now + period;
        }
        int wait_ms = 100;
        if (animating) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now);
            wait_ms = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(100, left.count())));
        }
        pollfd p{xfd, POLLIN, 0};
        poll(&p, 1, wait_ms);
    }

    if (keylog) std::fclose(keylog);
    XDestroyImage(s.img);
    XCloseDisplay(s.dpy);
    return 0;
}
