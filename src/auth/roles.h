/* roles: the ten roles of isle, as bits so a route can allow a set of them.
 * A user has exactly one role. Names are the API's; labels are the UI's. */
#ifndef ISLE_ROLES_H
#define ISLE_ROLES_H

enum role {
    ROLE_CITIZEN = 1 << 0,       /* 群众 */
    ROLE_COMPANY = 1 << 1,       /* 企业 */
    ROLE_AGENT = 1 << 2,         /* 帮办代办员 */
    ROLE_STAFF = 1 << 3,         /* 窗口工作人员 */
    ROLE_APPROVER = 1 << 4,      /* 审批人员 */
    ROLE_TRADING_STAFF = 1 << 5, /* 交易中心工作人员 */
    ROLE_BIDDER = 1 << 6,        /* 投标人 */
    ROLE_EXPERT = 1 << 7,        /* 评标专家 */
    ROLE_SUPERVISOR = 1 << 8,    /* 监管人员 */
    ROLE_ADMIN = 1 << 9,         /* 系统管理员 */
};
#define ROLE_ANY   0x3ff /* any logged-in user */
#define ROLE_COUNT 10

/** "citizen" → ROLE_CITIZEN; 0 if unknown or NULL. */
int role_from_name(const char *name);
/** ROLE_CITIZEN → "citizen"; NULL if not a single known role. */
const char *role_name(int role);
/** ROLE_CITIZEN → "群众"; NULL if not a single known role. */
const char *role_label_zh(int role);
/** The i-th role bit, 0 <= i < ROLE_COUNT, in display order. */
int role_at(int i);

#endif
