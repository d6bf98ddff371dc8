/* api_assistant: the 智慧客服 over HTTP.
 *
 *   POST /api/v1/assistant {"question": "…", "item"?: "CODE"}     public
 *
 * Answers with assistant_answer()'s object ({"question","item","item_name",
 * "intent","answer","alternatives","link","phone","score"}). "item" is the
 * service item the resident is looking at (the guide page's 问问智能客服). The
 * handler checks the body, reads items through catalog_item_get() and encodes;
 * no SQL here. Nothing is stored: questions are not logged. */
#include <string.h>

#include "api/api.h"
#include "assistant/assistant.h"
#include "catalog/catalog.h"
#include "search/search.h"

#define ASSISTANT_BODY_MAX 8192 /* a 500-byte question escaped as \uXXXX fits easily */

static json_t *get_item(void *ctx, const char *code) {
    err e = {0};
    return catalog_item_get(ctx, code, &e);
}

static void assistant_post(http_req *r) {
    static const char *const allowed[] = {"question", "item", NULL};
    search_engine *s = search_global();
    const assistant *a = assistant_global();
    if (!s || !a) {
        http_reply_error(r, 503, "unavailable", "", "智能客服尚未就绪，请稍后再试");
        return;
    }
    json_t *body = http_json_body(r, allowed);
    if (!body) return;
    json_t *question = json_object_get(body, "question");
    json_t *item = json_object_get(body, "item");
    err e = {0};
    json_t *out = NULL;
    if (!json_is_string(question)) {
        err_invalid(&e, "question", "请输入问题");
    } else if (item && !json_is_null(item) && !json_is_string(item)) {
        err_invalid(&e, "item", "item 须为事项编码");
    } else {
        const char *code = json_string_value(item);
        if (code && !*code) code = NULL;
        out = assistant_answer(a, s, json_string_value(question), code, get_item, r->db, &e);
    }
    json_decref(body);
    if (!out) {
        http_reply_err(r, &e);
        return;
    }
    http_reply_json(r, 200, out);
}

const http_route api_assistant_routes[] = {
    {M_POST, "/api/v1/assistant", assistant_post, 0, ROUTE_PUBLIC, ASSISTANT_BODY_MAX, NULL},
};
const size_t api_assistant_route_count =
    sizeof(api_assistant_routes) / sizeof(api_assistant_routes[0]);
