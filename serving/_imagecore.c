/* serving._imagecore: the per-pixel loops of serving.imageops in C.
 *
 * Preprocessing an image took ~5 ms in numpy, about half of it in these few operations, each a
 * dozen whole-array numpy passes and calls. Here each is one or two passes over the pixels.
 * Every function takes C-contiguous buffers (serving.imageops checks dtypes and makes them
 * contiguous) and writes its result into a buffer the caller allocated; the results equal the
 * numpy definitions bit for bit (tests/serving/test_imageops.py compares them).
 *
 * No numpy headers: the Python buffer protocol is enough, so building needs only a C compiler.
 * The longer loops release the GIL: the service prepares concurrent requests' images in threads.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* --- argument helpers ----------------------------------------------------------------------- */

static int
check_size(Py_buffer *view, Py_ssize_t bytes, const char *name)
{
    if (view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, expected %zd", name, view->len, bytes);
        return 0;
    }
    return 1;
}

/* Parses (values, h, w, out) of a function from h × w values of in_item bytes to h × w of
 * out_item bytes; on failure sets the error, releases what it took and returns 0. */
static int
parse_image(PyObject *args, Py_buffer *in, Py_ssize_t *h, Py_ssize_t *w, Py_buffer *out,
            Py_ssize_t in_item, Py_ssize_t out_item)
{
    if (!PyArg_ParseTuple(args, "y*nnw*", in, h, w, out))
        return 0;
    if (check_size(in, *h * *w * in_item, "values") && check_size(out, *h * *w * out_item, "out"))
        return 1;
    PyBuffer_Release(in);
    PyBuffer_Release(out);
    return 0;
}

/* Parses (labels: int32 [h*w], h, w, count, out: int64 [(count+1)*4]) likewise. */
static int
parse_labels(PyObject *args, Py_buffer *labels, Py_ssize_t *h, Py_ssize_t *w, Py_ssize_t *count,
             Py_buffer *out)
{
    if (!PyArg_ParseTuple(args, "y*nnnw*", labels, h, w, count, out))
        return 0;
    if (check_size(labels, *h * *w * 4, "labels") && check_size(out, (*count + 1) * 4 * 8, "out"))
        return 1;
    PyBuffer_Release(labels);
    PyBuffer_Release(out);
    return 0;
}

/* Releases two buffers and returns `result`. */
static PyObject *
released(PyObject *result, Py_buffer *a, Py_buffer *b)
{
    PyBuffer_Release(a);
    PyBuffer_Release(b);
    return result;
}

/* --- skipping empty stretches -------------------------------------------------------------- */

/* Most pixels of a mask or of a label image are 0. Loops that act on the set ones test SPAN values
 * at a time and skip the stretch when none is set: a per-pixel branch on scattered strokes was
 * mispredicted often enough to cost more than the work. */
enum { SPAN = 16 };

static inline int
zero_bytes(const uint8_t *p) /* SPAN bytes */
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return (a | b) == 0;
}

static inline int
zero_ints(const int32_t *p) /* SPAN int32 */
{
    int32_t any = 0;
    for (int j = 0; j < SPAN; j++)
        any |= p[j];
    return any == 0;
}

/* --- connected components ------------------------------------------------------------------- */

static Py_ssize_t
find_root(Py_ssize_t *parent, Py_ssize_t i)
{
    Py_ssize_t root = i;
    while (parent[root] != root)
        root = parent[root];
    while (parent[i] != root) { /* path compression */
        Py_ssize_t next = parent[i];
        parent[i] = root;
        i = next;
    }
    return root;
}

/* label(mask: uint8 [h*w], h, w, labels: int32 [h*w] out) -> count
 * 8-connected components of the nonzero pixels; labels 1..count in the order of each component's
 * first pixel in row-major order, 0 elsewhere. Works on horizontal runs: a run joins the runs of
 * the row above that it touches (diagonals included), by union-find whose root is the smallest
 * run index. */
static PyObject *
label(PyObject *self, PyObject *args)
{
    Py_buffer mask, out;
    Py_ssize_t h, w;
    if (!parse_image(args, &mask, &h, &w, &out, 1, 4))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t *row_first = PyMem_Malloc((h + 1) * sizeof(Py_ssize_t));
    if (!row_first) {
        PyErr_NoMemory();
        return released(NULL, &mask, &out);
    }
    const uint8_t *m = mask.buf;
    int32_t *labels = out.buf;
    /* Runs grow as they are found (a mask holds a few hundred; room for every possible run was
     * ~400 KB per call, allocated and faulted in each time). malloc, not PyMem: no GIL here. */
    Py_ssize_t capacity = 0, runs = 0;
    Py_ssize_t *start = NULL, *end = NULL, *parent = NULL;
    int32_t *run_label = NULL, count = 0;
    int out_of_memory = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < h && !out_of_memory; y++) {
        row_first[y] = runs;
        const uint8_t *line = m + y * w;
        Py_ssize_t x = 0;
        while (x < w) {
            while (x + SPAN <= w && zero_bytes(line + x))
                x += SPAN;
            while (x < w && !line[x])
                x++;
            if (x == w)
                break;
            Py_ssize_t s = x;
            while (x < w && line[x])
                x++;
            if (runs == capacity) {
                capacity = capacity ? 2 * capacity : 256;
                Py_ssize_t *grown_start = realloc(start, capacity * sizeof(Py_ssize_t));
                start = grown_start ? grown_start : start;
                Py_ssize_t *grown_end = realloc(end, capacity * sizeof(Py_ssize_t));
                end = grown_end ? grown_end : end;
                Py_ssize_t *grown_parent = realloc(parent, capacity * sizeof(Py_ssize_t));
                parent = grown_parent ? grown_parent : parent;
                if (!grown_start || !grown_end || !grown_parent) {
                    out_of_memory = 1;
                    break;
                }
            }
            start[runs] = s;
            end[runs] = x;
            parent[runs] = runs;
            if (y > 0) {
                /* Runs of the row above touching [s, x): start_above <= x and s <= end_above. */
                for (Py_ssize_t j = row_first[y - 1]; j < row_first[y]; j++) {
                    if (start[j] > x)
                        break;
                    if (end[j] < s)
                        continue;
                    Py_ssize_t a = find_root(parent, j), b = find_root(parent, runs);
                    if (a < b)
                        parent[b] = a;
                    else if (b < a)
                        parent[a] = b;
                }
            }
            runs++;
        }
    }
    run_label = out_of_memory ? NULL : malloc((runs > 0 ? runs : 1) * sizeof(int32_t));
    out_of_memory = !run_label;
    if (!out_of_memory) {
        row_first[h] = runs;
        memset(labels, 0, h * w * sizeof(int32_t));
        for (Py_ssize_t i = 0; i < runs; i++) {
            Py_ssize_t root = find_root(parent, i);
            run_label[i] = root == i ? ++count : run_label[root]; /* a root precedes its runs */
        }
        for (Py_ssize_t y = 0; y < h; y++)
            for (Py_ssize_t i = row_first[y]; i < row_first[y + 1]; i++)
                for (Py_ssize_t x = start[i]; x < end[i]; x++)
                    labels[y * w + x] = run_label[i];
    }
    Py_END_ALLOW_THREADS
    result = out_of_memory ? PyErr_NoMemory() : PyLong_FromLong(count);
    free(start);
    free(end);
    free(parent);
    free(run_label);
    PyMem_Free(row_first);
    return released(result, &mask, &out);
}

/* Boxes of labels 0..count as (top, bottom, left, right), exclusive ends: none yet is
 * (max, 0, max, 0), and each pixel (y, x) of a label extends its box. */
static void
empty_boxes(int64_t *box, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i <= count; i++) {
        box[4 * i] = box[4 * i + 2] = INT64_MAX;
        box[4 * i + 1] = box[4 * i + 3] = 0;
    }
}

static inline void
extend_box(int64_t *b, Py_ssize_t y, Py_ssize_t x)
{
    if (y < b[0]) b[0] = y;
    if (y + 1 > b[1]) b[1] = y + 1;
    if (x < b[2]) b[2] = x;
    if (x + 1 > b[3]) b[3] = x + 1;
}

/* boxes(labels: int32 [h*w], h, w, count, out: int64 [(count+1)*4]) -> None
 * (top, bottom, left, right) of each label 1..count, bottom/right exclusive; row 0 and labels
 * without pixels keep (INT64_MAX, 0, INT64_MAX, 0). Labels outside 1..count are ignored. */
static PyObject *
boxes(PyObject *self, PyObject *args)
{
    Py_buffer labels_view, out;
    Py_ssize_t h, w, count;
    if (!parse_labels(args, &labels_view, &h, &w, &count, &out))
        return NULL;
    const int32_t *labels = labels_view.buf;
    int64_t *box = out.buf;
    empty_boxes(box, count);
    for (Py_ssize_t y = 0; y < h; y++) {
        const int32_t *line = labels + y * w;
        for (Py_ssize_t x = 0; x < w; x++) {
            int32_t k = line[x];
            if (k <= 0 || k > count)
                continue;
            extend_box(box + 4 * k, y, x);
        }
    }
    return released(Py_NewRef(Py_None), &labels_view, &out);
}

/* ends(labels: int32 [h*w], h, w, count, out: int64 [(count+1)*4]) -> None
 * Per label 1..count: (row, column) of its leftmost pixel (the topmost of those) and of its
 * rightmost pixel (the bottommost of those); label 0 and labels without pixels get -1s. */
static PyObject *
ends(PyObject *self, PyObject *args)
{
    Py_buffer labels_view, out;
    Py_ssize_t h, w, count;
    if (!parse_labels(args, &labels_view, &h, &w, &count, &out))
        return NULL;
    const int32_t *labels = labels_view.buf;
    int64_t *e = out.buf;
    for (Py_ssize_t i = 0; i < 4 * (count + 1); i++)
        e[i] = -1;
    for (Py_ssize_t y = 0; y < h; y++)
        for (Py_ssize_t x = 0; x < w; x++) {
            int32_t k = labels[y * w + x];
            if (k <= 0 || k > count)
                continue;
            int64_t *end = e + 4 * k;
            if (end[1] < 0 || x < end[1]) { /* rows come in order: the first is the topmost */
                end[0] = y;
                end[1] = x;
            }
            if (x >= end[3]) { /* ... and the last the bottommost */
                end[2] = y;
                end[3] = x;
            }
        }
    return released(Py_NewRef(Py_None), &labels_view, &out);
}

/* run_lengths(mask: uint8 [h*w], h, w, out: int32 [h*w]) -> None
 * For each nonzero pixel, the length of the horizontal run it belongs to; 0 elsewhere. */
static PyObject *
run_lengths(PyObject *self, PyObject *args)
{
    Py_buffer mask, out;
    Py_ssize_t h, w;
    if (!parse_image(args, &mask, &h, &w, &out, 1, 4))
        return NULL;
    const uint8_t *m = mask.buf;
    int32_t *o = out.buf;
    for (Py_ssize_t y = 0; y < h; y++) {
        const uint8_t *line = m + y * w;
        int32_t *dst = o + y * w;
        Py_ssize_t x = 0;
        while (x < w) {
            if (!line[x]) {
                dst[x++] = 0;
                continue;
            }
            Py_ssize_t s = x;
            while (x < w && line[x])
                x++;
            for (Py_ssize_t i = s; i < x; i++)
                dst[i] = (int32_t)(x - s);
        }
    }
    return released(Py_NewRef(Py_None), &mask, &out);
}

/* Set out[i] for the n values m[i] of a row that belong to runs of at most `longest` set values
 * (clear it elsewhere). */
static void
mark_short_runs(const uint8_t *m, uint8_t *out, Py_ssize_t n, Py_ssize_t longest)
{
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + SPAN <= n && zero_bytes(m + i)) {
            memset(out + i, 0, SPAN);
            i += SPAN;
            continue;
        }
        if (!m[i]) {
            out[i++] = 0;
            continue;
        }
        Py_ssize_t s = i;
        while (i < n && m[i])
            i++;
        memset(out + s, i - s <= longest, i - s);
    }
}

/* The passes of mark_short_columns, each along one row. */
static void
carry_run_totals(const uint8_t *restrict row, const uint8_t *restrict below,
                 const uint16_t *restrict total_below, uint16_t *restrict cur, Py_ssize_t w)
{
    for (Py_ssize_t x = 0; x < w; x++) {
        uint16_t joined = (uint16_t)-(uint16_t)((row[x] != 0) & (below[x] != 0)); /* all ones */
        cur[x] = (uint16_t)((total_below[x] & joined) | (cur[x] & ~joined));
    }
}

static void
mark_short_totals(const uint8_t *restrict row, const uint16_t *restrict total, uint16_t most,
                  uint8_t *restrict out, Py_ssize_t w)
{
    for (Py_ssize_t x = 0; x < w; x++)
        out[x] = (uint8_t)((row[x] != 0) & (total[x] <= most));
}

static void
count_down(const uint8_t *restrict row, const uint16_t *restrict prev, uint16_t *restrict cur,
           Py_ssize_t w)
{
    for (Py_ssize_t x = 0; x < w; x++) {
        uint16_t set = (uint16_t)-(uint16_t)(row[x] != 0);
        cur[x] = (uint16_t)((prev[x] + (prev[x] < 65535)) & set);
    }
}

/* Vertical runs row by row rather than column by column (a column's pixels are a row apart):
 * down from the top, each pixel's count of set pixels from its run's start (`above`, saturating
 * at 65535, more than any image's height), then up from the bottom, each run's total, carried up
 * from its last pixel; out = set pixels whose run's total is at most `longest`. Each pass is a
 * branch-free loop along a row, which the compiler vectorises. */
static void
mark_short_columns(const uint8_t *m, Py_ssize_t h, Py_ssize_t w, Py_ssize_t longest,
                   uint16_t *above, uint8_t *out)
{
    const uint16_t most = longest < 65535 ? (uint16_t)longest : 65535;
    for (Py_ssize_t x = 0; x < w; x++)
        above[x] = m[x] ? 1 : 0;
    for (Py_ssize_t y = 1; y < h; y++)
        count_down(m + y * w, above + (y - 1) * w, above + y * w, w);
    /* Bottom-up, `above` becomes each run's total: a pixel whose lower neighbour is set takes
     * that neighbour's total (already final), the run's last pixel keeps its own count. */
    mark_short_totals(m + (h - 1) * w, above + (h - 1) * w, most, out + (h - 1) * w, w);
    for (Py_ssize_t y = h - 2; y >= 0; y--) {
        carry_run_totals(m + y * w, m + (y + 1) * w, above + (y + 1) * w, above + y * w, w);
        mark_short_totals(m + y * w, above + y * w, most, out + y * w, w);
    }
}

/* short_runs(mask: uint8 [h*w], h, w, longest, down: uint8 [h*w], across: uint8 [h*w]) -> None
 * The mask's pixels whose vertical run (down) or horizontal run (across) holds at most `longest`
 * pixels: mask & (run length <= longest), both ways in one call. */
static PyObject *
short_runs(PyObject *self, PyObject *args)
{
    Py_buffer mask, down, across;
    Py_ssize_t h, w, longest;
    if (!PyArg_ParseTuple(args, "y*nnnw*w*", &mask, &h, &w, &longest, &down, &across))
        return NULL;
    PyObject *result = NULL;
    if (!check_size(&mask, h * w, "mask") || !check_size(&down, h * w, "down")
            || !check_size(&across, h * w, "across"))
        goto done;
    const uint8_t *m = mask.buf;
    uint16_t *above = NULL;
    if (h > 0 && w > 0 && !(above = PyMem_Malloc(h * w * sizeof(uint16_t)))) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < h; y++)
        mark_short_runs(m + y * w, (uint8_t *)across.buf + y * w, w, longest);
    if (h > 0 && w > 0)
        mark_short_columns(m, h, w, longest, above, down.buf);
    Py_END_ALLOW_THREADS
    PyMem_Free(above);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&mask);
    PyBuffer_Release(&down);
    PyBuffer_Release(&across);
    return result;
}

/* One row of `boundary`: the set pixels of `row` with a 4-neighbour that is not set or lies
 * outside the image (`up` and `down` are the rows around it, NULL beyond the image), tested
 * without branches so that the loop vectorises. Returns how many it set. */
static Py_ssize_t
boundary_row(const uint8_t *restrict row, const uint8_t *restrict up,
             const uint8_t *restrict down, uint8_t *restrict out, Py_ssize_t w)
{
    Py_ssize_t found = 0;
    if (!up || !down || w < 3) {
        for (Py_ssize_t x = 0; x < w; x++) {
            int inside = up && down && x > 0 && x < w - 1 && up[x] && down[x] && row[x - 1]
                         && row[x + 1];
            out[x] = row[x] && !inside;
            found += out[x];
        }
        return found;
    }
    out[0] = row[0] != 0;
    out[w - 1] = row[w - 1] != 0;
    found = out[0] + out[w - 1];
    for (Py_ssize_t x = 1; x < w - 1; x++) {
        uint8_t inside = (up[x] != 0) & (down[x] != 0) & (row[x - 1] != 0) & (row[x + 1] != 0);
        out[x] = (uint8_t)((row[x] != 0) & !inside);
        found += out[x];
    }
    return found;
}

/* boundary(mask: uint8 [h*w], h, w, out: uint8 [h*w]) -> number of boundary pixels
 * The nonzero pixels with a 4-neighbour that is zero or outside the image. */
static PyObject *
boundary(PyObject *self, PyObject *args)
{
    Py_buffer mask, out;
    Py_ssize_t h, w;
    if (!parse_image(args, &mask, &h, &w, &out, 1, 1))
        return NULL;
    const uint8_t *m = mask.buf;
    uint8_t *o = out.buf;
    Py_ssize_t found = 0;
    for (Py_ssize_t y = 0; y < h; y++)
        found += boundary_row(m + y * w, y > 0 ? m + (y - 1) * w : NULL,
                              y < h - 1 ? m + (y + 1) * w : NULL, o + y * w, w);
    return released(PyLong_FromSsize_t(found), &mask, &out);
}

/* mask_groups(labels: int32 [h*w] (in place), mask: uint8 [h*w], h, w, count,
 *             pixels: int64 [count+1], edges: int64 [count+1], boxes: int64 [(count+1)*4]) -> None
 * Labels of a grown mask (its strokes joined) kept where `mask` is set and zeroed elsewhere; per
 * label 1..count, its pixels left, those on the boundary of `mask` (a 4-neighbour outside it or
 * the image), and their box (top, bottom, left, right; exclusive ends); label 0 counts nothing
 * and has the box (max, 0, max, 0), as `boxes`. One pass for what took three. */
static PyObject *
mask_groups(PyObject *self, PyObject *args)
{
    Py_buffer labels_view, mask_view, pixels_view, edges_view, boxes_view;
    Py_ssize_t h, w, count;
    if (!PyArg_ParseTuple(args, "w*y*nnnw*w*w*", &labels_view, &mask_view, &h, &w, &count,
                          &pixels_view, &edges_view, &boxes_view))
        return NULL;
    PyObject *result = NULL;
    uint8_t *edge_row = NULL; /* one row's boundary pixels */
    if (!check_size(&labels_view, h * w * 4, "labels") || !check_size(&mask_view, h * w, "mask")
            || !check_size(&pixels_view, (count + 1) * 8, "pixels")
            || !check_size(&edges_view, (count + 1) * 8, "edges")
            || !check_size(&boxes_view, (count + 1) * 4 * 8, "boxes"))
        goto done;
    edge_row = PyMem_Malloc(w > 0 ? w : 1);
    if (!edge_row) {
        PyErr_NoMemory();
        goto done;
    }
    int32_t *labels = labels_view.buf;
    const uint8_t *m = mask_view.buf;
    int64_t *pixels = pixels_view.buf, *edges = edges_view.buf, *box = boxes_view.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(pixels, 0, (count + 1) * 8);
    memset(edges, 0, (count + 1) * 8);
    empty_boxes(box, count);
    for (Py_ssize_t y = 0; y < h; y++) {
        const uint8_t *up = y > 0 ? m + (y - 1) * w : NULL;
        const uint8_t *down = y < h - 1 ? m + (y + 1) * w : NULL;
        boundary_row(m + y * w, up, down, edge_row, w);
        for (Py_ssize_t x = 0; x < w; x++) {
            Py_ssize_t i = y * w + x;
            if (x % SPAN == 0 && x + SPAN <= w && zero_bytes(m + i)) {
                memset(labels + i, 0, SPAN * sizeof(int32_t));
                x += SPAN - 1;
                continue;
            }
            if (!m[i]) {
                labels[i] = 0;
                continue;
            }
            int32_t k = labels[i];
            if (k <= 0 || k > count)
                continue;
            pixels[k]++;
            edges[k] += edge_row[x];
            extend_box(box + 4 * k, y, x);
        }
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(edge_row);
    PyBuffer_Release(&labels_view);
    PyBuffer_Release(&mask_view);
    PyBuffer_Release(&pixels_view);
    PyBuffer_Release(&edges_view);
    PyBuffer_Release(&boxes_view);
    return result;
}

/* surround_shares(labels: int32 [h*w], near: [h*w] of near_kind ('B' uint8, 'i' int32),
 *                 near_kind, covered: uint8 [h*w], tone: float32 [h*w], contrast: float32 [h*w],
 *                 h, w, count, ink: int64 [count+1], way: float, shares: float64 [count+1] out)
 *                 -> None
 * Per label, the share of its surroundings (pixels with near = the label, not covered) whose tone
 * is above paper + way (level - paper), where paper = tone - contrast (in float32, as numpy), and
 * level and paper are the label's mean tone and paper over its own pixels (sums over max(ink, 1)
 * pixels); 0 without surroundings. Sums run in double in row-major order, as numpy's bincount
 * does. */
static PyObject *
surround_shares(PyObject *self, PyObject *args)
{
    Py_buffer labels_view, near_view, covered_view, tone_view, contrast_view, ink_view, out;
    Py_ssize_t h, w, count;
    int near_kind;
    double way;
    if (!PyArg_ParseTuple(args, "y*y*Cy*y*y*nnny*dw*", &labels_view, &near_view, &near_kind,
                          &covered_view, &tone_view, &contrast_view, &h, &w, &count, &ink_view,
                          &way, &out))
        return NULL;
    PyObject *result = NULL;
    double *level = NULL, *under = NULL, *dark = NULL, *around = NULL;
    Py_ssize_t n = h * w;
    if (near_kind != 'B' && near_kind != 'i') {
        PyErr_Format(PyExc_ValueError, "unknown element kind %c", near_kind);
        goto done;
    }
    if (!check_size(&labels_view, n * 4, "labels")
            || !check_size(&near_view, n * (near_kind == 'B' ? 1 : 4), "near")
            || !check_size(&covered_view, n, "covered") || !check_size(&tone_view, n * 4, "tone")
            || !check_size(&contrast_view, n * 4, "contrast")
            || !check_size(&ink_view, (count + 1) * 8, "ink")
            || !check_size(&out, (count + 1) * 8, "shares"))
        goto done;
    level = PyMem_Calloc(count + 1, sizeof(double));
    under = PyMem_Calloc(count + 1, sizeof(double));
    dark = PyMem_Calloc(count + 1, sizeof(double));
    around = PyMem_Calloc(count + 1, sizeof(double));
    if (!level || !under || !dark || !around) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *labels = labels_view.buf;
    const uint8_t *covered = covered_view.buf;
    const float *tone = tone_view.buf, *contrast = contrast_view.buf;
    const int64_t *ink = ink_view.buf;
    double *shares = out.buf;
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *near_bytes = near_view.buf;
    const int32_t *near_ints = near_view.buf;
    for (Py_ssize_t start = 0; start < n; start += SPAN) {
        Py_ssize_t end = start + SPAN < n ? start + SPAN : n;
        if (end - start == SPAN && zero_ints(labels + start))
            continue;
        for (Py_ssize_t i = start; i < end; i++) {
            int32_t k = labels[i];
            if (k > 0 && k <= count) {
                level[k] += tone[i];
                under[k] += tone[i] - contrast[i];
            }
        }
    }
    for (Py_ssize_t k = 0; k <= count; k++) {
        double weight = (double)(ink[k] > 1 ? ink[k] : 1);
        level[k] /= weight;
        under[k] /= weight;
    }
    for (Py_ssize_t start = 0; start < n; start += SPAN) {
        Py_ssize_t end = start + SPAN < n ? start + SPAN : n;
        if (end - start == SPAN && (near_kind == 'B' ? zero_bytes(near_bytes + start)
                                                    : zero_ints(near_ints + start)))
            continue;
        for (Py_ssize_t i = start; i < end; i++) {
            int32_t k = near_kind == 'B' ? near_bytes[i] : near_ints[i];
            if (k <= 0 || k > count || covered[i])
                continue;
            around[k] += 1.0;
            dark[k] += (double)tone[i] > under[k] + way * (level[k] - under[k]);
        }
    }
    for (Py_ssize_t k = 0; k <= count; k++)
        shares[k] = dark[k] / (around[k] > 1.0 ? around[k] : 1.0);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(level);
    PyMem_Free(under);
    PyMem_Free(dark);
    PyMem_Free(around);
    PyBuffer_Release(&labels_view);
    PyBuffer_Release(&near_view);
    PyBuffer_Release(&covered_view);
    PyBuffer_Release(&tone_view);
    PyBuffer_Release(&contrast_view);
    PyBuffer_Release(&ink_view);
    PyBuffer_Release(&out);
    return result;
}

/* --- rank filters --------------------------------------------------------------------------- */

/* "Valid" size-wide min or max along one axis. Vertical: `rows` rows of `width` in, rows - size + 1
 * rows out; horizontal: rows of `width` in, of width - size + 1 out. By doubling: the best of
 * windows of 2, 4, 8... values, each from two of the level below, then the window of `size` from
 * two overlapping windows of the largest power of two within it: ceil(log2(size)) + 1 passes
 * instead of size - 1, each a loop along contiguous memory that the compiler vectorises (van
 * Herk's three comparisons per value, whatever the size, measured slower here: its running
 * extremes are not vectorised). Levels alternate between two scratch buffers: the vertical pass
 * works in strips of RANK_STRIP_BYTES, so that they stay small (allocations past 128 KB are mapped
 * afresh on every call, which cost more than the filter), the horizontal one a row at a time. */
#define RANK_STRIP_BYTES 128
#define RANK_PASSES(T, NAME, BETTER)                                                             \
    static void NAME##_pair(const T *a, const T *b, T *restrict dst, Py_ssize_t n)              \
    {                                                                                           \
        for (Py_ssize_t i = 0; i < n; i++)                                                      \
            dst[i] = BETTER(b[i], a[i]) ? b[i] : a[i];                                          \
    }                                                                                           \
    static void NAME##_vertical(const T *in, T *out, T *scratch, Py_ssize_t rows,               \
                                Py_ssize_t width, Py_ssize_t size)                              \
    {                                                                                           \
        const Py_ssize_t strip = RANK_STRIP_BYTES / (Py_ssize_t)sizeof(T);                      \
        for (Py_ssize_t x0 = 0; x0 < width; x0 += strip) {                                      \
            Py_ssize_t w = width - x0 < strip ? width - x0 : strip;                             \
            const T *cur = in + x0;                                                             \
            Py_ssize_t stride = width, span = 1;                                                \
            for (int level = 0; 2 * span <= size; level++, span *= 2) {                         \
                T *next = scratch + (level % 2) * rows * strip;                                 \
                for (Py_ssize_t y = 0; y + 2 * span <= rows; y++)                               \
                    NAME##_pair(cur + y * stride, cur + (y + span) * stride, next + y * strip, w); \
                cur = next;                                                                     \
                stride = strip;                                                                 \
            }                                                                                   \
            for (Py_ssize_t y = 0; y + size <= rows; y++)                                       \
                NAME##_pair(cur + y * stride, cur + (y + size - span) * stride,                 \
                            out + y * width + x0, w);                                           \
        }                                                                                       \
    }                                                                                           \
    static void NAME##_horizontal(const T *in, T *out, T *scratch, Py_ssize_t rows,             \
                                  Py_ssize_t width, Py_ssize_t size)                            \
    {                                                                                           \
        Py_ssize_t narrow = width - size + 1;                                                   \
        for (Py_ssize_t y = 0; y < rows; y++) {                                                 \
            const T *cur = in + y * width;                                                      \
            Py_ssize_t span = 1;                                                                \
            for (int level = 0; 2 * span <= size; level++, span *= 2) {                         \
                T *next = scratch + (level % 2) * width;                                        \
                NAME##_pair(cur, cur + span, next, width - 2 * span + 1);                       \
                cur = next;                                                                     \
            }                                                                                   \
            NAME##_pair(cur, cur + size - span, out + y * narrow, narrow);                      \
        }                                                                                       \
    }

#define LESS(a, b) ((a) < (b))
#define MORE(a, b) ((a) > (b))
RANK_PASSES(uint8_t, min_u8, LESS)
RANK_PASSES(uint8_t, max_u8, MORE)
RANK_PASSES(int32_t, min_i32, LESS)
RANK_PASSES(int32_t, max_i32, MORE)
RANK_PASSES(float, min_f32, LESS)
RANK_PASSES(float, max_f32, MORE)
RANK_PASSES(double, min_f64, LESS)
RANK_PASSES(double, max_f64, MORE)

/* The max of uint8 values over the small windows of masks and labels (3 to 9 px): each output the
 * max of its window read directly, the window's size a constant so that the loop vectorises whole;
 * a pass per doubling level cost more in per-row overhead than it saved. Across: `rows` rows of
 * `width` in, of width - size + 1 out (step 1); down: rows - size + 1 rows out (step width). */
static inline void
max_u8_window(const uint8_t *restrict in, uint8_t *restrict out, Py_ssize_t out_rows,
              Py_ssize_t out_width, Py_ssize_t in_width, Py_ssize_t step, const int size)
{
    for (Py_ssize_t y = 0; y < out_rows; y++) {
        const uint8_t *first = in + y * in_width;
        uint8_t *o = out + y * out_width;
        for (Py_ssize_t x = 0; x < out_width; x++) {
            uint8_t best = first[x];
            for (int k = 1; k < size; k++)
                best = first[x + k * step] > best ? first[x + k * step] : best;
            o[x] = best;
        }
    }
}

/* Either pass of a small uint8 max filter, or 0 when `size` is not one of the small windows. */
static int
max_u8_small(const void *in, void *out, Py_ssize_t rows, Py_ssize_t width, Py_ssize_t size,
             int across)
{
    Py_ssize_t out_rows = across ? rows : rows - size + 1;
    Py_ssize_t out_width = across ? width - size + 1 : width, step = across ? 1 : width;
    switch (size) {
    case 3: max_u8_window(in, out, out_rows, out_width, width, step, 3); return 1;
    case 5: max_u8_window(in, out, out_rows, out_width, width, step, 5); return 1;
    case 7: max_u8_window(in, out, out_rows, out_width, width, step, 7); return 1;
    case 9: max_u8_window(in, out, out_rows, out_width, width, step, 9); return 1;
    default: return 0;
    }
}

static void
max_u8_horizontal_small(const void *in, void *out, void *scratch, Py_ssize_t rows,
                        Py_ssize_t width, Py_ssize_t size)
{
    if (!max_u8_small(in, out, rows, width, size, 1))
        max_u8_horizontal(in, out, scratch, rows, width, size);
}

static void
max_u8_vertical_small(const void *in, void *out, void *scratch, Py_ssize_t rows,
                      Py_ssize_t width, Py_ssize_t size)
{
    if (!max_u8_small(in, out, rows, width, size, 0))
        max_u8_vertical(in, out, scratch, rows, width, size);
}

typedef void (*pass_fn)(const void *, void *, void *, Py_ssize_t, Py_ssize_t, Py_ssize_t);

/* Copy h × w values of `item` bytes into (h + 2·lead) × (w + 2·lead), edges repeated. */
static void
grow_edges(const char *in, char *out, Py_ssize_t h, Py_ssize_t w, Py_ssize_t lead, Py_ssize_t item)
{
    Py_ssize_t gw = w + 2 * lead;
    for (Py_ssize_t y = 0; y < h + 2 * lead; y++) {
        Py_ssize_t from = y < lead ? 0 : (y - lead >= h ? h - 1 : y - lead);
        const char *src = in + from * w * item;
        char *dst = out + y * gw * item;
        for (Py_ssize_t x = 0; x < lead; x++) {
            memcpy(dst + x * item, src, item);
            memcpy(dst + (lead + w + x) * item, src + (w - 1) * item, item);
        }
        memcpy(dst + lead * item, src, w * item);
    }
}

/* rank(values [h*w], kind, h, w, size, is_max, lead, out) -> None
 * A size × size min or max of the image grown by `lead` px on every side (its edges repeated;
 * lead = 0: "valid"): out holds (h + 2·lead - size + 1) × (w + 2·lead - size + 1) values. kind is
 * the element type: 'B' uint8, 'i' int32, 'f' float32, 'd' float64. */
static PyObject *
rank(PyObject *self, PyObject *args)
{
    Py_buffer values, out;
    int kind, is_max;
    Py_ssize_t h, w, size, lead;
    if (!PyArg_ParseTuple(args, "y*Cnnnpnw*", &values, &kind, &h, &w, &size, &is_max, &lead, &out))
        return NULL;
    PyObject *result = NULL;
    char *grown = NULL, *between = NULL, *scratch = NULL;
    pass_fn vertical, horizontal;
    Py_ssize_t item;
    switch (kind) {
    case 'B':
        item = 1;
        vertical = is_max ? max_u8_vertical_small : (pass_fn)min_u8_vertical;
        horizontal = is_max ? max_u8_horizontal_small : (pass_fn)min_u8_horizontal;
        break;
    case 'i':
        item = 4;
        vertical = (pass_fn)(is_max ? max_i32_vertical : min_i32_vertical);
        horizontal = (pass_fn)(is_max ? max_i32_horizontal : min_i32_horizontal);
        break;
    case 'f':
        item = 4;
        vertical = (pass_fn)(is_max ? max_f32_vertical : min_f32_vertical);
        horizontal = (pass_fn)(is_max ? max_f32_horizontal : min_f32_horizontal);
        break;
    case 'd':
        item = 8;
        vertical = (pass_fn)(is_max ? max_f64_vertical : min_f64_vertical);
        horizontal = (pass_fn)(is_max ? max_f64_horizontal : min_f64_horizontal);
        break;
    default:
        PyErr_Format(PyExc_ValueError, "unknown element kind %c", kind);
        goto done;
    }
    Py_ssize_t gh = h + 2 * lead, gw = w + 2 * lead;
    if (lead < 0 || h < 1 || w < 1 || size < 1 || size > gh || size > gw) {
        PyErr_Format(PyExc_ValueError, "window %zd does not fit a %zd × %zd image grown by %zd",
                     size, h, w, lead);
        goto done;
    }
    Py_ssize_t rows = gh - size + 1, cols = gw - size + 1;
    if (!check_size(&values, h * w * item, "values") || !check_size(&out, rows * cols * item, "out"))
        goto done;
    const char *source = values.buf;
    if (lead > 0) {
        grown = PyMem_Malloc(gh * gw * item);
        if (!grown) {
            PyErr_NoMemory();
            goto done;
        }
        source = grown;
    }
    between = PyMem_Malloc(rows * gw * item);
    /* The doubling's levels, two at a time: strips of the vertical pass, rows of the horizontal. */
    Py_ssize_t strips = 2 * gh * RANK_STRIP_BYTES, lines = 2 * gw * item;
    scratch = PyMem_Malloc(strips > lines ? strips : lines);
    if (!between || !scratch) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (lead > 0)
        grow_edges(values.buf, grown, h, w, lead, item);
    vertical(source, between, scratch, gh, gw, size);
    horizontal(between, out.buf, scratch, rows, gw, size);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(grown);
    PyMem_Free(between);
    PyMem_Free(scratch);
    PyBuffer_Release(&values);
    PyBuffer_Release(&out);
    return result;
}

/* mask_box(mask: uint8 [h*w] of 0s and 1s, h, w) -> (top, bottom, left, right) or None
 * The box of the 1s, bottom and right exclusive; None when there is none. */
static PyObject *
mask_box(PyObject *self, PyObject *args)
{
    Py_buffer mask;
    Py_ssize_t h, w;
    if (!PyArg_ParseTuple(args, "y*nn", &mask, &h, &w))
        return NULL;
    if (!check_size(&mask, h * w, "mask")) {
        PyBuffer_Release(&mask);
        return NULL;
    }
    const uint8_t *m = mask.buf;
    Py_ssize_t top = -1, bottom = -1, left = w, right = -1;
    for (Py_ssize_t y = 0; y < h; y++) {  /* bool masks: set pixels are 1s, found by memchr */
        const uint8_t *row = m + y * w;
        const uint8_t *found = w > 0 ? memchr(row, 1, w) : NULL;
        if (!found)
            continue;
        Py_ssize_t first = found - row, last = w - 1;
        while (!row[last])  /* stops at `first` at the latest */
            last--;
        if (top < 0)
            top = y;
        bottom = y;
        if (first < left)
            left = first;
        if (last > right)
            right = last;
    }
    PyBuffer_Release(&mask);
    if (top < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(nnnn)", top, bottom + 1, left, right + 1);
}

/* --- blocks -------------------------------------------------------------------------------- */

/* rows[x] |= row[x] for x < w. */
static void
or_into(uint8_t *restrict rows, const uint8_t *restrict row, Py_ssize_t w)
{
    for (Py_ssize_t x = 0; x < w; x++)
        rows[x] |= row[x];
}

/* out[x] = row[x] & wide[x] for x < w. */
static void
and_into(uint8_t *restrict out, const uint8_t *restrict row, const uint8_t *restrict wide,
         Py_ssize_t w)
{
    for (Py_ssize_t x = 0; x < w; x++)
        out[x] = row[x] & wide[x];
}

/* wide[x] = blocks[x / factor] != 0 for x < bw × factor. */
static void
widen(uint8_t *restrict wide, const uint8_t *restrict blocks, Py_ssize_t bw, Py_ssize_t factor)
{
    if (factor == 2) {  /* the line search's case, unrolled */
        for (Py_ssize_t bx = 0; bx < bw; bx++)
            wide[2 * bx] = wide[2 * bx + 1] = blocks[bx] != 0;
        return;
    }
    for (Py_ssize_t bx = 0; bx < bw; bx++)
        for (Py_ssize_t k = 0; k < factor; k++)
            wide[bx * factor + k] = blocks[bx] != 0;
}

/* odd_reflect(values: float32 [h*w], h, w, pad, out: float32 [(h+2·pad)*(w+2·pad)]) -> None
 * The image extended linearly by pad < min(h, w) px on every side: rows first, each new row
 * 2 × the edge row - its mirror image, then the columns of those rows the same way (np.pad's
 * "reflect" with reflect_type "odd"). 2 × v is exact in float32, so each value is rounded once,
 * as numpy rounds it. */
static PyObject *
odd_reflect(PyObject *self, PyObject *args)
{
    Py_buffer values, out;
    Py_ssize_t h, w, pad;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &values, &h, &w, &pad, &out))
        return NULL;
    PyObject *result = NULL;
    if (pad < 1 || pad >= h || pad >= w) {
        PyErr_Format(PyExc_ValueError, "pad %zd must be in [1, min(h, w)) for %zd × %zd", pad, h, w);
        goto done;
    }
    Py_ssize_t gw = w + 2 * pad, gh = h + 2 * pad;
    if (!check_size(&values, h * w * 4, "values") || !check_size(&out, gh * gw * 4, "out"))
        goto done;
    const float *v = values.buf;
    float *o = out.buf;
    for (Py_ssize_t y = 0; y < gh; y++) {
        float *row = o + y * gw + pad;
        if (y < pad) {  /* above: 2 × the first row - row (pad - y) */
            const float *edge = v, *mirror = v + (pad - y) * w;
            for (Py_ssize_t x = 0; x < w; x++)
                row[x] = 2.0f * edge[x] - mirror[x];
        }
        else if (y >= pad + h) {  /* below: 2 × the last row - row (h - 2 - (y - pad - h)) */
            const float *edge = v + (h - 1) * w, *mirror = v + (2 * h + pad - 2 - y) * w;
            for (Py_ssize_t x = 0; x < w; x++)
                row[x] = 2.0f * edge[x] - mirror[x];
        }
        else
            memcpy(row, v + (y - pad) * w, w * sizeof(float));
        for (Py_ssize_t c = 0; c < pad; c++) {
            row[-1 - c] = 2.0f * row[0] - row[1 + c];
            row[w + c] = 2.0f * row[w - 1] - row[w - 2 - c];
        }
    }
    result = Py_NewRef(Py_None);
done:
    return released(result, &values, &out);
}

/* pool_any(mask: uint8 [h*w], h, w, factor, out: uint8 [(h/factor)*(w/factor)]) -> None
 * Whether any pixel of each factor × factor block is set; the rows and columns beyond the last
 * whole block are dropped. */
static PyObject *
pool_any(PyObject *self, PyObject *args)
{
    Py_buffer mask, out;
    Py_ssize_t h, w, factor;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &mask, &h, &w, &factor, &out))
        return NULL;
    PyObject *result = NULL;
    if (factor < 1) {
        PyErr_SetString(PyExc_ValueError, "factor must be >= 1");
        goto done;
    }
    Py_ssize_t bh = h / factor, bw = w / factor;
    if (!check_size(&mask, h * w, "mask") || !check_size(&out, bh * bw, "out"))
        goto done;
    uint8_t *rows = PyMem_Malloc(w > 0 ? w : 1);
    if (!rows) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *m = mask.buf;
    uint8_t *o = out.buf;
    for (Py_ssize_t by = 0; by < bh; by++) {
        memcpy(rows, m + by * factor * w, w);  /* the block row's rows ORed, then each block's */
        for (Py_ssize_t k = 1; k < factor; k++)
            or_into(rows, m + (by * factor + k) * w, w);
        uint8_t *restrict block_row = o + by * bw;
        if (factor == 2)  /* the line search's case, in a form the compiler vectorises */
            for (Py_ssize_t bx = 0; bx < bw; bx++)
                block_row[bx] = (rows[2 * bx] | rows[2 * bx + 1]) != 0;
        else
            for (Py_ssize_t bx = 0; bx < bw; bx++) {
                uint8_t any = 0;
                for (Py_ssize_t k = 0; k < factor; k++)
                    any |= rows[bx * factor + k];
                block_row[bx] = any != 0;
            }
    }
    PyMem_Free(rows);
    result = Py_NewRef(Py_None);
done:
    return released(result, &mask, &out);
}

/* in_blocks(mask: uint8 [h*w], h, w, blocks: uint8 [bh*bw], bh, bw, factor, out: uint8 [h*w])
 * -> None
 * The pixels of mask whose factor × factor block is set in blocks; the rows and columns beyond
 * bh × factor, bw × factor are never set. */
static PyObject *
in_blocks(PyObject *self, PyObject *args)
{
    Py_buffer mask, blocks, out;
    Py_ssize_t h, w, bh, bw, factor;
    if (!PyArg_ParseTuple(args, "y*nny*nnnw*", &mask, &h, &w, &blocks, &bh, &bw, &factor, &out))
        return NULL;
    PyObject *result = NULL;
    if (factor < 1 || bh * factor > h || bw * factor > w) {
        PyErr_SetString(PyExc_ValueError, "blocks must cover at most the mask, factor >= 1");
        goto done;
    }
    if (!check_size(&mask, h * w, "mask") || !check_size(&blocks, bh * bw, "blocks")
            || !check_size(&out, h * w, "out"))
        goto done;
    uint8_t *wide = PyMem_Malloc(bw * factor > 0 ? bw * factor : 1);
    if (!wide) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *m = mask.buf, *b = blocks.buf;
    uint8_t *o = out.buf;
    memset(o, 0, h * w);
    for (Py_ssize_t by = 0; by < bh; by++) {
        widen(wide, b + by * bw, bw, factor);
        for (Py_ssize_t k = 0; k < factor; k++) {
            Py_ssize_t y = by * factor + k;
            and_into(o + y * w, m + y * w, wide, bw * factor);
        }
    }
    PyMem_Free(wide);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&mask);
    PyBuffer_Release(&blocks);
    PyBuffer_Release(&out);
    return result;
}

/* --- blur and histogram --------------------------------------------------------------------- */

/* Row k of an h × w image grown by 2 px on every side, edges repeated (w + 4 values). */
static void
grown_row(const float *in, Py_ssize_t h, Py_ssize_t w, Py_ssize_t k, float *row)
{
    const float *src = in + (k < 2 ? 0 : (k - 2 >= h ? h - 1 : k - 2)) * w;
    row[0] = row[1] = src[0];
    memcpy(row + 2, src, w * sizeof(float));
    row[w + 2] = row[w + 3] = src[w - 1];
}

static void
add_rows(float *restrict sum, const float *restrict p, const float *restrict q, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++)
        sum[x] = p[x] + q[x];
}

/* out[x] = the [1, 1] sums of line[x..x+4] taken four times (the same additions as four
 * passes over the line), scaled: each in registers, as a pass's stores feeding the next pass's
 * loads one value over stalled the passes. */
static void
across_sums(const float *restrict line, float *restrict out, Py_ssize_t w, float scale)
{
    for (Py_ssize_t x = 0; x < w; x++) {
        float a0 = line[x + 1] + line[x], a1 = line[x + 2] + line[x + 1];
        float a2 = line[x + 3] + line[x + 2], a3 = line[x + 4] + line[x + 3];
        float b0 = a1 + a0, b1 = a2 + a1, b2 = a3 + a2;
        float c0 = b1 + b0, c1 = b2 + b1;
        out[x] = (c1 + c0) * scale;
    }
}

/* pair_sums' work: `rows` holds 8 × (w + 4) floats. */
static void
blur_rows(const float *in, Py_ssize_t h, Py_ssize_t w, float *o, float *rows)
{
    const float scale = 1.0f / 256.0f;
    Py_ssize_t gw = w + 4;
    float *grown[2] = {rows, rows + gw}, *once[2] = {rows + 2 * gw, rows + 3 * gw};
    float *twice[2] = {rows + 4 * gw, rows + 5 * gw}, *thrice[2] = {rows + 6 * gw, rows + 7 * gw};
    for (Py_ssize_t k = 0; k < h + 4; k++) {
        grown_row(in, h, w, k, grown[k & 1]);
        if (k < 1)
            continue;
        add_rows(once[(k - 1) & 1], grown[k & 1], grown[(k - 1) & 1], gw);
        if (k < 2)
            continue;
        add_rows(twice[(k - 2) & 1], once[(k - 1) & 1], once[(k - 2) & 1], gw);
        if (k < 3)
            continue;
        add_rows(thrice[(k - 3) & 1], twice[(k - 2) & 1], twice[(k - 3) & 1], gw);
        if (k < 4)
            continue;
        float *line = grown[(k - 1) & 1]; /* free now: the row down becomes the line across */
        add_rows(line, thrice[(k - 3) & 1], thrice[(k - 4) & 1], gw);
        across_sums(line, o + (k - 4) * w, w, scale);
    }
}

/* pair_sums(values: float32 [h*w], h, w, out: float32 [h*w]) -> None
 * The binomial 5 × 5 blur of an image grown by 2 px on every side (edges repeated): [1, 1] summed
 * four times down, then four times across, then scaled by 1/256, in numpy's order of float32
 * operations. Down, each row's four sums are made as the grown image's rows arrive (two rows of
 * each kind kept, by parity), so every pass is over one row held in cache. */
static PyObject *
pair_sums(PyObject *self, PyObject *args)
{
    Py_buffer values, out;
    Py_ssize_t h, w;
    if (!parse_image(args, &values, &h, &w, &out, 4, 4))
        return NULL;
    PyObject *result = NULL;
    float *rows = NULL;
    Py_ssize_t gw = w + 4;
    if (h < 1 || w < 1) {
        PyErr_SetString(PyExc_ValueError, "an image to blur needs at least one pixel");
        goto done;
    }
    rows = PyMem_Malloc(8 * gw * sizeof(float)); /* the last two grown rows, and of each sum */
    if (!rows) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    blur_rows(values.buf, h, w, out.buf, rows);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(rows);
    PyBuffer_Release(&values);
    PyBuffer_Release(&out);
    return result;
}

/* Quantiles come from a histogram: a value's bin is trunc(clip((v - low) * scale, 0, bins - 1))
 * with scale = bins / (high - low), computed in the values' own precision; NaN counts in bin 0.
 * Bins are found a block at a time (a loop the compiler vectorises), then counted. Neighbouring
 * pixels mostly fall in the same bin: counted in one histogram, each increment waited for the one
 * before through memory. Consecutive values go to LANES histograms (one dependency chain each),
 * summed at the end: the same counts. */
enum { LANES = 2, BLOCK = 512 };
enum { MEDIAN_BINS = 4096 }; /* the histogram of the medians taken in C (serving.imageops.quantiles'
                              * default, which the numpy definitions use) */

static void
bin_floats(const float *v, Py_ssize_t m, double low, double scale, Py_ssize_t bins, int32_t *block)
{
    const float flow = (float)low, fscale = (float)scale, top = (float)(bins - 1);
    for (Py_ssize_t j = 0; j < m; j++) {
        float x = (v[j] - flow) * fscale;
        x = x > 0 ? (x < top ? x : top) : 0;
        block[j] = (int32_t)x;
    }
}

static void
bin_doubles(const double *v, Py_ssize_t m, double low, double scale, Py_ssize_t bins,
            int32_t *block)
{
    const double top = (double)(bins - 1);
    for (Py_ssize_t j = 0; j < m; j++) {
        double x = (v[j] - low) * scale;
        x = x > 0 ? (x < top ? x : top) : 0;
        block[j] = (int32_t)x;
    }
}

static void
count_bins(const int32_t *block, Py_ssize_t m, uint32_t *lanes, Py_ssize_t bins)
{
    Py_ssize_t j = 0;
    for (; j + LANES <= m; j += LANES)
        for (int lane = 0; lane < LANES; lane++)
            lanes[lane * bins + block[j + lane]]++;
    for (; j < m; j++)
        lanes[block[j]]++;
}

/* The quantiles at `fractions` of the n values counted in `lanes`, linear inside a bin. */
static void
lane_quantiles(const uint32_t *lanes, Py_ssize_t bins, Py_ssize_t n, double low, double scale,
               const double *fractions, Py_ssize_t wanted, double *q)
{
    for (Py_ssize_t k = 0; k < wanted; k++) {
        double rank = fractions[k] * (double)n;
        /* The first bin whose cumulative count reaches the rank (the last bin at most). */
        Py_ssize_t found = 0;
        int64_t before = 0, here = 0;
        for (;; found++) {
            here = 0;
            for (int lane = 0; lane < LANES; lane++)
                here += lanes[lane * bins + found];
            if (found >= bins - 1 || (double)(before + here) >= rank)
                break;
            before += here;
        }
        double within = (rank - (double)before) / (double)(here > 1 ? here : 1);
        q[k] = low + ((double)found + within) / scale;
    }
}

/* quantiles(values [n], kind, low, high, bins, fractions: float64 [k], out: float64 [k]) -> None
 * Quantiles of values within [low, high] from a histogram of `bins` bins, linear inside a bin
 * (values outside the range count in the end bins); kind 'f' float32, 'd' float64. */
static PyObject *
quantiles(PyObject *self, PyObject *args)
{
    Py_buffer values, fractions_view, out;
    int kind;
    double low, high;
    Py_ssize_t bins;
    if (!PyArg_ParseTuple(args, "y*Cddny*w*", &values, &kind, &low, &high, &bins,
                          &fractions_view, &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *lanes = NULL;
    Py_ssize_t wanted = fractions_view.len / 8;
    if (bins < 1 || !(high > low)) {
        PyErr_SetString(PyExc_ValueError, "quantiles need bins >= 1 and high > low");
        goto done;
    }
    if (kind != 'f' && kind != 'd') {
        PyErr_Format(PyExc_ValueError, "unknown element kind %c", kind);
        goto done;
    }
    if (!check_size(&out, wanted * 8, "out"))
        goto done;
    lanes = PyMem_Calloc(LANES * bins, sizeof(uint32_t));
    if (!lanes) {
        PyErr_NoMemory();
        goto done;
    }
    const double scale = (double)bins / (high - low);
    Py_BEGIN_ALLOW_THREADS
    int32_t block[BLOCK];
    const Py_ssize_t n = values.len / (kind == 'f' ? 4 : 8);
    for (Py_ssize_t start = 0; start < n; start += BLOCK) {
        Py_ssize_t m = n - start < BLOCK ? n - start : BLOCK;
        if (kind == 'f')
            bin_floats((const float *)values.buf + start, m, low, scale, bins, block);
        else
            bin_doubles((const double *)values.buf + start, m, low, scale, bins, block);
        count_bins(block, m, lanes, bins);
    }
    lane_quantiles(lanes, bins, n, low, scale, fractions_view.buf, wanted, out.buf);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(lanes);
    PyBuffer_Release(&values);
    PyBuffer_Release(&fractions_view);
    PyBuffer_Release(&out);
    return result;
}

/* row -= paper, deviation = |row|, and the running maxima of row in PEAK_LANES lanes (value j in
 * lane j % PEAK_LANES): independent maxima, so the loop vectorises (one running maximum is a
 * chain the compiler must keep in order). */
enum { PEAK_LANES = 8 };

static void
less_paper(float *restrict row, Py_ssize_t m, float paper, float *restrict deviation,
           float *restrict peaks)
{
    Py_ssize_t j = 0;
    for (; j + PEAK_LANES <= m; j += PEAK_LANES)
        for (int lane = 0; lane < PEAK_LANES; lane++) {
            float v = row[j + lane] - paper;
            row[j + lane] = v;
            deviation[j + lane] = fabsf(v);
            peaks[lane] = v > peaks[lane] ? v : peaks[lane];
        }
    for (; j < m; j++) {
        float v = row[j] - paper;
        row[j] = v;
        deviation[j] = fabsf(v);
        peaks[0] = v > peaks[0] ? v : peaks[0];
    }
}

/* centred_spread(smooth: float32 [h*w] (in place), h, w, paper, out: float64 [3]) -> None
 * smooth -= paper (in float32, as numpy); out = (the median of |smooth|, that of its middle
 * 60 % × 60 % (rows h/5 to h - h/5, columns likewise), the largest smooth value), the medians as
 * quantiles over [0, 1] in 4096 bins: what find_ink measures the paper's noise and the ink's
 * peak by, in one pass. */
static PyObject *
centred_spread(PyObject *self, PyObject *args)
{
    Py_buffer smooth_view, out;
    Py_ssize_t h, w;
    double paper;
    if (!PyArg_ParseTuple(args, "w*nndw*", &smooth_view, &h, &w, &paper, &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *whole = NULL, *middle = NULL;
    const Py_ssize_t bins = MEDIAN_BINS;
    if (h < 1 || w < 1) {
        PyErr_SetString(PyExc_ValueError, "the spread of an image needs at least one pixel");
        goto done;
    }
    if (!check_size(&smooth_view, h * w * 4, "smooth") || !check_size(&out, 3 * 8, "out"))
        goto done;
    whole = PyMem_Calloc(LANES * bins, sizeof(uint32_t));
    middle = PyMem_Calloc(LANES * bins, sizeof(uint32_t));
    if (!whole || !middle) {
        PyErr_NoMemory();
        goto done;
    }
    float *smooth = smooth_view.buf;
    double *o = out.buf;
    Py_BEGIN_ALLOW_THREADS
    const float fpaper = (float)paper;
    const Py_ssize_t top = h / 5, bottom = h - h / 5, left = w / 5, right = w - w / 5;
    float deviation[BLOCK], peaks[PEAK_LANES];
    for (int lane = 0; lane < PEAK_LANES; lane++)
        peaks[lane] = smooth[0] - fpaper;
    int32_t block[BLOCK];
    for (Py_ssize_t y = 0; y < h; y++)
        for (Py_ssize_t x0 = 0; x0 < w; x0 += BLOCK) {
            Py_ssize_t m = w - x0 < BLOCK ? w - x0 : BLOCK;
            float *row = smooth + y * w + x0;
            less_paper(row, m, fpaper, deviation, peaks);
            bin_floats(deviation, m, 0.0, (double)bins, bins, block);
            count_bins(block, m, whole, bins);
            Py_ssize_t from = left - x0 > 0 ? left - x0 : 0, to = right - x0 < m ? right - x0 : m;
            if (y >= top && y < bottom && to > from)
                count_bins(block + from, to - from, middle, bins);
        }
    const double half = 0.5;
    lane_quantiles(whole, bins, h * w, 0.0, (double)bins, &half, 1, o);
    lane_quantiles(middle, bins, (bottom - top) * (right - left), 0.0, (double)bins, &half, 1,
                   o + 1);
    float peak = peaks[0];
    for (int lane = 1; lane < PEAK_LANES; lane++)
        peak = peaks[lane] > peak ? peaks[lane] : peak;
    o[2] = peak;
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(whole);
    PyMem_Free(middle);
    PyBuffer_Release(&smooth_view);
    PyBuffer_Release(&out);
    return result;
}

/* stroke_ink(ink: float32 [h*w], strokes: uint8 [h*w], near: uint8 [h*w], h, w, noise,
 *            out: float32 [h*w]) -> None
 * A digit's ink scaled to 0–1: level is the median of ink over the strokes (as quantiles over
 * [-1, 1] in 4096 bins), floor = max(2 noise, 0.15 level); out = clip((ink - floor) / max(level
 * - floor, 1e-6), 0, 1) where `near` is set, 0 elsewhere, in float32 as numpy computes it. */
static PyObject *
stroke_ink(PyObject *self, PyObject *args)
{
    Py_buffer ink_view, strokes_view, near_view, out;
    Py_ssize_t h, w;
    double noise;
    if (!PyArg_ParseTuple(args, "y*y*y*nndw*", &ink_view, &strokes_view, &near_view, &h, &w,
                          &noise, &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *lanes = NULL;
    Py_ssize_t n = h * w;
    const Py_ssize_t bins = MEDIAN_BINS;
    if (!check_size(&ink_view, n * 4, "ink") || !check_size(&strokes_view, n, "strokes")
            || !check_size(&near_view, n, "near") || !check_size(&out, n * 4, "out"))
        goto done;
    lanes = PyMem_Calloc(LANES * bins, sizeof(uint32_t));
    if (!lanes) {
        PyErr_NoMemory();
        goto done;
    }
    const float *ink = ink_view.buf;
    const uint8_t *strokes = strokes_view.buf, *near = near_view.buf;
    float *o = out.buf;
    Py_BEGIN_ALLOW_THREADS
    const double low = -1.0, scale = (double)bins / 2.0, half = 0.5;
    float gathered[BLOCK];
    int32_t block[BLOCK];
    Py_ssize_t counted = 0, m = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i % SPAN == 0 && i + SPAN <= n && zero_bytes(strokes + i)) {
            i += SPAN - 1;
            continue;
        }
        if (i < n && strokes[i])
            gathered[m++] = ink[i];
        if (m == BLOCK || (i == n && m > 0)) {
            bin_floats(gathered, m, low, scale, bins, block);
            count_bins(block, m, lanes, bins);
            counted += m;
            m = 0;
        }
    }
    double level;
    lane_quantiles(lanes, bins, counted, low, scale, &half, 1, &level);
    double floor = 2 * noise > 0.15 * level ? 2 * noise : 0.15 * level;
    double span = level - floor > 1e-6 ? level - floor : 1e-6;
    const float ffloor = (float)floor, fspan = (float)span;
    for (Py_ssize_t i = 0; i < n; i++) {
        float v = (ink[i] - ffloor) / fspan;
        v = v < 0 ? 0 : (v > 1 ? 1 : v);
        o[i] = near[i] ? v : 0.0f;
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(lanes);
    PyBuffer_Release(&ink_view);
    PyBuffer_Release(&strokes_view);
    PyBuffer_Release(&near_view);
    PyBuffer_Release(&out);
    return result;
}

/* --- resampling ---------------------------------------------------------------------------- */

enum { BOX = 0, BILINEAR = 1, BICUBIC = 2, LANCZOS = 3 }; /* Pillow's kernels, its numbering */

static double
sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double
kernel(int filter, double x)
{
    switch (filter) {
    case BOX:
        return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
    case BILINEAR: /* a triangle */
        x = x < 0 ? -x : x;
        return x < 1.0 ? 1.0 - x : 0.0;
    case BICUBIC: /* Keys' cubic convolution, a = -0.5 */
        x = x < 0 ? -x : x;
        if (x < 1.0)
            return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1;
        if (x < 2.0)
            return (((x - 5) * x + 8) * x - 4) * -0.5;
        return 0.0;
    default: /* LANCZOS: sinc windowed by a 3-lobe sinc */
        return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
    }
}

static const double SUPPORT[] = {0.5, 1.0, 2.0, 3.0}; /* each kernel's half-width, px */

/* Per output position of one axis: the first input index, how many follow, and their weights
 * (normalised to sum 1) in `weights`, `span` per output. Output pixel centres map to input
 * positions (i + 0.5) · scale; the kernel widens by the scale when shrinking. */
static Py_ssize_t
axis_weights(int filter, Py_ssize_t in_size, Py_ssize_t out_size, Py_ssize_t *first,
             Py_ssize_t *count, double **weights)
{
    double scale = (double)in_size / (double)out_size;
    double widen = scale < 1.0 ? 1.0 : scale;
    double support = SUPPORT[filter] * widen;
    Py_ssize_t span = (Py_ssize_t)ceil(support) * 2 + 1;
    *weights = PyMem_Malloc(out_size * span * sizeof(double));
    if (!*weights)
        return -1;
    for (Py_ssize_t i = 0; i < out_size; i++) {
        double centre = (i + 0.5) * scale;
        Py_ssize_t low = (Py_ssize_t)(centre - support + 0.5), high;
        if (low < 0)
            low = 0;
        high = (Py_ssize_t)(centre + support + 0.5);
        if (high > in_size)
            high = in_size;
        if (high - low > span)
            high = low + span;
        double *w = *weights + i * span, total = 0.0;
        for (Py_ssize_t k = 0; k < high - low; k++) {
            w[k] = kernel(filter, (k + low - centre + 0.5) * (1.0 / widen));
            total += w[k];
        }
        for (Py_ssize_t k = 0; k < high - low; k++)
            w[k] = total != 0.0 ? w[k] / total : 0.0;
        first[i] = low;
        count[i] = high - low;
    }
    return span;
}

/* One resampling pass. Down: `rows` rows of `width` into out_rows rows (whole rows at a time:
 * vectorised). Across: rows of `width` into rows of out_width. Sums in double, as Pillow. */
static void
resample_down(const float *in, Py_ssize_t width, float *out, Py_ssize_t out_rows,
              const Py_ssize_t *first, const Py_ssize_t *count, const double *weights,
              Py_ssize_t span, double *sums)
{
    for (Py_ssize_t y = 0; y < out_rows; y++) {
        const double *k = weights + y * span;
        for (Py_ssize_t x = 0; x < width; x++)
            sums[x] = 0.0;
        for (Py_ssize_t i = 0; i < count[y]; i++) {
            const float *src = in + (first[y] + i) * width;
            for (Py_ssize_t x = 0; x < width; x++)
                sums[x] += src[x] * k[i];
        }
        for (Py_ssize_t x = 0; x < width; x++)
            out[y * width + x] = (float)sums[x];
    }
}

/* Across, four rows at a time: each output's sum is a chain of dependent additions (in Pillow's
 * order), and four rows' chains run side by side. */
static void
resample_across(const float *in, Py_ssize_t rows, Py_ssize_t width, float *out,
                Py_ssize_t out_width, const Py_ssize_t *first, const Py_ssize_t *count,
                const double *weights, Py_ssize_t span)
{
    Py_ssize_t y = 0;
    for (; y + 4 <= rows; y += 4)
        for (Py_ssize_t x = 0; x < out_width; x++) {
            const float *src = in + y * width + first[x];
            const double *k = weights + x * span;
            double sum0 = 0.0, sum1 = 0.0, sum2 = 0.0, sum3 = 0.0;
            for (Py_ssize_t i = 0; i < count[x]; i++) {
                sum0 += src[i] * k[i];
                sum1 += src[width + i] * k[i];
                sum2 += src[2 * width + i] * k[i];
                sum3 += src[3 * width + i] * k[i];
            }
            float *o = out + y * out_width + x;
            o[0] = (float)sum0;
            o[out_width] = (float)sum1;
            o[2 * out_width] = (float)sum2;
            o[3 * out_width] = (float)sum3;
        }
    for (; y < rows; y++)
        for (Py_ssize_t x = 0; x < out_width; x++) {
            const float *src = in + y * width + first[x];
            const double *k = weights + x * span;
            double sum = 0.0;
            for (Py_ssize_t i = 0; i < count[x]; i++)
                sum += src[i] * k[i];
            out[y * out_width + x] = (float)sum;
        }
}

/* resample(values: float32 [h*w], h, w, filter, out: float32 [out_h*out_w], out_h, out_w) -> None
 * The image resized with one of Pillow's kernels (0 box: averaging when shrinking, 1 bilinear,
 * 2 bicubic, 3 Lanczos; each widened by the scale when shrinking), accumulating in double, one
 * pass per axis whose size changes, across first. This is Pillow's resize of a float image
 * without its conversions to and from an Image; Pillow 13 sometimes goes down first, which
 * differs in the last bit of a float32 (tests/serving/test_imageops.py compares them). */
static PyObject *
resample(PyObject *self, PyObject *args)
{
    Py_buffer values, out;
    Py_ssize_t h, w, out_h, out_w;
    int filter;
    if (!PyArg_ParseTuple(args, "y*nniw*nn", &values, &h, &w, &filter, &out, &out_h, &out_w))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t *first_x = NULL, *count_x = NULL, *first_y = NULL, *count_y = NULL;
    double *weights_x = NULL, *weights_y = NULL, *sums = NULL;
    float *between = NULL;
    if (filter < BOX || filter > LANCZOS) {
        PyErr_Format(PyExc_ValueError, "unknown filter %d", filter);
        goto done;
    }
    if (h < 1 || w < 1 || out_h < 1 || out_w < 1) {
        PyErr_SetString(PyExc_ValueError, "images to resample need at least one pixel");
        goto done;
    }
    if (!check_size(&values, h * w * 4, "values") || !check_size(&out, out_h * out_w * 4, "out"))
        goto done;
    first_x = PyMem_Malloc(out_w * sizeof(Py_ssize_t));
    count_x = PyMem_Malloc(out_w * sizeof(Py_ssize_t));
    first_y = PyMem_Malloc(out_h * sizeof(Py_ssize_t));
    count_y = PyMem_Malloc(out_h * sizeof(Py_ssize_t));
    between = PyMem_Malloc(h * out_w * sizeof(float));
    sums = PyMem_Malloc(out_w * sizeof(double));
    if (!first_x || !count_x || !first_y || !count_y || !between || !sums) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t span_x = axis_weights(filter, w, out_w, first_x, count_x, &weights_x);
    Py_ssize_t span_y = axis_weights(filter, h, out_h, first_y, count_y, &weights_y);
    if (span_x < 0 || span_y < 0) {
        PyErr_NoMemory();
        goto done;
    }
    const float *in = values.buf;
    float *o = out.buf;
    int across = out_w != w, down = out_h != h;
    Py_BEGIN_ALLOW_THREADS
    if (across && down) {
        resample_across(in, h, w, between, out_w, first_x, count_x, weights_x, span_x);
        resample_down(between, out_w, o, out_h, first_y, count_y, weights_y, span_y, sums);
    }
    else if (across)
        resample_across(in, h, w, o, out_w, first_x, count_x, weights_x, span_x);
    else if (down)
        resample_down(in, w, o, out_h, first_y, count_y, weights_y, span_y, sums);
    else
        memcpy(o, in, h * w * sizeof(float));
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(first_x);
    PyMem_Free(count_x);
    PyMem_Free(first_y);
    PyMem_Free(count_y);
    PyMem_Free(weights_x);
    PyMem_Free(weights_y);
    PyMem_Free(between);
    PyMem_Free(sums);
    PyBuffer_Release(&values);
    PyBuffer_Release(&out);
    return result;
}

/* --- straight lines ------------------------------------------------------------------------ */

/* The pixels of `thin` (h × w) with column x moved down by shift[x] rows (one tilt, so that
 * lines at that tilt lie along rows) into `band` (rows × w), each row then ORed with the one
 * below (a tilted thin line steps rows, not breaks); returns the most pixels any row holds. */
static Py_ssize_t
shear_band(const uint8_t *thin, Py_ssize_t h, Py_ssize_t w, const int64_t *shift, uint8_t *band,
           Py_ssize_t rows)
{
    Py_ssize_t fullest = 0;
    memset(band, 0, rows * w);
    /* Columns of equal shift move together: one contiguous copy per row and stretch. */
    for (Py_ssize_t x0 = 0, x1; x0 < w; x0 = x1) {
        for (x1 = x0 + 1; x1 < w && shift[x1] == shift[x0]; x1++)
            ;
        for (Py_ssize_t y = 0; y < h; y++) {
            uint8_t *dst = band + (y + shift[x0]) * w;
            const uint8_t *src = thin + y * w;
            for (Py_ssize_t x = x0; x < x1; x++)
                dst[x] = src[x] != 0;
        }
    }
    for (Py_ssize_t r = 0; r < rows; r++) {
        uint8_t *line = band + r * w;
        const uint8_t *below = r + 1 < rows ? line + w : line;
        Py_ssize_t filled = 0;
        for (Py_ssize_t x = 0; x < w; x++) {
            line[x] |= below[x];
            filled += line[x];
        }
        if (filled > fullest)
            fullest = filled;
    }
    return fullest;
}

/* In each row of a shear's band (rows × w), runs with gaps up to `gap` px bridged are lines when
 * at least free_length × w long, or border_length × w long and ending within edge_margin × w of
 * a side. The pixels of `thin` (h × w) whose sheared row, or the row above it, is on a line are
 * set in `out`; `lines` (rows × w) is scratch. */
static void
mark_band_lines(const uint8_t *band, Py_ssize_t rows, Py_ssize_t w, Py_ssize_t gap,
                double free_length, double border_length, double edge_margin,
                const uint8_t *thin, Py_ssize_t h, const int64_t *shift, uint8_t *lines,
                uint8_t *out)
{
    double margin = edge_margin * (double)w;
    memset(lines, 0, rows * w);
    for (Py_ssize_t r = 0; r < rows; r++) {
        const uint8_t *line = band + r * w;
        Py_ssize_t x = 0, first = -1, last = -1; /* the bridged run so far: [first, last) */
        for (;;) {
            while (x + SPAN <= w && zero_bytes(line + x))
                x += SPAN;
            while (x < w && !line[x])
                x++;
            Py_ssize_t start = x;
            while (x < w && line[x])
                x++;
            if (start < w && first >= 0 && start - last <= gap) {
                last = x;
                continue;
            }
            if (first >= 0) {
                Py_ssize_t length = last - first;
                int at_edge = (double)first <= margin || (double)last >= (double)w - margin;
                if ((double)length >= free_length * (double)w
                        || (at_edge && (double)length >= border_length * (double)w))
                    memset(lines + r * w + first, 1, length);
            }
            if (start >= w)
                break;
            first = start;
            last = x;
        }
    }
    for (Py_ssize_t x0 = 0, x1; x0 < w; x0 = x1) { /* stretches of equal shift, as in shear_band */
        for (x1 = x0 + 1; x1 < w && shift[x1] == shift[x0]; x1++)
            ;
        for (Py_ssize_t y = 0; y < h; y++) {
            Py_ssize_t r = y + shift[x0];
            const uint8_t *on = lines + r * w, *above = r > 0 ? on - w : on;
            const uint8_t *src = thin + y * w;
            uint8_t *dst = out + y * w;
            for (Py_ssize_t x = x0; x < x1; x++)
                dst[x] |= (on[x] | above[x]) & (src[x] != 0);
        }
    }
}

/* tilt_shifts(tans: float64 [tilts], tilts, w, out: int64 [tilts*w]) -> None
 * Per tilt k, the rows column x moves down so that lines at that tilt lie along rows:
 * round(x · tans[k]) (halves to even, as numpy), less the least of them (all ≥ 0). */
static PyObject *
tilt_shifts(PyObject *self, PyObject *args)
{
    Py_buffer tans_view, out;
    Py_ssize_t tilts, w;
    if (!PyArg_ParseTuple(args, "y*nnw*", &tans_view, &tilts, &w, &out))
        return NULL;
    if (!check_size(&tans_view, tilts * 8, "tans") || !check_size(&out, tilts * w * 8, "out"))
        return released(NULL, &tans_view, &out);
    const double *tans = tans_view.buf;
    int64_t *shifts = out.buf;
    for (Py_ssize_t k = 0; k < tilts; k++) {
        int64_t *shift = shifts + k * w, least = 0;
        for (Py_ssize_t x = 0; x < w; x++) {
            shift[x] = (int64_t)nearbyint((double)x * tans[k]);
            if (x == 0 || shift[x] < least)
                least = shift[x];
        }
        for (Py_ssize_t x = 0; x < w; x++)
            shift[x] -= least;
    }
    return released(Py_NewRef(Py_None), &tans_view, &out);
}

/* line_search(thin: uint8 [h*w], h, w, gap, tilts, shifts: int64 [tilts*w], rules,
 *             lengths: float64 [rules*3], uses: uint8 [tilts*rules], out: uint8 [rules*h*w]) -> None
 * For each tilt k, `thin` sheared by its column shifts (shifts[k], each ≥ 0), and for each rule r
 * that uses tilt k (uses[k*rules + r]), with lengths[3r..3r+2] = (free_length, border_length,
 * edge_margin): unless no row of the band holds min(free, border) × w pixels with `gap` px to
 * spare, the pixels of thin on the band's lines are set in out[r] (out starts zeroed here). */
static PyObject *
line_search(PyObject *self, PyObject *args)
{
    Py_buffer thin_view, shifts_view, lengths_view, uses_view, out;
    Py_ssize_t h, w, gap, tilts, rules;
    if (!PyArg_ParseTuple(args, "y*nnnny*ny*y*w*", &thin_view, &h, &w, &gap, &tilts,
                          &shifts_view, &rules, &lengths_view, &uses_view, &out))
        return NULL;
    PyObject *result = NULL;
    uint8_t *band = NULL, *lines = NULL;
    if (!check_size(&thin_view, h * w, "thin") || !check_size(&shifts_view, tilts * w * 8, "shifts")
            || !check_size(&lengths_view, rules * 3 * 8, "lengths")
            || !check_size(&uses_view, tilts * rules, "uses")
            || !check_size(&out, rules * h * w, "out"))
        goto done;
    const int64_t *shifts = shifts_view.buf;
    Py_ssize_t most = 0;
    for (Py_ssize_t i = 0; i < tilts * w; i++) {
        if (shifts[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "shifts must be >= 0");
            goto done;
        }
        if (shifts[i] > most)
            most = shifts[i];
    }
    Py_ssize_t capacity = (h + most + 1) * w;
    band = PyMem_Malloc(capacity > 0 ? capacity : 1);
    lines = PyMem_Malloc(capacity > 0 ? capacity : 1);
    if (!band || !lines) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *thin = thin_view.buf, *uses = uses_view.buf;
    const double *lengths = lengths_view.buf;
    uint8_t *marks = out.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(marks, 0, rules * h * w);
    for (Py_ssize_t k = 0; k < tilts; k++) {
        const int64_t *shift = shifts + k * w;
        Py_ssize_t deepest = 0;
        for (Py_ssize_t x = 0; x < w; x++)
            if (shift[x] > deepest)
                deepest = shift[x];
        Py_ssize_t rows = h + deepest + 1;
        Py_ssize_t fullest = shear_band(thin, h, w, shift, band, rows);
        for (Py_ssize_t r = 0; r < rules; r++) {
            double free_length = lengths[3 * r], border_length = lengths[3 * r + 1];
            double shortest = (free_length < border_length ? free_length : border_length) * (double)w;
            if (!uses[k * rules + r] || (double)(fullest + gap) < shortest)
                continue; /* no row holds enough ink for a line (most images: one cheap test) */
            mark_band_lines(band, rows, w, gap, free_length, border_length, lengths[3 * r + 2],
                            thin, h, shift, lines, marks + r * h * w);
        }
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(band);
    PyMem_Free(lines);
    PyBuffer_Release(&thin_view);
    PyBuffer_Release(&shifts_view);
    PyBuffer_Release(&lengths_view);
    PyBuffer_Release(&uses_view);
    PyBuffer_Release(&out);
    return result;
}

/* --- PNG rows ------------------------------------------------------------------------------ */

/* The Paeth predictor without branches (the choice follows noise, which branches mispredict). */
static inline int
paeth(int a, int b, int c)
{
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int nearer = pb <= pc ? b : c, nearest = pb <= pc ? pb : pc;
    return pa <= nearest ? a : nearer;
}

/* A row of Paeth-filtered bytes: each channel of a pixel is a chain through the pixel on its
 * left, so the left and upper-left pixels stay in registers rather than going through memory. */
static inline void
paeth_row(const uint8_t *raw, const uint8_t *up, uint8_t *cur, Py_ssize_t stride, const int bpp)
{
    int left[4] = {0, 0, 0, 0}, upper_left[4] = {0, 0, 0, 0};
    for (Py_ssize_t i = 0; i + bpp <= stride; i += bpp)
        for (int k = 0; k < bpp; k++) {
            int above = up[i + k];
            left[k] = (uint8_t)(raw[i + k] + paeth(left[k], above, upper_left[k]));
            upper_left[k] = above;
            cur[i + k] = (uint8_t)left[k];
        }
}

/* Unfilters one row of `stride` bytes of `bpp`-byte pixels from `raw` into `cur`. Returns 0 for
 * an unknown filter type. */
static int
unfilter_row(int filter, const uint8_t *raw, const uint8_t *up, uint8_t *cur, Py_ssize_t stride,
             Py_ssize_t bpp)
{
    Py_ssize_t first = bpp < stride ? bpp : stride;
    switch (filter) {
    case 0:
        memcpy(cur, raw, stride);
        return 1;
    case 1:
        memcpy(cur, raw, first);
        for (Py_ssize_t i = bpp; i < stride; i++)
            cur[i] = (uint8_t)(raw[i] + cur[i - bpp]);
        return 1;
    case 2:
        for (Py_ssize_t i = 0; i < stride; i++)
            cur[i] = (uint8_t)(raw[i] + up[i]);
        return 1;
    case 3:
        for (Py_ssize_t i = 0; i < first; i++)
            cur[i] = (uint8_t)(raw[i] + (up[i] >> 1));
        for (Py_ssize_t i = bpp; i < stride; i++)
            cur[i] = (uint8_t)(raw[i] + ((cur[i - bpp] + up[i]) >> 1));
        return 1;
    case 4:
        switch (bpp) { /* a constant pixel size keeps the left and upper-left pixels in registers */
        case 1: paeth_row(raw, up, cur, stride, 1); return 1;
        case 2: paeth_row(raw, up, cur, stride, 2); return 1;
        case 3: paeth_row(raw, up, cur, stride, 3); return 1;
        default: paeth_row(raw, up, cur, stride, 4); return 1;
        }
    }
    return 0;
}

/* png_gray(rows: uint8 [h*(1+w*channels)], h, w, channels, out: uint8 [h*w*(2 if alpha)]) -> None
 * The inflated rows of an 8-bit, non-interlaced PNG (a filter byte, then w pixels of 1–4
 * channels: grey, grey+alpha, RGB, RGBA) unfiltered and turned into Pillow's "L" (or "LA") pixels:
 * grey as it is, RGB as Pillow's convert does (299/587/114 in 16-bit fixed point, rounded),
 * alpha interleaved after it. Raises ValueError for an unknown filter type. */
static PyObject *
png_gray(PyObject *self, PyObject *args)
{
    Py_buffer rows_view, out;
    Py_ssize_t h, w, channels;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &rows_view, &h, &w, &channels, &out))
        return NULL;
    PyObject *result = NULL;
    uint8_t *line = NULL;
    Py_ssize_t stride = w * channels, alpha = channels == 2 || channels == 4;
    if (channels < 1 || channels > 4 || h < 1 || w < 1) {
        PyErr_SetString(PyExc_ValueError, "a PNG has at least one pixel of 1 to 4 channels");
        goto done;
    }
    if (!check_size(&rows_view, h * (1 + stride), "rows")
            || !check_size(&out, h * w * (1 + alpha), "out"))
        goto done;
    line = PyMem_Calloc(2 * stride, 1); /* the row above (zeros above the first) and this row */
    if (!line) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *rows = rows_view.buf;
    uint8_t *o = out.buf;
    int bad_filter = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < h; y++) {
        const uint8_t *raw = rows + y * (1 + stride) + 1;
        uint8_t *up = line + (y & 1) * stride, *cur = line + ((y + 1) & 1) * stride;
        if (!unfilter_row(raw[-1], raw, up, cur, stride, channels)) {
            bad_filter = raw[-1];
            break;
        }
        if (channels >= 3)
            for (Py_ssize_t x = 0; x < w; x++) {
                const uint8_t *p = cur + x * channels;
                *o++ = (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
                if (alpha)
                    *o++ = p[3];
            }
        else {
            memcpy(o, cur, stride);
            o += stride;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad_filter >= 0) {
        PyErr_Format(PyExc_ValueError, "unknown PNG filter type %d", bad_filter);
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(line);
    PyBuffer_Release(&rows_view);
    PyBuffer_Release(&out);
    return result;
}

/* --- module --------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"label", label, METH_VARARGS, "8-connected component labels of a uint8 mask (in place)."},
    {"boxes", boxes, METH_VARARGS, "Bounding boxes of labels 1..count (in place)."},
    {"ends", ends, METH_VARARGS, "Leftmost and rightmost pixel of each label."},
    {"run_lengths", run_lengths, METH_VARARGS, "Horizontal run length of each mask pixel."},
    {"short_runs", short_runs, METH_VARARGS, "Mask pixels in short vertical / horizontal runs."},
    {"mask_groups", mask_groups, METH_VARARGS, "Labels within a mask, and each one's pixels, "
     "boundary pixels and box."},
    {"surround_shares", surround_shares, METH_VARARGS, "Share of each label's surroundings "
     "nearly as dark as its ink."},
    {"boundary", boundary, METH_VARARGS, "Mask pixels with a 4-neighbour outside the mask."},
    {"rank", rank, METH_VARARGS, "Size × size min or max filter, edges grown by lead px."},
    {"tilt_shifts", tilt_shifts, METH_VARARGS, "Column shifts that level lines at each tilt."},
    {"line_search", line_search, METH_VARARGS, "Line pixels at several tilts and rules."},
    {"mask_box", mask_box, METH_VARARGS, "Box of a mask's set pixels, or None."},
    {"pool_any", pool_any, METH_VARARGS, "Whether any pixel of each block is set."},
    {"odd_reflect", odd_reflect, METH_VARARGS, "An image extended linearly on every side."},
    {"in_blocks", in_blocks, METH_VARARGS, "The mask's pixels in set blocks."},
    {"pair_sums", pair_sums, METH_VARARGS, "Binomial 5 × 5 blur, edges repeated."},
    {"resample", resample, METH_VARARGS, "A float image resized with one of Pillow's kernels."},
    {"quantiles", quantiles, METH_VARARGS, "Quantiles of values from a histogram."},
    {"centred_spread", centred_spread, METH_VARARGS, "An image less its paper, the median "
     "spread of it and of its middle, and its peak."},
    {"stroke_ink", stroke_ink, METH_VARARGS, "A digit's ink scaled between its floor and level."},
    {"png_gray", png_gray, METH_VARARGS, "An 8-bit PNG's inflated rows as Pillow's L or LA."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_imagecore", "The per-pixel loops of serving.imageops in C.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__imagecore(void)
{
    return PyModule_Create(&module);
}
