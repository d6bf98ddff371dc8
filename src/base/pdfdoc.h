/* pdfdoc: simple flowing A4 documents with Chinese text on libharu — a title,
 * headings, wrapped paragraphs, label/value lines — for the reports and dossiers
 * that are not layout work (the proofs draw their own page). The CJK font is the
 * proofs' (proofs_font_path(): a TrueType font libharu can embed). */
#ifndef ISLE_PDFDOC_H
#define ISLE_PDFDOC_H

#include <hpdf.h>
#include <stddef.h>

#include "base/err.h"

typedef struct pdfdoc pdfdoc;

/** The largest document pdfdoc_finish() writes, in bytes. */
#define PDFDOC_MAX (32u << 20)

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

/* Helpers for code that draws its own pages on libharu (proofs, opening record,
 * evaluation report): one way to start a document, load the CJK font and save. */

/** The first libharu error seen on a document started by pdfdoc_new_hpdf(). */
typedef struct pdfdoc_hpdf_err {
    HPDF_STATUS code, detail;
} pdfdoc_hpdf_err;

/** A new libharu document with compression and UTF-8 encodings on and creator
 *  "isle"; its first error is kept in *pe (which must outlive the document).
 *  NULL when libharu cannot start one. The caller frees it with HPDF_Free(). */
HPDF_Doc pdfdoc_new_hpdf(pdfdoc_hpdf_err *pe);
/** The TrueType font at font_path (a .ttc collection: its first face) with the
 *  UTF-8 encoder, embedded in pdf. NULL when it cannot be loaded. */
HPDF_Font pdfdoc_font_hpdf(HPDF_Doc pdf, const char *font_path);
/** Save pdf to memory: *out (malloc'd, the caller frees it) and *len. -1 with e
 *  when libharu cannot save it, its size is 0 or above max, or it cannot be read
 *  back. pdf stays the caller's. */
int pdfdoc_save_hpdf(HPDF_Doc pdf, size_t max, unsigned char **out, size_t *len, err *e);
/** End a document of pdfdoc_new_hpdf(): when rc (the drawing's result) is 0 and
 *  libharu saw no error (*pe), save it as pdfdoc_save_hpdf() does; then HPDF_Free(pdf)
 *  in every case. rc when it is not 0, else 0 or -1 with e. */
int pdfdoc_end_hpdf(HPDF_Doc pdf, const pdfdoc_hpdf_err *pe, int rc, size_t max,
                    unsigned char **out, size_t *len, err *e);

#endif
