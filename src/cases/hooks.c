/* hooks.c: where the lifecycle calls the modules around it — the e-licence
 * library, the 秒办 rules, the 告知承诺 checks and the notification outbox. */
#include <stdio.h>
#include <string.h>

#include "auth/roles.h"
#include "base/timeutil.h"
#include "cases/commitment.h"
#include "cases/internal.h"
#include "cases/rules.h"
#include "catalog/catalog.h"
#include "licences/licences.h"
#include "notify/notify.h"
#include "workcal/workcal.h"

/* The applicant's resident ID number as registered (users.id_number), "" when none. */
static int applicant_id_number(db *d, int64_t user_id, char *out, size_t n, err *e) {
    out[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT id_number FROM users WHERE id = $1", "i", user_id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW && db_column_text(s, 0)) snprintf(out, n, "%s", db_column_text(s, 0));
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "user lookup failed: %s", db_errmsg(d)) : 0;
}

int cases_licence_lookup(db *d, int64_t holder_id, const char *type, int64_t *licence_id, err *e) {
    return licences_find_valid(d, holder_id, type, NULL, licence_id, e);
}

int cases_licence_writeback(db *d, const audit_actor *aa, const case_row *c, err *e) {
    if (strcmp(c->kind, "item") != 0 || !c->item_code[0]) return 0;
    json_t *item = catalog_item_get(d, c->item_code, e);
    if (!item) return -1;
    char type[LICENCES_TYPE_MAX + 1];
    int rc = licences_result_type(d, json_string_value(json_object_get(item, "result")), type,
                                  sizeof(type), e);
    json_decref(item);
    if (rc <= 0) return rc; /* the item issues no licence */
    char idn[32], today[16], until[16];
    if (applicant_id_number(d, c->applicant_id, idn, sizeof(idn), e) != 0) return -1;
    workcal_date_format(workcal_local_date(time_now()), today, sizeof(today));
    int term = licences_default_valid_until(type, today, idn[0] ? idn : NULL, until, sizeof(until));
    return licences_issue(d, aa, c->applicant_id, type, NULL, term ? until : NULL, c->id, NULL, e);
}

int cases_rules_run(db *d, const case_row *c, int applicant_role, json_t **trace, err *e) {
    char idn[32];
    if (applicant_id_number(d, c->applicant_id, idn, sizeof(idn), e) != 0) return -1;
    json_t *form = c->form ? json_loads(c->form, 0, NULL) : NULL;
    rules_input in = {.item_code = c->item_code,
                      .applicant_id = c->applicant_id,
                      .applicant_role = role_name(applicant_role),
                      .id_number = idn[0] ? idn : NULL,
                      .town_code = c->town_code[0] ? c->town_code : NULL,
                      .form = form,
                      .now_iso = NULL,
                      .case_id = c->id};
    int rc = rules_decide(d, &in, trace, e); /* RULES_APPROVE 1, RULES_HUMAN 0, -1 */
    json_decref(form);
    return rc;
}

int cases_commitment_schedule(db *d, const audit_actor *aa, const case_row *c, err *e) {
    return commitment_schedule(d, aa, c->id, c->decided_at[0] ? c->decided_at : NULL, e);
}

int cases_notify_hook(db *d, int64_t case_id, const char *status, const char *reason, err *e) {
    return notify_case_status(d, case_id, status, reason, e);
}
