/* pdfdoc: simple flowing A4 documents with Chinese text on libharu — a title,
 * headings, wrapped paragraphs, label/value lines — for the reports and dossiers
 * that are not layout work (the proofs draw their own page). The CJK font is the
 * proofs' (proofs_font_path(): a TrueType font libharu can embed). */
#ifndef ISLE_PDFDOC_H
#define ISLE_PDFDOC_H

#include <stddef.h>

#include "base/err.h"

typedef struct pdfdoc pdfdoc;

/** A new document with its first page. NULL with e when no font can be loaded. */
pdfdoc *pdfdoc_new(const char *title, err *e);
/** The big title line at the top of the first page. */
void pdfdoc_title(pdfdoc *p, const char *text, const char *subtitle);
/** A section heading. */
void pdfdoc_heading(pdfdoc *p, const char *text);
/** A paragraph wrapped at the page width (Chinese text has no spaces to break at). */
void pdfdoc_paragraph(pdfdoc *p, const char *text, float size);
/** One line: label in the left column, value beside it (wrapped). */
void pdfdoc_field(pdfdoc *p, const char *label, const char *value);
/** Vertical space. */
void pdfdoc_space(pdfdoc *p, float points);
/** Write the document to memory (*out malloc'd) and free p (also on failure).
 *  0, or -1 with e. */
int pdfdoc_finish(pdfdoc *p, unsigned char **out, size_t *len, err *e);
/** Free without writing. NULL is accepted. */
void pdfdoc_free(pdfdoc *p);

#endif
