/* Number and date formatting for JSONata: $formatNumber (XPath F&O fn:format-number
 * picture strings, ported from jsonata-js), $formatBase, $formatInteger and
 * $parseInteger (decimal, grouping, roman, letters, English words), and the date/time
 * functions $now, $fromMillis and $toMillis with XPath fn:format-dateTime pictures
 * ([Y0001]-[M01]-[D01], names, ordinals, 12-hour clocks, time zones).
 *
 * Dates are computed in UTC with the civil-from-days algorithm (proleptic Gregorian
 * calendar); a time zone argument ("+0100", "-0500") shifts the wall clock. */
#include "jsonata/jsonata_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARG(i) ((i) < n ? a[i] : NULL)

/* ---------------------------------------------------------------- code point strings */

typedef struct cps {
    uint32_t *v;
    size_t n;
} cps;

static cps to_cps(jn_ctx *c, const char *s, size_t len)
{
    cps r = {jn_alloc(c, (len + 1) * sizeof(uint32_t)), 0};
    for (size_t i = 0; i < len;)
        i += jn_utf8_next(s + i, len - i, &r.v[r.n++]);
    return r;
}

static long cps_index(const uint32_t *v, size_t n, uint32_t ch, size_t from)
{
    for (size_t i = from; i < n; i++)
        if (v[i] == ch)
            return (long)i;
    return -1;
}

static long cps_last_index(const uint32_t *v, size_t n, uint32_t ch)
{
    for (size_t i = n; i-- > 0;)
        if (v[i] == ch)
            return (long)i;
    return -1;
}

static size_t cps_count(const uint32_t *v, size_t n, uint32_t ch)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i] == ch;
    return k;
}

/* ---------------------------------------------------------------- $formatNumber */

typedef struct num_props {
    uint32_t decimal, grouping, exponent, percent, permille, zero, digit, pattern;
    const char *minus; /* minus-sign as text */
} num_props;

typedef struct sub_picture {
    const uint32_t *pic;
    size_t n;
    size_t prefix_len, suffix_len;
    const uint32_t *active, *mantissa, *integer, *fraction, *exponent_part;
    size_t active_n, mantissa_n, integer_n, fraction_n, exponent_n;
    bool has_exponent;
} sub_picture;

typedef struct pic_vars {
    long int_groups[32];
    int nint_groups;
    long regular;
    int min_int, scaling, min_frac, max_frac, min_exp;
    long frac_groups[32];
    int nfrac_groups;
    const uint32_t *prefix, *suffix;
    size_t prefix_n, suffix_n;
    bool prefix_minus; /* the second (negative) sub-picture made from the first */
    const uint32_t *pic;
    size_t pic_n;
} pic_vars;

static bool is_digit_family(const num_props *p, uint32_t ch)
{
    return ch >= p->zero && ch < p->zero + 10;
}

static bool is_active(const num_props *p, uint32_t ch)
{
    return is_digit_family(p, ch) || ch == p->decimal || ch == p->exponent || ch == p->grouping ||
           ch == p->digit || ch == p->pattern;
}

static void split_parts(const num_props *p, const uint32_t *pic, size_t n, sub_picture *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->pic = pic;
    sp->n = n;
    size_t i;
    for (i = 0; i < n; i++)
        if (is_active(p, pic[i]) && pic[i] != p->exponent)
            break;
    sp->prefix_len = i;
    size_t j;
    for (j = n; j > 0; j--)
        if (is_active(p, pic[j - 1]) && pic[j - 1] != p->exponent)
            break;
    sp->suffix_len = n - j;
    if (sp->prefix_len > j)
        sp->prefix_len = j;
    sp->active = pic + sp->prefix_len;
    sp->active_n = n - sp->prefix_len - sp->suffix_len;
    long epos = cps_index(pic, n, p->exponent, sp->prefix_len);
    if (epos < 0 || (size_t)epos > n - sp->suffix_len) {
        sp->mantissa = sp->active;
        sp->mantissa_n = sp->active_n;
    } else {
        /* as jsonata-js: positions in the active part use the picture's index */
        size_t mpos = (size_t)epos < sp->active_n ? (size_t)epos : sp->active_n;
        sp->mantissa = sp->active;
        sp->mantissa_n = mpos;
        sp->exponent_part = sp->active + (mpos + 1 <= sp->active_n ? mpos + 1 : sp->active_n);
        sp->exponent_n = mpos + 1 <= sp->active_n ? sp->active_n - mpos - 1 : 0;
        sp->has_exponent = true;
    }
    long dpos = cps_index(sp->mantissa, sp->mantissa_n, p->decimal, 0);
    if (dpos < 0) {
        sp->integer = sp->mantissa;
        sp->integer_n = sp->mantissa_n;
        sp->fraction = pic + n - sp->suffix_len;
        sp->fraction_n = sp->suffix_len;
    } else {
        sp->integer = sp->mantissa;
        sp->integer_n = (size_t)dpos;
        sp->fraction = sp->mantissa + dpos + 1;
        sp->fraction_n = sp->mantissa_n - (size_t)dpos - 1;
    }
}

static const char *validate_parts(const num_props *p, const sub_picture *sp)
{
    const char *error = NULL;
    const uint32_t *pic = sp->pic;
    size_t n = sp->n;
    if (cps_count(pic, n, p->decimal) > 1)
        error = "D3081";
    if (cps_count(pic, n, p->percent) > 1)
        error = "D3082";
    if (cps_count(pic, n, p->permille) > 1)
        error = "D3083";
    if (cps_count(pic, n, p->percent) && cps_count(pic, n, p->permille))
        error = "D3084";
    bool valid = false;
    for (size_t i = 0; i < sp->mantissa_n; i++)
        if (is_digit_family(p, sp->mantissa[i]) || sp->mantissa[i] == p->digit)
            valid = true;
    if (!valid)
        error = "D3085";
    for (size_t i = 0; i < sp->active_n; i++)
        if (!is_active(p, sp->active[i]))
            error = "D3086";
    long dpos = cps_index(pic, n, p->decimal, 0);
    if (dpos >= 0) {
        if ((dpos > 0 && pic[dpos - 1] == p->grouping) ||
            ((size_t)dpos + 1 < n && pic[dpos + 1] == p->grouping))
            error = "D3087";
    } else if (sp->integer_n > 0 && sp->integer[sp->integer_n - 1] == p->grouping) {
        error = "D3088";
    }
    for (size_t i = 0; i + 1 < n; i++)
        if (pic[i] == p->grouping && pic[i + 1] == p->grouping)
            error = "D3089";
    long opt = cps_index(sp->integer, sp->integer_n, p->digit, 0);
    if (opt >= 0)
        for (long i = 0; i < opt; i++)
            if (is_digit_family(p, sp->integer[i]))
                error = "D3090";
    opt = cps_last_index(sp->fraction, sp->fraction_n, p->digit);
    if (opt >= 0)
        for (size_t i = (size_t)opt; i < sp->fraction_n; i++)
            if (is_digit_family(p, sp->fraction[i]))
                error = "D3091";
    if (sp->has_exponent && sp->exponent_n > 0 &&
        (cps_count(pic, n, p->percent) || cps_count(pic, n, p->permille)))
        error = "D3092";
    if (sp->has_exponent) {
        bool bad = sp->exponent_n == 0;
        for (size_t i = 0; i < sp->exponent_n; i++)
            if (!is_digit_family(p, sp->exponent_part[i]))
                bad = true;
        if (bad)
            error = "D3093";
    }
    return error;
}

static int grouping_positions(const num_props *p, const uint32_t *part, size_t n, bool to_left,
                              long *out, int max)
{
    int k = 0;
    long pos = cps_index(part, n, p->grouping, 0);
    while (pos >= 0 && k < max) {
        long count = 0;
        size_t from = to_left ? 0 : (size_t)pos, to = to_left ? (size_t)pos : n;
        for (size_t i = from; i < to; i++)
            if (is_digit_family(p, part[i]) || part[i] == p->digit)
                count++;
        out[k++] = count;
        pos = cps_index(part, n, p->grouping, (size_t)pos + 1);
    }
    return k;
}

static long gcd(long x, long y)
{
    return y == 0 ? x : gcd(y, x % y);
}

static void analyse(const num_props *p, const sub_picture *sp, pic_vars *v)
{
    memset(v, 0, sizeof *v);
    v->nint_groups = grouping_positions(p, sp->integer, sp->integer_n, false, v->int_groups, 32);
    if (v->nint_groups > 0) {
        long factor = v->int_groups[0];
        for (int i = 1; i < v->nint_groups; i++)
            factor = gcd(factor, v->int_groups[i]);
        v->regular = factor;
        for (int i = 1; i <= v->nint_groups && factor; i++) {
            bool present = false;
            for (int k = 0; k < v->nint_groups; k++)
                if (v->int_groups[k] == i * factor)
                    present = true;
            if (!present)
                v->regular = 0;
        }
    }
    v->nfrac_groups = grouping_positions(p, sp->fraction, sp->fraction_n, true, v->frac_groups, 32);
    for (size_t i = 0; i < sp->integer_n; i++)
        v->min_int += is_digit_family(p, sp->integer[i]);
    v->scaling = v->min_int;
    for (size_t i = 0; i < sp->fraction_n; i++) {
        v->min_frac += is_digit_family(p, sp->fraction[i]);
        v->max_frac += is_digit_family(p, sp->fraction[i]) || sp->fraction[i] == p->digit;
    }
    if (v->min_int == 0 && v->max_frac == 0) {
        if (sp->has_exponent) {
            v->min_frac = 1;
            v->max_frac = 1;
        } else {
            v->min_int = 1;
        }
    }
    if (sp->has_exponent && v->min_int == 0 &&
        cps_index(sp->integer, sp->integer_n, p->digit, 0) >= 0)
        v->min_int = 1;
    if (v->min_int == 0 && v->min_frac == 0)
        v->min_frac = 1;
    if (sp->has_exponent)
        for (size_t i = 0; i < sp->exponent_n; i++)
            v->min_exp += is_digit_family(p, sp->exponent_part[i]);
    v->prefix = sp->pic;
    v->prefix_n = sp->prefix_len;
    v->suffix = sp->pic + sp->n - sp->suffix_len;
    v->suffix_n = sp->suffix_len;
    v->pic = sp->pic;
    v->pic_n = sp->n;
}

static uint32_t first_cp(const jn_val *v, uint32_t dflt)
{
    if (!jn_is_str(v) || v->u.str.len == 0)
        return dflt;
    uint32_t cp;
    jn_utf8_next(v->u.str.s, v->u.str.len, &cp);
    return cp;
}

/* The digits of |v| with dp decimals (Number.toFixed), in the zero-digit family. */
static cps fixed_digits(jn_ctx *c, const num_props *p, double v, int dp)
{
    char buf[1024];
    if (dp > 100)
        dp = 100;
    snprintf(buf, sizeof buf, "%.*f", dp, fabs(v));
    cps r = to_cps(c, buf, strlen(buf));
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i] >= '0' && r.v[i] <= '9')
            r.v[i] = p->zero + (r.v[i] - '0');
    return r;
}

static void cps_insert(jn_ctx *c, cps *s, size_t at, uint32_t ch)
{
    uint32_t *v = jn_alloc(c, (s->n + 2) * sizeof *v);
    memcpy(v, s->v, at * sizeof *v);
    v[at] = ch;
    memcpy(v + at + 1, s->v + at, (s->n - at) * sizeof *v);
    s->v = v;
    s->n++;
}

static void sb_cps(jn_sb *b, const uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jn_sb_addcp(b, v[i]);
}

static jn_val *format_number(jn_ctx *c, double value, const jn_val *picture, const jn_val *options)
{
    num_props p = {'.', ',', 'e', '%', 0x2030, '0', '#', ';', "-"};
    if (jn_is_obj(options)) {
        p.decimal = first_cp(jn_obj_get(options, "decimal-separator", 17), p.decimal);
        p.grouping = first_cp(jn_obj_get(options, "grouping-separator", 18), p.grouping);
        p.exponent = first_cp(jn_obj_get(options, "exponent-separator", 18), p.exponent);
        p.percent = first_cp(jn_obj_get(options, "percent", 7), p.percent);
        p.permille = first_cp(jn_obj_get(options, "per-mille", 9), p.permille);
        p.zero = first_cp(jn_obj_get(options, "zero-digit", 10), p.zero);
        p.digit = first_cp(jn_obj_get(options, "digit", 5), p.digit);
        p.pattern = first_cp(jn_obj_get(options, "pattern-separator", 17), p.pattern);
        jn_val *minus = jn_obj_get(options, "minus-sign", 10);
        if (jn_is_str(minus)) {
            char *m = jn_alloc(c, minus->u.str.len + 1);
            memcpy(m, minus->u.str.s, minus->u.str.len);
            p.minus = m;
        }
    }
    cps pic = to_cps(c, picture->u.str.s, picture->u.str.len);
    size_t nsub = cps_count(pic.v, pic.n, p.pattern) + 1;
    if (nsub > 2)
        jn_fail(c, "D3080", -1);
    sub_picture parts[2];
    long sep = cps_index(pic.v, pic.n, p.pattern, 0);
    if (sep < 0) {
        split_parts(&p, pic.v, pic.n, &parts[0]);
    } else {
        split_parts(&p, pic.v, (size_t)sep, &parts[0]);
        split_parts(&p, pic.v + sep + 1, pic.n - (size_t)sep - 1, &parts[1]);
    }
    for (size_t i = 0; i < nsub; i++) {
        const char *err = validate_parts(&p, &parts[i]);
        if (err)
            jn_fail(c, err, -1);
    }
    pic_vars vars[2];
    for (size_t i = 0; i < nsub; i++)
        analyse(&p, &parts[i], &vars[i]);
    if (nsub == 1) {
        vars[1] = vars[0];
        vars[1].prefix_minus = true;
    }
    pic_vars *v = value >= 0 ? &vars[0] : &vars[1];
    double adjusted = value;
    if (cps_index(v->pic, v->pic_n, p.percent, 0) >= 0)
        adjusted = value * 100;
    else if (cps_index(v->pic, v->pic_n, p.permille, 0) >= 0)
        adjusted = value * 1000;
    double mantissa = adjusted;
    long exponent = 0;
    bool has_exponent = v->min_exp != 0;
    if (has_exponent) {
        double max_m = pow(10, v->scaling), min_m = pow(10, v->scaling - 1);
        int guard = 0;
        while (mantissa != 0 && fabs(mantissa) < min_m && guard++ < 400) {
            mantissa *= 10;
            exponent--;
        }
        while (fabs(mantissa) > max_m && guard++ < 800) {
            mantissa /= 10;
            exponent++;
        }
    }
    double rounded = jn_round_half_even(mantissa, v->max_frac);
    cps s = fixed_digits(c, &p, rounded, v->max_frac);
    long dot = cps_index(s.v, s.n, '.', 0);
    if (dot < 0) {
        cps_insert(c, &s, s.n, p.decimal);
    } else {
        s.v[dot] = p.decimal;
    }
    size_t lead = 0;
    while (lead < s.n && s.v[lead] == p.zero)
        lead++;
    s.v += lead;
    s.n -= lead;
    while (s.n > 0 && s.v[s.n - 1] == p.zero)
        s.n--;
    long dpos = cps_index(s.v, s.n, p.decimal, 0);
    long pad_left = v->min_int - dpos;
    long pad_right = v->min_frac - ((long)s.n - dpos - 1);
    for (long i = 0; i < pad_left; i++)
        cps_insert(c, &s, 0, p.zero);
    for (long i = 0; i < pad_right; i++)
        cps_insert(c, &s, s.n, p.zero);
    dpos = cps_index(s.v, s.n, p.decimal, 0);
    if (v->regular > 0) {
        long groups = (dpos - 1) / v->regular;
        for (long g = 1; g <= groups; g++)
            cps_insert(c, &s, (size_t)(dpos - g * v->regular), p.grouping);
    } else {
        for (int g = 0; g < v->nint_groups; g++) {
            long at = dpos - v->int_groups[g];
            if (at >= 0) {
                cps_insert(c, &s, (size_t)at, p.grouping);
                dpos++;
            }
        }
    }
    dpos = cps_index(s.v, s.n, p.decimal, 0);
    for (int g = 0; g < v->nfrac_groups; g++) {
        size_t at = (size_t)(v->frac_groups[g] + dpos + 1);
        if (at <= s.n)
            cps_insert(c, &s, at, p.grouping);
    }
    dpos = cps_index(s.v, s.n, p.decimal, 0);
    if (cps_index(v->pic, v->pic_n, p.decimal, 0) < 0 || dpos == (long)s.n - 1)
        s.n--;
    jn_sb b;
    jn_sb_init(&b, c);
    if (v->prefix_minus)
        jn_sb_adds(&b, p.minus);
    sb_cps(&b, v->prefix, v->prefix_n);
    sb_cps(&b, s.v, s.n);
    if (has_exponent) {
        cps e = fixed_digits(c, &p, (double)exponent, 0);
        jn_sb_addcp(&b, p.exponent);
        if (exponent < 0)
            jn_sb_adds(&b, p.minus);
        for (long i = (long)e.n; i < v->min_exp; i++)
            jn_sb_addcp(&b, p.zero);
        sb_cps(&b, e.v, e.n);
    }
    sb_cps(&b, v->suffix, v->suffix_n);
    return jn_sb_val(&b);
}

jn_val *jn_fn_format_number(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(0) || !ARG(1))
        return NULL;
    return format_number(c, ARG(0)->u.n, ARG(1), ARG(2));
}

/* ---------------------------------------------------------------- $formatBase */

jn_val *jn_fn_format_base(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(0))
        return NULL;
    double v = jn_round_half_even(ARG(0)->u.n, 0);
    double radix = ARG(1) ? jn_round_half_even(ARG(1)->u.n, 0) : 10;
    if (radix < 2 || radix > 36)
        jn_fail_value(c, "D3100", -1, ARG(1));
    int r = (int)radix;
    char buf[1100];
    size_t k = sizeof buf - 1;
    buf[k] = '\0';
    double m = fabs(v);
    do {
        int d = (int)fmod(m, r);
        buf[--k] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        m = floor(m / r);
    } while (m > 0 && k > 1);
    if (v < 0)
        buf[--k] = '-';
    return jn_str0(c, buf + k);
}

/* ---------------------------------------------------------------- integers as words */

static const char *const ONES[] = {"zero",    "one",     "two",       "three",    "four",
                                   "five",    "six",     "seven",     "eight",    "nine",
                                   "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                   "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const TENS[] = {"",      "",      "twenty",  "thirty", "forty",
                                   "fifty", "sixty", "seventy", "eighty", "ninety"};
static const char *const ORD_ONES[] = {
    "zeroth",     "first",     "second",    "third",       "fourth",     "fifth",     "sixth",
    "seventh",    "eighth",    "ninth",     "tenth",       "eleventh",   "twelfth",   "thirteenth",
    "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"};
static const char *const ORD_TENS[] = {"",          "",         "twentieth", "thirtieth",
                                       "fortieth",  "fiftieth", "sixtieth",  "seventieth",
                                       "eightieth", "ninetieth"};
static const char *const SCALES[] = {"thousand", "million", "billion", "trillion"};

static void words(jn_sb *b, unsigned long long v, bool ordinal, bool prev)
{
    if (v <= 19) {
        if (prev)
            jn_sb_adds(b, " and ");
        jn_sb_adds(b, ordinal ? ORD_ONES[v] : ONES[v]);
    } else if (v < 100) {
        if (prev)
            jn_sb_adds(b, " and ");
        unsigned long long t = v / 10, r = v % 10;
        jn_sb_adds(b, ordinal && r == 0 ? ORD_TENS[t] : TENS[t]);
        if (r) {
            jn_sb_addc(b, '-');
            words(b, r, ordinal, false);
        }
    } else if (v < 1000) {
        if (prev)
            jn_sb_adds(b, ", ");
        jn_sb_adds(b, ONES[v / 100]);
        jn_sb_adds(b, " hundred");
        if (v % 100)
            words(b, v % 100, ordinal, true);
        else if (ordinal)
            jn_sb_adds(b, "th");
    } else {
        int mag = 0;
        unsigned long long div = 1000;
        while (mag < 3 && v / div >= 1000) {
            div *= 1000;
            mag++;
        }
        if (prev)
            jn_sb_adds(b, ", ");
        words(b, v / div, false, false);
        jn_sb_addc(b, ' ');
        jn_sb_adds(b, SCALES[mag]);
        if (v % div)
            words(b, v % div, ordinal, true);
        else if (ordinal)
            jn_sb_adds(b, "th");
    }
}

static void roman(jn_sb *b, long v)
{
    static const struct {
        int n;
        const char *s;
    } R[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
             {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        while (v >= R[i].n) {
            jn_sb_adds(b, R[i].s);
            v -= R[i].n;
        }
}

static void letters(jn_sb *b, long v, char base)
{
    char tmp[32];
    int k = 0;
    while (v > 0 && k < 31) {
        v--;
        tmp[k++] = (char)(base + v % 26);
        v /= 26;
    }
    while (k > 0)
        jn_sb_addc(b, tmp[--k]);
}

static const char *ordinal_suffix(long v)
{
    long t = v % 100;
    if (t >= 11 && t <= 13)
        return "th";
    switch (v % 10) {
    case 1:
        return "st";
    case 2:
        return "nd";
    case 3:
        return "rd";
    default:
        return "th";
    }
}

static void apply_case(jn_sb *b, size_t from, int mode)
{
    /* mode 1: UPPER, 2: Title Case, 0: lower */
    bool start = true;
    for (size_t i = from; i < b->len; i++) {
        char ch = b->s[i];
        if (mode == 1 || (mode == 2 && start))
            b->s[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
        start = ch == ' ' || ch == '-';
    }
}

/* Decimal digits with the picture's mandatory digits and grouping separators. */
static void decimal_pattern(jn_sb *b, long v, const char *pic, size_t pn)
{
    int mandatory = 0, optional = 0;
    int seps_at[32];
    char sep_ch[32];
    int nseps = 0, digits_right = 0;
    for (size_t i = pn; i-- > 0;) {
        char ch = pic[i];
        if (ch >= '0' && ch <= '9') {
            mandatory++;
            digits_right++;
        } else if (ch == '#') {
            optional++;
            digits_right++;
        } else if (nseps < 32) {
            seps_at[nseps] = digits_right;
            sep_ch[nseps++] = ch;
        }
    }
    (void)optional;
    if (mandatory > 64)
        mandatory = 64;
    char num[32];
    snprintf(num, sizeof num, "%ld", labs(v));
    int len = (int)strlen(num);
    char digits[96];
    int k = 0;
    for (int i = len; i < mandatory; i++)
        digits[k++] = '0';
    memcpy(digits + k, num, (size_t)len);
    k += len;
    digits[k] = '\0';
    if (v < 0)
        jn_sb_addc(b, '-');
    /* regular grouping repeats the first separator's interval */
    bool regular = nseps > 0 && seps_at[0] > 0;
    for (int i = 1; i < nseps; i++)
        if (seps_at[i] != seps_at[0] * (i + 1) || sep_ch[i] != sep_ch[0])
            regular = false;
    for (int i = 0; i < k; i++) {
        int right = k - i; /* digits from here to the end, this one included */
        jn_sb_addc(b, digits[i]);
        int after = right - 1;
        if (after <= 0)
            continue;
        for (int s = 0; s < nseps; s++) {
            bool at = regular ? after % seps_at[0] == 0 : seps_at[s] == after && after > 0;
            if (at) {
                jn_sb_addc(b, sep_ch[regular ? 0 : s]);
                break;
            }
        }
    }
}

/* $formatInteger presentation of v into b; pic is the primary format token. */
static void format_integer_into(jn_ctx *c, jn_sb *b, long v, const char *pic, size_t pn,
                                bool ordinal)
{
    size_t from = b->len;
    if (pn == 1 && (pic[0] == 'I' || pic[0] == 'i')) {
        roman(b, v);
        apply_case(b, from, pic[0] == 'I' ? 1 : 0);
    } else if (pn == 1 && (pic[0] == 'A' || pic[0] == 'a')) {
        letters(b, v, pic[0]);
    } else if ((pn == 1 && (pic[0] == 'w' || pic[0] == 'W')) ||
               (pn == 2 && pic[0] == 'W' && pic[1] == 'w')) {
        if (v < 0) {
            jn_sb_adds(b, "minus ");
            v = -v;
        }
        words(b, (unsigned long long)v, ordinal, false);
        apply_case(b, from, pn == 2 ? 2 : pic[0] == 'W' ? 1 : 0);
    } else {
        decimal_pattern(b, v, pic, pn);
        if (ordinal)
            jn_sb_adds(b, ordinal_suffix(labs(v)));
    }
    (void)c;
}

/* Splits "pattern;o" into the primary token and the ordinal flag. */
static size_t primary_token(const char *pic, size_t pn, bool *ordinal)
{
    *ordinal = false;
    const char *semi = memchr(pic, ';', pn);
    if (!semi)
        return pn;
    size_t k = (size_t)(semi - pic);
    *ordinal = memchr(semi, 'o', pn - k) != NULL;
    return k;
}

jn_val *jn_fn_format_integer(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(0) || !ARG(1))
        return NULL;
    double v = ARG(0)->u.n;
    if (fabs(v) > 9e15)
        jn_fail_value(c, "D3130", -1, ARG(0));
    jn_sb b;
    jn_sb_init(&b, c);
    bool ordinal;
    size_t pn = primary_token(ARG(1)->u.str.s, ARG(1)->u.str.len, &ordinal);
    format_integer_into(c, &b, (long)floor(v), ARG(1)->u.str.s, pn, ordinal);
    return jn_sb_val(&b);
}

static long word_value(const char *w, size_t n)
{
    for (int i = 0; i < 20; i++)
        if (strlen(ONES[i]) == n && strncasecmp(ONES[i], w, n) == 0)
            return i;
    for (int i = 0; i < 20; i++)
        if (strlen(ORD_ONES[i]) == n && strncasecmp(ORD_ONES[i], w, n) == 0)
            return i;
    for (int i = 2; i < 10; i++)
        if ((strlen(TENS[i]) == n && strncasecmp(TENS[i], w, n) == 0) ||
            (strlen(ORD_TENS[i]) == n && strncasecmp(ORD_TENS[i], w, n) == 0))
            return i * 10;
    if ((n == 7 && strncasecmp(w, "hundred", 7) == 0) ||
        (n == 9 && strncasecmp(w, "hundredth", 9) == 0))
        return 100;
    static const long SC[] = {1000L, 1000000L, 1000000000L, 1000000000000L};
    for (int i = 0; i < 4; i++)
        if (strlen(SCALES[i]) == n && strncasecmp(SCALES[i], w, n) == 0)
            return SC[i];
    return -1;
}

jn_val *jn_fn_parse_integer(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s || !ARG(1))
        return NULL;
    bool ordinal;
    const char *pic = ARG(1)->u.str.s;
    size_t pn = primary_token(pic, ARG(1)->u.str.len, &ordinal);
    const char *t = s->u.str.s;
    size_t tn = s->u.str.len;
    double v = 0;
    if (pn == 1 && (pic[0] == 'I' || pic[0] == 'i')) {
        static const char R[] = "ivxlcdm";
        static const int RV[] = {1, 5, 10, 50, 100, 500, 1000};
        for (size_t i = 0; i < tn; i++) {
            const char *p = strchr(R, t[i] | 32);
            const char *q = i + 1 < tn ? strchr(R, t[i + 1] | 32) : NULL;
            if (!p || !*p)
                return NULL;
            int cur = RV[p - R], next = q && *q ? RV[q - R] : 0;
            v += cur < next ? -cur : cur;
        }
    } else if (pn == 1 && (pic[0] == 'A' || pic[0] == 'a')) {
        for (size_t i = 0; i < tn; i++)
            v = v * 26 + ((t[i] | 32) - 'a' + 1);
    } else if ((pn == 1 && (pic[0] == 'w' || pic[0] == 'W')) || (pn == 2 && pic[0] == 'W')) {
        double total = 0, group = 0;
        for (size_t i = 0; i < tn;) {
            while (i < tn && (t[i] == ' ' || t[i] == '-' || t[i] == ','))
                i++;
            size_t j = i;
            while (j < tn && t[j] != ' ' && t[j] != '-' && t[j] != ',')
                j++;
            if (j == i)
                break;
            if (!(j - i == 3 && strncasecmp(t + i, "and", 3) == 0)) {
                long w = word_value(t + i, j - i);
                if (w < 0)
                    return NULL;
                if (w == 100)
                    group *= 100;
                else if (w >= 1000) {
                    total += group * (double)w;
                    group = 0;
                } else {
                    group += (double)w;
                }
            }
            i = j;
        }
        v = total + group;
    } else {
        bool neg = tn > 0 && t[0] == '-';
        for (size_t i = neg ? 1 : 0; i < tn; i++)
            if (t[i] >= '0' && t[i] <= '9')
                v = v * 10 + (t[i] - '0');
        if (neg)
            v = -v;
    }
    return jn_num(c, v);
}

/* ---------------------------------------------------------------- civil dates */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

typedef struct civil {
    int64_t year;
    int month, day, hour, minute, second, ms;
    int dow; /* 1 Monday .. 7 Sunday */
    int yday;
} civil;

static civil civil_from_ms(double ms)
{
    civil t;
    int64_t total = (int64_t)floor(ms);
    int64_t days = total >= 0 ? total / 86400000 : -((-total + 86399999) / 86400000);
    int64_t rem = total - days * 86400000;
    t.hour = (int)(rem / 3600000);
    t.minute = (int)(rem / 60000 % 60);
    t.second = (int)(rem / 1000 % 60);
    t.ms = (int)(rem % 1000);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    t.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    t.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    t.year = y + (t.month <= 2);
    int64_t wd = (days + 3) % 7; /* 1970-01-01 was a Thursday */
    if (wd < 0)
        wd += 7;
    t.dow = (int)wd + 1;
    t.yday = (int)(days - days_from_civil(t.year, 1, 1)) + 1;
    return t;
}

static const char *const MONTHS[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const DAYS[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                   "Friday", "Saturday", "Sunday"};

/* ISO week: week number and its year. */
static void iso_week(const civil *t, int *week, int64_t *wyear)
{
    int64_t day0 = days_from_civil(t->year, (unsigned)t->month, (unsigned)t->day);
    int64_t thursday = day0 - (t->dow - 1) + 3;
    civil th = civil_from_ms((double)thursday * 86400000.0);
    *wyear = th.year;
    *week = (int)((thursday - days_from_civil(th.year, 1, 1)) / 7) + 1;
}

/* ---------------------------------------------------------------- pictures */

typedef struct marker {
    char component;
    char pres[32]; /* presentation modifier, without the width */
    size_t pres_n;
    int min_width, max_width; /* -1: unbounded */
} marker;

/* Parses the inside of [..] (white space removed). */
static bool parse_marker(const char *s, size_t n, marker *m)
{
    char clean[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof clean - 1; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            clean[k++] = s[i];
    clean[k] = '\0';
    if (k == 0)
        return false;
    memset(m, 0, sizeof *m);
    m->component = clean[0];
    m->min_width = m->max_width = -1;
    const char *comma = strchr(clean + 1, ',');
    size_t pn = comma ? (size_t)(comma - clean - 1) : k - 1;
    if (pn >= sizeof m->pres)
        pn = sizeof m->pres - 1;
    memcpy(m->pres, clean + 1, pn);
    m->pres_n = pn;
    if (comma) {
        const char *w = comma + 1;
        const char *dash = strchr(w, '-');
        if (*w != '*' && *w)
            m->min_width = atoi(w);
        if (dash && dash[1] != '*' && dash[1])
            m->max_width = atoi(dash + 1);
    }
    return true;
}

static const char *default_presentation(char comp)
{
    switch (comp) {
    case 'F':
    case 'P':
    case 'C':
    case 'E':
        return "n";
    case 'm':
    case 's':
        return "01";
    case 'Z':
    case 'z':
        return "01:01";
    default:
        return "1";
    }
}

static void add_name(jn_sb *b, const char *name, const marker *m, const char *pres)
{
    size_t from = b->len;
    size_t len = strlen(name);
    if (m->max_width > 0 && (size_t)m->max_width < len)
        len = (size_t)m->max_width;
    jn_sb_add(b, name, len);
    int mode = pres[0] == 'N' ? (pres[1] == 'n' ? 2 : 1) : 0;
    for (size_t i = from; i < b->len; i++) {
        char ch = b->s[i];
        bool up = mode == 1 || (mode == 2 && i == from);
        b->s[i] = (char)(up ? (ch >= 'a' && ch <= 'z' ? ch - 32 : ch)
                            : (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch));
    }
}

static void add_timezone(jn_sb *b, int offset_min, const char *pres, bool gmt)
{
    size_t pn = strlen(pres);
    bool t_zero = pn > 0 && pres[pn - 1] == 't';
    if (t_zero)
        pn--;
    if (t_zero && offset_min == 0) {
        jn_sb_addc(b, 'Z');
        return;
    }
    if (gmt)
        jn_sb_adds(b, "GMT");
    int h = abs(offset_min) / 60, mi = abs(offset_min) % 60;
    char buf[32];
    int digits = 0;
    bool colon = false;
    for (size_t i = 0; i < pn; i++) {
        if (pres[i] >= '0' && pres[i] <= '9')
            digits++;
        else if (pres[i] == ':')
            colon = true;
    }
    char sign = offset_min < 0 ? '-' : '+';
    if (digits <= 2 && !colon) {
        if (mi)
            snprintf(buf, sizeof buf, "%c%0*d:%02d", sign, digits == 2 ? 2 : 1, h, mi);
        else
            snprintf(buf, sizeof buf, "%c%0*d", sign, digits == 2 ? 2 : 1, h);
    } else if (colon) {
        snprintf(buf, sizeof buf, "%c%02d:%02d", sign, h, mi);
    } else {
        snprintf(buf, sizeof buf, "%c%02d%02d", sign, h, mi);
    }
    jn_sb_adds(b, buf);
}

static void format_component(jn_ctx *c, jn_sb *b, const marker *m, const civil *t, double ms,
                             int offset_min)
{
    const char *pres = m->pres_n ? m->pres : default_presentation(m->component);
    char p[32];
    snprintf(p, sizeof p, "%s", pres);
    size_t pn = strlen(p);
    bool ordinal = false;
    if (pn > 1 && p[pn - 1] == 'o' && p[0] != 'o') {
        ordinal = true;
        p[--pn] = '\0';
    }
    long value = 0;
    const char *name = NULL;
    switch (m->component) {
    case 'Y':
        value = (long)t->year;
        break;
    case 'M':
        value = t->month;
        name = MONTHS[t->month - 1];
        break;
    case 'D':
        value = t->day;
        break;
    case 'd':
        value = t->yday;
        break;
    case 'F':
        value = t->dow;
        name = DAYS[t->dow - 1];
        break;
    case 'W': {
        int week;
        int64_t wy;
        iso_week(t, &week, &wy);
        value = week;
        break;
    }
    case 'X': {
        int week;
        int64_t wy;
        iso_week(t, &week, &wy);
        value = (long)wy;
        break;
    }
    case 'w': {
        int first_dow =
            civil_from_ms((double)days_from_civil(t->year, (unsigned)t->month, 1) * 86400000.0).dow;
        value = (t->day + first_dow - 2) / 7 + (first_dow <= 4 ? 1 : 0);
        if (value == 0)
            value = 5;
        break;
    }
    case 'x':
        value = t->month;
        name = MONTHS[t->month - 1];
        break;
    case 'H':
        value = t->hour;
        break;
    case 'h':
        value = t->hour % 12 == 0 ? 12 : t->hour % 12;
        break;
    case 'P':
        name = t->hour < 12 ? "am" : "pm";
        break;
    case 'm':
        value = t->minute;
        break;
    case 's':
        value = t->second;
        break;
    case 'f': {
        /* the fraction of the second, with the picture's digits */
        int digits = 0;
        for (size_t i = 0; i < pn; i++)
            digits += p[i] >= '0' && p[i] <= '9';
        char frac[8];
        snprintf(frac, sizeof frac, "%03d", t->ms);
        int keep = 3;
        while (keep > digits && frac[keep - 1] == '0')
            keep--;
        if (digits > 3) {
            jn_sb_add(b, frac, 3);
            for (int i = 3; i < digits; i++)
                jn_sb_addc(b, '0');
        } else {
            jn_sb_add(b, frac, (size_t)(keep < digits ? digits : keep));
        }
        return;
    }
    case 'Z':
        add_timezone(b, offset_min, p, false);
        return;
    case 'z':
        add_timezone(b, offset_min, p, true);
        return;
    case 'C':
        jn_sb_adds(b, "ISO");
        return;
    case 'E':
        jn_sb_adds(b, "AD");
        return;
    default: {
        jn_val v = {.kind = JN_STR, .u.str = {&m->component, 1}};
        jn_fail_value(c, "D3132", -1, &v);
    }
    }
    (void)ms;
    if (name && (p[0] == 'N' || p[0] == 'n')) {
        add_name(b, name, m, p);
        return;
    }
    if (name && m->component == 'P') {
        add_name(b, name, m, "n");
        return;
    }
    if ((p[0] == 'N' || p[0] == 'n') && !name) {
        jn_val v = {.kind = JN_STR, .u.str = {&m->component, 1}};
        jn_fail_value(c, "D3133", -1, &v);
    }
    if (m->component == 'Y') {
        int digits = 0;
        for (size_t i = 0; i < pn; i++)
            digits += p[i] >= '0' && p[i] <= '9';
        /* [Y,2] and [Y01] ask for the last two digits */
        if (m->max_width == 2 || (m->max_width < 0 && m->min_width == 2) ||
            (digits == 2 && pn == 2))
            value %= 100;
    }
    size_t from = b->len;
    format_integer_into(c, b, value, p, pn, ordinal);
    /* a minimum width pads decimal output with zeros */
    if (m->min_width > 0 && p[0] >= '0' && p[0] <= '9') {
        size_t len = b->len - from;
        if ((int)len < m->min_width) {
            size_t pad = (size_t)m->min_width - len;
            char *tmp = jn_alloc(c, len + 1);
            memcpy(tmp, b->s + from, len);
            b->len = from;
            for (size_t i = 0; i < pad; i++)
                jn_sb_addc(b, '0');
            jn_sb_add(b, tmp, len);
        }
    }
}

static bool parse_offset(const jn_val *tz, int *minutes)
{
    if (!jn_is_str(tz))
        return false;
    const char *s = tz->u.str.s;
    size_t n = tz->u.str.len;
    if (n < 2 || (s[0] != '+' && s[0] != '-'))
        return false;
    int v = 0, digits = 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == ':')
            continue;
        if (s[i] < '0' || s[i] > '9' || digits >= 4)
            return false;
        v = v * 10 + (s[i] - '0');
        digits++;
    }
    int h = digits <= 2 ? v : v / 100, m = digits <= 2 ? 0 : v % 100;
    *minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
    return true;
}

static jn_val *format_datetime(jn_ctx *c, double ms, const char *pic, size_t pn, const jn_val *tz)
{
    int offset = 0;
    if (tz)
        parse_offset(tz, &offset);
    if (!(fabs(ms) <= 8.64e15)) /* beyond JavaScript's dates */
        return NULL;
    civil t = civil_from_ms(ms + offset * 60000.0);
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < pn;) {
        char ch = pic[i];
        if (ch == '[' && i + 1 < pn && pic[i + 1] == '[') {
            jn_sb_addc(&b, '[');
            i += 2;
        } else if (ch == ']' && i + 1 < pn && pic[i + 1] == ']') {
            jn_sb_addc(&b, ']');
            i += 2;
        } else if (ch == '[') {
            const char *end = memchr(pic + i, ']', pn - i);
            if (!end)
                jn_fail(c, "D3135", -1);
            marker m;
            if (parse_marker(pic + i + 1, (size_t)(end - pic) - i - 1, &m))
                format_component(c, &b, &m, &t, ms, offset);
            i = (size_t)(end - pic) + 1;
        } else {
            jn_sb_addc(&b, ch);
            i++;
        }
    }
    return jn_sb_val(&b);
}

static const char ISO_PICTURE[] = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

jn_val *jn_fn_from_millis(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *ms = ARG(0), *pic = ARG(1), *tz = ARG(2);
    if (!ms)
        return NULL;
    if (!pic)
        return format_datetime(c, ms->u.n, ISO_PICTURE, sizeof ISO_PICTURE - 1, tz);
    return format_datetime(c, ms->u.n, pic->u.str.s, pic->u.str.len, tz);
}

jn_val *jn_fn_now(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *pic = ARG(0), *tz = ARG(1);
    if (!pic)
        return format_datetime(c, c->now_ms, ISO_PICTURE, sizeof ISO_PICTURE - 1, tz);
    return format_datetime(c, c->now_ms, pic->u.str.s, pic->u.str.len, tz);
}

/* ---------------------------------------------------------------- $toMillis */

static int read_int(const char *s, size_t n, size_t *i, int max_digits, long *out)
{
    size_t start = *i;
    long v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9' &&
           (max_digits <= 0 || (int)(*i - start) < max_digits)) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        if (v > 100000000)
            break;
    }
    *out = v;
    return (int)(*i - start);
}

/* ISO 8601 as jsonata-js accepts it (its regular expression, then Date.parse). */
static bool parse_iso(const char *s, size_t n, double *out)
{
    size_t i = 0;
    long y = 0, mo = 1, d = 1, h = 0, mi = 0, se = 0;
    double frac = 0;
    int offset = 0;
    if (read_int(s, n, &i, 4, &y) != 4)
        return false;
    if (i < n && s[i] == '-') {
        i++;
        if (read_int(s, n, &i, 2, &mo) != 2)
            return false;
        if (i < n && s[i] == '-') {
            i++;
            if (read_int(s, n, &i, 2, &d) != 2)
                return false;
        }
    }
    if (i < n && s[i] == 'T') {
        i++;
        if (read_int(s, n, &i, 2, &h) != 2 || i >= n || s[i++] != ':' ||
            read_int(s, n, &i, 2, &mi) != 2 || i >= n || s[i++] != ':' ||
            read_int(s, n, &i, 2, &se) != 2)
            return false;
        if (i < n && s[i] == '.') {
            i++;
            double scale = 0.1;
            size_t start = i;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                frac += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == start)
                return false;
        }
    }
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        long oh, om;
        if (read_int(s, n, &i, 2, &oh) != 2)
            return false;
        if (i < n && s[i] == ':')
            i++;
        if (read_int(s, n, &i, 2, &om) != 2)
            return false;
        offset = sign * (int)(oh * 60 + om);
    }
    if (i != n || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 59)
        return false;
    double days = (double)days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * 86400000.0 + (double)(h * 3600 + mi * 60 + se) * 1000.0 +
           floor(frac * 1000 + 0.5) - offset * 60000.0;
    return true;
}

static int match_name(const char *s, size_t n, size_t *i, const char *const *names, int count)
{
    for (int k = 0; k < count; k++) {
        size_t len = strlen(names[k]);
        if (*i + len <= n && strncasecmp(s + *i, names[k], len) == 0) {
            *i += len;
            return k;
        }
    }
    for (int k = 0; k < count; k++)
        if (*i + 3 <= n && strncasecmp(s + *i, names[k], 3) == 0) {
            *i += 3;
            return k;
        }
    return -1;
}

/* Parses s against an XPath date/time picture. */
static bool parse_with_picture(jn_ctx *c, const char *s, size_t n, const char *pic, size_t pn,
                               double *out)
{
    long y = -1, mo = 1, d = 1, yday = -1, h = 0, mi = 0, se = 0, ms = 0;
    bool pm = false, has_p = false;
    int offset = 0;
    size_t i = 0;
    for (size_t p = 0; p < pn;) {
        if (pic[p] == '[' && !(p + 1 < pn && pic[p + 1] == '[')) {
            const char *end = memchr(pic + p, ']', pn - p);
            if (!end)
                jn_fail(c, "D3135", -1);
            marker m;
            bool ok = parse_marker(pic + p + 1, (size_t)(end - pic) - p - 1, &m);
            p = (size_t)(end - pic) + 1;
            if (!ok)
                continue;
            bool adjacent = p < pn && pic[p] == '[';
            int width = 0;
            for (size_t k = 0; k < m.pres_n; k++)
                width += m.pres[k] >= '0' && m.pres[k] <= '9';
            int maxd = adjacent ? (width ? width : 2) : 0;
            long v = 0;
            const char *pres = m.pres_n ? m.pres : default_presentation(m.component);
            bool named = pres[0] == 'N' || pres[0] == 'n';
            switch (m.component) {
            case 'Y':
                if (!read_int(s, n, &i, maxd ? maxd : 4, &y))
                    return false;
                if (width == 2)
                    y += y < 70 ? 2000 : 1900;
                break;
            case 'M':
                if (named) {
                    int k = match_name(s, n, &i, MONTHS, 12);
                    if (k < 0)
                        return false;
                    mo = k + 1;
                } else if (!read_int(s, n, &i, maxd ? maxd : 2, &mo)) {
                    return false;
                }
                break;
            case 'D':
                if (!read_int(s, n, &i, maxd ? maxd : 2, &d))
                    return false;
                if (pres[strlen(pres) - 1] == 'o')
                    i += i + 2 <= n ? 2 : 0;
                break;
            case 'd':
                if (!read_int(s, n, &i, maxd ? maxd : 3, &yday))
                    return false;
                break;
            case 'F':
                if (named && match_name(s, n, &i, DAYS, 7) < 0)
                    return false;
                if (!named && !read_int(s, n, &i, 1, &v))
                    return false;
                break;
            case 'H':
            case 'h':
                if (!read_int(s, n, &i, maxd ? maxd : 2, &h))
                    return false;
                break;
            case 'm':
                if (!read_int(s, n, &i, maxd ? maxd : 2, &mi))
                    return false;
                break;
            case 's':
                if (!read_int(s, n, &i, maxd ? maxd : 2, &se))
                    return false;
                break;
            case 'f': {
                size_t start = i;
                if (!read_int(s, n, &i, maxd ? maxd : 9, &v))
                    return false;
                int digits = (int)(i - start);
                double f = (double)v;
                while (digits < 3) {
                    f *= 10;
                    digits++;
                }
                while (digits > 3) {
                    f /= 10;
                    digits--;
                }
                ms = (long)f;
                break;
            }
            case 'P':
                has_p = true;
                if (i + 2 <= n && strncasecmp(s + i, "pm", 2) == 0)
                    pm = true;
                else if (!(i + 2 <= n && strncasecmp(s + i, "am", 2) == 0))
                    return false;
                i += 2;
                break;
            case 'Z':
            case 'z':
                if (m.component == 'z' && i + 3 <= n && strncmp(s + i, "GMT", 3) == 0)
                    i += 3;
                if (i < n && s[i] == 'Z') {
                    i++;
                } else if (i < n && (s[i] == '+' || s[i] == '-')) {
                    int sign = s[i++] == '-' ? -1 : 1;
                    long oh = 0, om = 0;
                    read_int(s, n, &i, 2, &oh);
                    if (i < n && s[i] == ':')
                        i++;
                    read_int(s, n, &i, 2, &om);
                    offset = sign * (int)(oh * 60 + om);
                }
                break;
            default:
                return false;
            }
        } else {
            size_t lit =
                (pic[p] == '[' || pic[p] == ']') && p + 1 < pn && pic[p + 1] == pic[p] ? 2 : 1;
            if (i >= n || s[i] != pic[p])
                return false;
            i++;
            p += lit;
        }
    }
    if (i != n)
        return false;
    if (y < 0)
        jn_fail(c, "D3136", -1);
    if (has_p) {
        h %= 12;
        if (pm)
            h += 12;
    }
    double days = yday > 0 ? (double)days_from_civil(y, 1, 1) + (double)(yday - 1)
                           : (double)days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * 86400000.0 + (double)(h * 3600 + mi * 60 + se) * 1000.0 + (double)ms -
           offset * 60000.0;
    return true;
}

jn_val *jn_fn_to_millis(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *pic = ARG(1);
    if (!s)
        return NULL;
    double ms;
    if (!pic) {
        if (!parse_iso(s->u.str.s, s->u.str.len, &ms))
            jn_fail_value(c, "D3110", -1, s);
        return jn_num(c, ms);
    }
    if (!parse_with_picture(c, s->u.str.s, s->u.str.len, pic->u.str.s, pic->u.str.len, &ms))
        return NULL;
    return jn_num(c, ms);
}
