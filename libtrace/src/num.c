/*
 * num.c - the async-signal-safe text of a double (num.h): what the async
 * writer uses for doubles in a fatal-signal handler, where snprintf() is
 * not allowed.
 */
#include <math.h>
#include <string.h>

#include "num.h"

/*
 * Like %g with up to 15 significant digits, decimal between 1e-5 and
 * 1e15, else with an exponent. The digits come from scaling by 10 in
 * double arithmetic, so the last one may differ from the exact
 * conversion; 15 digits keep 0.1 or 12.5 exact.
 */
size_t clew__dbl_text_safe(char *out, double d)
{
	char dig[16];
	char *o = out;
	int e = 0, nd = 15;

	if (isnan(d)) {
		memcpy(out, "nan", 3);
		return 3;
	}
	if (signbit(d)) {
		*o++ = '-';
		d = -d;
	}
	if (isinf(d)) {
		memcpy(o, "inf", 3);
		return (size_t)(o + 3 - out);
	}
	if (d == 0) {
		*o++ = '0';
		return (size_t)(o - out);
	}
	while (d >= 10) {
		d /= 10;
		e++;
	}
	while (d < 1) {
		d *= 10;
		e--;
	}
	for (int i = 0; i < nd; i++) {
		int k = (int)d;

		if (k > 9)
			k = 9;
		dig[i] = (char)('0' + k);
		d = (d - k) * 10;
	}
	if (d >= 5) {
		int i = nd - 1;

		while (i >= 0 && dig[i] == '9')
			dig[i--] = '0';
		if (i >= 0) {
			dig[i]++;
		} else {
			dig[0] = '1';
			e++;
		}
	}
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (e >= -5 && e < 15) {
		if (e < 0) {
			*o++ = '0';
			*o++ = '.';
			for (int i = -1; i > e; i--)
				*o++ = '0';
			memcpy(o, dig, (size_t)nd);
			o += nd;
		} else {
			for (int i = 0; i <= e; i++)
				*o++ = i < nd ? dig[i] : '0';
			if (nd > e + 1) {
				*o++ = '.';
				memcpy(o, dig + e + 1, (size_t)(nd - e - 1));
				o += nd - e - 1;
			}
		}
	} else {
		char tmp[8], *end = tmp + sizeof(tmp), *p;

		*o++ = dig[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, dig + 1, (size_t)(nd - 1));
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = e < 0 ? '-' : '+';
		p = clew__utoa_back(end, (uint64_t)(e < 0 ? -e : e), 10, false);
		if (end - p < 2)
			*--p = '0';
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
	}
	return (size_t)(o - out);
}
