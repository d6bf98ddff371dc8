/* idcard: GB 11643 validation and masking (see idcard.h). */
#include "base/idcard.h"
#include "base/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

char idcard_check_char(const char *s) {
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char codes[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        sum += (s[i] - '0') * weights[i];
    }
    return codes[sum % 11];
}

static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int idcard_valid(const char *s) {
    if (!s || strlen(s) != 18) return 0;
    char check = idcard_check_char(s);
    if (!check) return 0;
    char last = s[17] == 'x' ? 'X' : s[17];
    if (last != check) return 0;
    int y = digits(s + 6, 4), m = digits(s + 10, 2), d = digits(s + 12, 2);
    if (y < 1900 || m < 1 || m > 12 || d < 1) return 0;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[m - 1]) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap) return 0;
    time_t now = (time_t)time_now();
    struct tm tm;
    gmtime_r(&now, &tm);
    int today = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    if (y * 10000 + m * 100 + d > today) return 0;
    /* Region codes start with a province code 11..82. */
    int province = digits(s, 2);
    if (province < 11 || province > 82) return 0;
    return 1;
}

char *idcard_mask(const char *s, char *out, size_t n) {
    size_t len = strlen(s);
    if (len < 8) {
        snprintf(out, n, "%s", "****");
        return out;
    }
    char stars[32];
    size_t k = len - 8 < sizeof(stars) - 1 ? len - 8 : sizeof(stars) - 1;
    memset(stars, '*', k);
    stars[k] = '\0';
    snprintf(out, n, "%.4s%s%s", s, stars, s + len - 4);
    return out;
}

char *idcard_normalize(const char *s, char *out, size_t n) {
    snprintf(out, n, "%s", s);
    for (char *p = out; *p; p++)
        if (*p == 'x') *p = 'X';
    return out;
}
