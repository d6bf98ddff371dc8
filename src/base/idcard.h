/* idcard: Chinese resident identity numbers (居民身份证号码, GB 11643-1999).
 *
 * 18 characters: 6-digit region, 8-digit birth date, 3-digit sequence, and a
 * check character (0-9 or X) from ISO 7064 MOD 11-2. These numbers are
 * personal data: never log them; show them masked (idcard_mask) to anyone but
 * their owner and those entitled. */
#ifndef ISLE_IDCARD_H
#define ISLE_IDCARD_H

#include <stddef.h>

/** 1 if s is a well-formed 18-character number with a valid birth date (1900..today)
 *  and check character (lowercase x accepted), else 0. */
int idcard_valid(const char *s);
/** The check character ('0'..'9' or 'X') for the first 17 digits of s; 0 if not digits. */
char idcard_check_char(const char *first17);
/** "330902199001011234" → "3309**********1234" into out (≥ 19 bytes). Returns out. */
char *idcard_mask(const char *s, char *out, size_t n);
/** Copy s upper-cased (x → X) into out (≥ 19 bytes); for storage in one canonical form. */
char *idcard_normalize(const char *s, char *out, size_t n);

#endif
