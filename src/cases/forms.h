/* forms: the application form of an item (see forms.c for the field types and
 * the data file data/cases/forms.json). */
#ifndef ISLE_CASES_FORMS_H
#define ISLE_CASES_FORMS_H

#include <jansson.h>

#include "base/err.h"

/** Where data/cases/forms.json (and the other case data) is read from: DATA_DIR. */
void cases_set_data_dir(const char *dir);
const char *cases_data_dir(void);

/** The form of an item for a person (company = 0) or a company: an array of
 *  {"name","label","type","required"[,"options","min","max"]}. New reference. */
json_t *cases_form_def(const char *item_code, int company);

/** Check form (an object) against def: required fields present, types and sizes
 *  right, no unknown field. 0, or -1 with 400 naming "form.<field>". */
int cases_form_validate(json_t *def, json_t *form, err *e);

#endif
