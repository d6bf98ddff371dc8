/* roles: names and labels (see roles.h). */
#include "auth/roles.h"

#include <string.h>

static const struct {
    int bit;
    const char *name;
    const char *label;
} roles[ROLE_COUNT] = {
    {ROLE_CITIZEN, "citizen", "群众"},
    {ROLE_COMPANY, "company", "企业"},
    {ROLE_AGENT, "agent", "帮办代办员"},
    {ROLE_STAFF, "staff", "窗口工作人员"},
    {ROLE_APPROVER, "approver", "审批人员"},
    {ROLE_TRADING_STAFF, "trading_staff", "交易中心工作人员"},
    {ROLE_BIDDER, "bidder", "投标人"},
    {ROLE_EXPERT, "expert", "评标专家"},
    {ROLE_SUPERVISOR, "supervisor", "监管人员"},
    {ROLE_ADMIN, "admin", "系统管理员"},
};

int role_from_name(const char *name) {
    if (!name) return 0;
    for (int i = 0; i < ROLE_COUNT; i++)
        if (strcmp(roles[i].name, name) == 0) return roles[i].bit;
    return 0;
}

const char *role_name(int role) {
    for (int i = 0; i < ROLE_COUNT; i++)
        if (roles[i].bit == role) return roles[i].name;
    return NULL;
}

const char *role_label_zh(int role) {
    for (int i = 0; i < ROLE_COUNT; i++)
        if (roles[i].bit == role) return roles[i].label;
    return NULL;
}

int role_at(int i) {
    return i >= 0 && i < ROLE_COUNT ? roles[i].bit : 0;
}
