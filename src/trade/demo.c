/* demo.c: the trading demo year (see demo.h for what it contains and why).
 *
 * Two phases. The plan: companies, tenders, bids and auctions are drawn in memory
 * with amounts as raw yuan and bid prices as ratios of the budget (or reserve);
 * then one factor rescales every amount so that the awarded total meets the city's
 * scale (which leaves every ratio — savings, 增幅 — as drawn). The rows: money is
 * turned into fen, envelopes, commitments and receipts are made, and every table is
 * written with multi-row INSERTs (statement text from constant column lists, every
 * value bound) in one transaction with one audit row.
 *
 * Names of companies, buyers, places and projects are built from the lists below:
 * invented combinations of common Zhoushan place names and trade words (no real
 * company is meant). */
#include "trade/demo.h"

#include <jansson.h>
#include <math.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "db/bulk.h"
#include "base/xmalloc.h"
#include "files/files.h"
#include "proofs/proofs.h"
#include "trade/evaluate.h"
#include "trade/opening.h"
#include "trade/tenders.h"
#include "trade/trade.h"

#define DAY          86400LL
#define HOUR         3600LL
#define CST          (8 * HOUR) /* Asia/Shanghai, no DST */
#define SM2_ID       "1234567812345678"
#define DEMO_HASH    "!demo-bidder:no-password-matches"
#define FIRST_LOGIN  "demo.t0001"
#define MAX_GROUPS   6
#define TECH_WEIGHT  70.0 /* 综合评分法: price 30, tech 70 points (method_params) */
#define PRICE_WEIGHT 30.0
#define RECORDS_MAX  3 /* signed opening records (≈110 ms CPU each): the latest halls */

/* ---- deterministic randomness (splitmix64), as in cases/demo.c ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double U(rng *r) {
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}
static double uniform(rng *r, double lo, double hi) {
    return lo + (hi - lo) * U(r);
}
static int pick(rng *r, int n) {
    return n > 0 ? (int)(U(r) * n) : 0;
}
static double normal(rng *r) { /* Box–Muller */
    double u1 = U(r), u2 = U(r);
    if (u1 < 1e-12) u1 = 1e-12;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}
static double lognormal(rng *r, double median, double sigma) {
    return median * exp(sigma * normal(r));
}
static double clampd(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- buffered multi-row inserts (db/bulk.h) ---- */

static void bulk_json(db_bulk *t, json_t *v) { /* steals v */
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    db_bulk_text(t, text);
    free(text);
    json_decref(v);
}

/* ---- name parts (invented combinations; see the file comment) ---- */

static const char *const surnames[] = {
    "王", "张", "李", "陈", "林", "徐", "周", "胡", "刘", "杨", "金", "虞", "乐", "邬", "孙",
    "吴", "郑", "朱", "黄", "何", "应", "方", "钱", "贺", "夏", "竺", "俞", "戴", "丁", "沈",
    "傅", "叶", "邵", "袁", "蒋", "顾", "史", "毛", "姚", "董", "翁", "鲍", "储", "厉"};
static const char *const given[] = {"海", "波", "明", "丽", "军", "芳", "建", "国", "华", "英",
                                    "伟", "敏", "静", "强", "磊", "娟", "涛", "燕", "杰", "红",
                                    "勇", "霞", "平", "琴", "斌", "蓉", "舟", "岚", "渔", "航",
                                    "帆", "潮", "志", "德", "新", "立", "晨", "鹏", "辉", "雪"};
static const char *const regions[] = {"舟山", "浙江", "定海", "普陀",
                                      "岱山", "嵊泗", "宁波", "浙江舟山"};
static const char *const region_codes[] = {"330900", "330000", "330902", "330903",
                                           "330921", "330922", "330200", "330900"};
static const char *const words[] = {
    "海丰",   "东海",   "鑫海", "渔丰", "蓝港", "顺达", "兴舟", "远洋", "金沙", "海星",
    "普安",   "岱衢",   "嵊泰", "甬舟", "恒通", "宏远", "海天", "新城", "长峙", "金塘",
    "六横",   "朱家尖", "衢山", "桃花", "秀山", "虾峙", "白泉", "临城", "盐仓", "千岛",
    "沈家门", "海纳",   "中舟", "浙东", "华洋", "舟港", "海韵", "潮平", "鼎盛", "宏舟",
    "瀛洲",   "观音",   "东极", "螺门", "浪岗", "泗礁", "洋山", "大衢", "长涂", "册子",
    "马岙",   "小沙",   "干览", "北蝉", "展茅", "勾山", "登步", "蚂蚁", "东沙", "高亭"};
static const char *const works_trades[] = {"建设工程", "建筑工程", "市政工程", "水利建设",
                                           "港航工程", "交通建设", "海洋工程", "园林绿化工程",
                                           "装饰工程", "电力工程", "路桥工程", "建设集团"};
static const char *const supply_trades[] = {"科技",     "信息技术", "医疗器械", "教学设备",
                                            "环保科技", "智能科技", "办公设备", "电子",
                                            "物资",     "贸易",     "数字科技", "物业服务"};
static const char *const invest_trades[] = {"置业", "房地产开发", "投资", "实业",
                                            "能源", "化工",       "水产", "船舶修造"};
static const char *const roads[] = {"解放西路", "人民北路", "海天大道", "千岛路", "东海中路",
                                    "新城大道", "翁山路",   "昌正街",   "兴港路", "沈家门渔港路"};
static const char *const banks[] = {"中国工商银行舟山分行", "中国农业银行舟山分行",
                                    "中国银行舟山分行",     "中国建设银行舟山分行",
                                    "浙江舟山农村商业银行", "宁波银行舟山分行"};
static const char *const places[] = {"定海区", "普陀区", "岱山县", "嵊泗县", "新城",
                                     "金塘",   "六横",   "沈家门", "朱家尖", "衢山",
                                     "长峙岛", "盐仓",   "白泉",   "洋山",   "秀山"};
static const char *const works_objects[] = {
    "道路改造工程",     "污水管网改造工程", "标准海塘加固工程", "码头改建工程",
    "学校新建工程",     "老旧小区改造工程", "桥梁维修加固工程", "安置房建设工程",
    "渔港整治工程",     "供水管网改造工程", "公园景观提升工程", "体育中心建设工程",
    "养老服务中心工程", "医院扩建工程",     "农村公路提升工程", "海岛供水工程"};
static const char *const works_buyers[] = {"舟山市交通运输局",
                                           "舟山市住房和城乡建设局",
                                           "定海区住房和城乡建设局",
                                           "普陀区交通运输局",
                                           "岱山县水利局",
                                           "嵊泗县住房和城乡建设局",
                                           "舟山市水务集团有限公司",
                                           "舟山市教育局",
                                           "舟山市城市投资发展集团有限公司",
                                           "舟山海洋产业集聚区管理委员会",
                                           "普陀区农业农村局",
                                           "舟山市港航和口岸管理局"};
static const char *const proc_objects[] = {
    "医疗设备采购项目", "信息化系统建设项目",   "教学设备采购项目",     "物业管理服务项目",
    "公务车辆采购项目", "办公家具采购项目",     "视频监控设备采购项目", "食堂食材配送服务项目",
    "网络安全服务项目", "海洋监测设备采购项目", "CT设备采购项目",       "政务云服务租用项目"};
static const char *const proc_buyers[] = {
    "浙江省舟山医院",       "舟山市妇女儿童医院", "舟山市教育局",           "舟山市公安局",
    "定海区人民政府办公室", "普陀区卫生健康局",   "舟山市大数据发展管理局", "浙江海洋大学",
    "舟山市生态环境局",     "岱山县人民医院",     "嵊泗县教育局",           "舟山市海洋与渔业局"};
static const char *const property_objects[] = {"房产转让", "股权转让", "公务车辆拍卖", "船舶转让",
                                               "商铺租赁权转让"};
static const char *const property_buyers[] = {
    "舟山市国有资产投资经营有限公司", "舟山交通投资集团有限公司", "定海区国有资产经营有限公司",
    "普陀区国有资产投资集团有限公司"};
static const char *const land_uses[] = {"商住用地", "工业用地", "商业用地", "仓储用地"};
static const char *const land_buyers[] = {
    "舟山市自然资源和规划局", "舟山市自然资源和规划局定海分局", "舟山市自然资源和规划局普陀分局",
    "岱山县自然资源和规划局", "嵊泗县自然资源和规划局"};
static const char *const emission_objects[] = {"化学需氧量排污权出让", "氨氮排污权出让",
                                               "二氧化硫排污权出让", "氮氧化物排污权出让"};
static const char *const agencies[] = {"浙江舟山招标代理有限公司", "舟山市建设工程咨询有限公司",
                                       "浙江中诚工程管理咨询有限公司", NULL, NULL};
static const char *const invalid_reasons[] = {"资格审查不合格：项目经理注册证书已过期",
                                              "投标保证金未按时足额缴纳",
                                              "投标文件未按要求加盖电子签章"};

/* ---- kinds ---- */

enum { K_WORKS, K_PROC, K_PROPERTY, K_LAND, K_EMISSION, K_COUNT };
static const char *const kind_ids[K_COUNT] = {"works", "procurement", "property", "land",
                                              "emission"};
static const char *const kind_codes[K_COUNT] = {"GC", "ZC", "CQ", "TD", "PW"}; /* tenders.c */
static const double kind_cdf[K_COUNT] = {0.45, 0.80, 0.88, 0.95, 1.0};

/* S_AUCTION: a sale in live 竞价 (ends within hours); S_OPENING: a hall in progress. */
enum {
    S_DONE,
    S_FAILED,
    S_CANCELLED,
    S_ANNOUNCED,
    S_EVALUATION,
    S_PUBLICITY,
    S_AUCTION,
    S_OPENING
};

/* ---- the plan ---- */

enum { CO_WORKS, CO_SUPPLY, CO_INVEST };

typedef struct company {
    int64_t id, user_id, cert_id;
    int type, root; /* root: index into the demo roots */
    int group;      /* planted group number (1..), 0 none */
    char uscc[19], name[96], legal_rep[16], address[96], phone[20];
    char ip[40], machine[160], account[24], account_name[96], bank[64], author[16], pm[16];
    EVP_PKEY *key;
    X509 *cert;
} company;

typedef struct bidplan {
    int tender, company;
    double ratio;                    /* price / budget */
    int duration, sealed;            /* sealed: the tender is still open */
    int invalid;                     /* index+1 into invalid_reasons */
    double tech, price_score, total; /* tech in points 0..TECH_WEIGHT (evaluate.c) */
    int rank;
    int hall; /* live hall: 0 opened, 1 signed in and sealed, 2 not signed in */
    int64_t price_fen, signin, decrypted; /* set while writing */
    int same_file_of;      /* company index whose 技术标 this bid copies, -1 none */
    const char *pm;        /* project manager */
    int64_t id, submitted; /* set while planning */
} bidplan;

typedef struct tplan {
    int64_t id;
    int kind, status, method; /* method: 0 lowest_price 1 composite 2 reasonable_low 3 auction */
    int group;                /* rigged by planted group (1..), 0 none */
    int electronic, remote;
    char no[32], title[200];
    const char *buyer, *agency;
    double budget, reserve; /* raw yuan (one of them) */
    double award_ratio;     /* award / budget or / reserve; 0 none */
    double bench;           /* benchmark factor (reasonable_low) */
    int64_t announce, deadline, eval_at, publicity_until, awarded, contracted;
    int first_bid, nbids, winner_bid; /* into the bid plan; winner -1 none */
    int first_abid, nabids, winner_company;
    int64_t award_fen;
    int64_t a_ends; /* 竞价 end (0: sold at the 挂牌 stage, or no auction) */
    /* the hall: start, decryption window, objections, confirmation, close (0: none) */
    int has_opening;
    int64_t h_start, h_decrypt, h_decrypt_until, h_dclosed, h_obj_open, h_obj_until, h_confirm,
        h_closed;
    char record_sha[65], record_sig[160];
    int64_t record_size;
} tplan;

typedef struct abidplan { /* one auction bid */
    int tender, company;
    int step;    /* 0 = at the reserve */
    int listing; /* 1: a 挂牌 offer before the deadline, 0: a 竞价 bid after it */
    int64_t at;
} abidplan;

typedef struct demo {
    db *d;
    rng r;
    rng r2; /* draws added later (phases, halls, live items): r's sequence stays as it was */
    int64_t now;
    company *co;
    int nco, co_base; /* co_base: companies before this demo's (the named demo users') */
    int *pool[3];
    int npool[3];
    tplan *t;
    int nt;
    bidplan *b;
    int nb, capb;
    abidplan *ab;
    int nab, capab;
    int ngroups;
    int group_members[MAX_GROUPS][5], group_size[MAX_GROUPS], group_tenders[MAX_GROUPS];
    /* the PKI */
    EVP_PKEY *root_key[3];
    X509 *root_cert[3];
    int64_t root_id[3];
    /* ids */
    int64_t next_user, next_company, next_root, next_cert, next_tender, next_bid;
    int64_t staff_id, bidder_user, company_user;
    char staff_name[129];
    int64_t *experts;
    int nexperts;
    proofs_key pk;
    int have_pk;
    char bids_dir[1024];
    int have_dir;
    trade_demo_counts counts;
    db_bulk users, companies, cu, roots, certs, logins, tenders, notices, deposits, bids, openings,
        signins, texperts, escores, results, abids, planted, abidders, events;
} demo;

static const char *const method_ids[] = {"lowest_price", "composite", "reasonable_low", "auction"};

/* Local (Shanghai) instant of day containing t at hour:minute. */
static int64_t local_at(int64_t t, int hour, int minute) {
    int64_t day = (t + CST) / DAY * DAY - CST;
    return day + hour * HOUR + minute * 60;
}
/* Move a local instant off Saturday and Sunday. */
static int64_t weekday(int64_t t) {
    int64_t days = (t + CST) / DAY;  /* 1970-01-01 was a Thursday */
    int dow = (int)((days + 4) % 7); /* 0 Sunday */
    if (dow == 6) return t + 2 * DAY;
    if (dow == 0) return t + DAY;
    return t;
}

static void person_name(rng *r, char *out, size_t n) {
    snprintf(out, n, "%s%s%s", surnames[pick(r, COUNT(surnames))], given[pick(r, COUNT(given))],
             U(r) < 0.7 ? given[pick(r, COUNT(given))] : "");
}
/* A name unique for index i (a bijection onto surname × given × given). */
static void unique_name(int i, char *out, size_t n) {
    int ns = COUNT(surnames), ng = COUNT(given);
    int total = ns * ng * ng;
    int k = (int)(((int64_t)i * 7919 + 17) % total);
    snprintf(out, n, "%s%s%s", surnames[k % ns], given[(k / ns) % ng], given[(k / ns / ng) % ng]);
}

/* The USCC check character for the first 17 characters (GB 32100-2015). */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static void uscc_make(const char *region, int index, char out[19]) {
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    /* 9 (工商) 1 (企业), the region, then a 9-character organisation code: "MA" and 7
     * characters unique per index (a multiplier coprime to 31^7 keeps them apart). */
    uint64_t v = ((uint64_t)index * 104729u + 1234567u) % 27512614111ull; /* 31^7 */
    char org[10] = "MA";
    for (int i = 8; i >= 2; i--) {
        org[i] = uscc_alphabet[v % 31];
        v /= 31;
    }
    org[9] = '\0';
    snprintf(out, 19, "91%.6s%.9s", region, org);
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (int)(strchr(uscc_alphabet, out[i]) - uscc_alphabet) * w[i];
    int c = 31 - sum % 31;
    out[17] = uscc_alphabet[c == 31 ? 0 : c];
    out[18] = '\0';
}

/* ---- crypto ---- */

static EVP_PKEY *key_new(int sm2) {
    return sm2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
               : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int is_sm2(EVP_PKEY *k) {
    return EVP_PKEY_is_a(k, "SM2");
}

/* Prepare mctx for signing with k: SHA-256, or SM3 with the standard SM2 ID. *pctx
 * is the caller's to free (NULL for non-SM2). */
static int sign_init(EVP_MD_CTX *m, EVP_PKEY *k, EVP_PKEY_CTX **pctx) {
    *pctx = NULL;
    if (is_sm2(k)) {
        *pctx = EVP_PKEY_CTX_new(k, NULL);
        if (!*pctx || EVP_PKEY_CTX_set1_id(*pctx, SM2_ID, strlen(SM2_ID)) <= 0) return -1;
        EVP_MD_CTX_set_pkey_ctx(m, *pctx);
        return EVP_DigestSignInit(m, NULL, EVP_sm3(), NULL, k) == 1 ? 0 : -1;
    }
    return EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k) == 1 ? 0 : -1;
}

/* base64 (standard, padded) signature of msg with k into out (≥ 200 bytes). 0 or -1. */
static int sign_b64(EVP_PKEY *k, const char *msg, char *out) {
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    unsigned char sig[160];
    size_t sl = sizeof(sig);
    int rc = -1;
    if (m && sign_init(m, k, &pc) == 0 &&
        EVP_DigestSign(m, sig, &sl, (const unsigned char *)msg, strlen(msg)) == 1) {
        EVP_EncodeBlock((unsigned char *)out, sig, (int)sl);
        rc = 0;
    }
    EVP_MD_CTX_free(m);
    EVP_PKEY_CTX_free(pc);
    return rc;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
}

/* A certificate for key: a self-signed root (issuer NULL) or a leaf issued by
 * issuer/issuer_key. NULL on failure. */
static X509 *cert_make(EVP_PKEY *key, const char *o, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key, uint64_t serial, int64_t nb, int64_t na) {
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!x || !name) goto fail;
    X509_set_version(x, 2);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8, (const unsigned char *)"CN", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x, key);
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer) {
        add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation,keyAgreement");
        add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    } else {
        add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    EVP_PKEY *signer = issuer ? issuer_key : key;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = m && sign_init(m, signer, &pc) == 0 && X509_sign_ctx(x, m) > 0;
    EVP_MD_CTX_free(m);
    EVP_PKEY_CTX_free(pc);
    if (!ok) goto fail;
    X509_NAME_free(name);
    return x;
fail:
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

static char *cert_pem(X509 *x) {
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = xmalloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

static void cert_fingerprint(X509 *x, char hex[65]) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    crypto_sha256_hex(der, n > 0 ? (size_t)n : 0, hex);
    OPENSSL_free(der);
}

static void pubkey_sha256(X509 *x, char hex[65]) {
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    crypto_sha256_hex(der, n > 0 ? (size_t)n : 0, hex);
    OPENSSL_free(der);
}

static void name_line(const X509_NAME *nm, char *out, size_t n) {
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    snprintf(out, n, "%.*s", (int)len, p ? p : "");
    BIO_free(b);
}

/* A CMS EnvelopedData (DER, AES-256-CBC) of plain to cert. *der is the caller's
 * (OPENSSL_free). 0 or -1. */
static int cms_envelope(X509 *cert, const char *plain, unsigned char **der, int *len) {
    STACK_OF(X509) *rs = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(plain, (int)strlen(plain));
    int rc = -1;
    if (rs && in && sk_X509_push(rs, cert)) {
        CMS_ContentInfo *cms = CMS_encrypt(rs, in, EVP_aes_256_cbc(), CMS_BINARY);
        if (cms) {
            *der = NULL;
            *len = i2d_CMS_ContentInfo(cms, der);
            rc = *len > 0 ? 0 : -1;
            CMS_ContentInfo_free(cms);
        }
    }
    BIO_free(in);
    sk_X509_free(rs);
    return rc;
}

/* ---- the plan: companies ---- */

static void plan_companies(demo *g, int n) {
    g->nco = n;
    g->co = xcalloc((size_t)n, sizeof(company));
    for (int p = 0; p < 3; p++)
        g->pool[p] = xcalloc((size_t)n, sizeof(int));
    rng *r = &g->r;
    for (int i = 0; i < n; i++) {
        company *c = &g->co[i];
        double x = U(r);
        c->type = x < 0.55 ? CO_WORKS : x < 0.85 ? CO_SUPPLY : CO_INVEST;
        g->pool[c->type][g->npool[c->type]++] = i;
        for (int tries = 0;; tries++) {
            int reg = pick(r, COUNT(regions));
            const char *trade = c->type == CO_WORKS ? works_trades[pick(r, COUNT(works_trades))]
                                : c->type == CO_SUPPLY
                                    ? supply_trades[pick(r, COUNT(supply_trades))]
                                    : invest_trades[pick(r, COUNT(invest_trades))];
            const char *w = words[pick(r, COUNT(words))];
            if (tries > 20) /* the combinations ran out: number it */
                snprintf(c->name, sizeof(c->name), "%s%s%s%d有限公司", regions[reg], w, trade, i);
            else
                snprintf(c->name, sizeof(c->name), "%s%s%s有限公司", regions[reg], w, trade);
            int dup = 0;
            for (int j = 0; j < i && !dup; j++)
                dup = !strcmp(g->co[j].name, c->name);
            if (!dup) {
                uscc_make(region_codes[reg], g->co_base + i, c->uscc);
                break;
            }
        }
        person_name(r, c->legal_rep, sizeof(c->legal_rep));
        snprintf(c->address, sizeof(c->address), "浙江省舟山市%s%s%d号", places[pick(r, 4)],
                 roads[pick(r, COUNT(roads))], 1 + pick(r, 400));
        snprintf(c->phone, sizeof(c->phone), "0580-%07d", 2000000 + pick(r, 7999999));
        /* Electronic traces, unique per company unless a planted group shares them. */
        snprintf(c->ip, sizeof(c->ip), "%d.%d.%d.%d", (int[]){115, 122, 183, 60}[i % 4],
                 (i / 4) % 250 + 1, (i * 37) % 250 + 1, (i * 11) % 250 + 2);
        unsigned mac = (unsigned)(rng_next(r) & 0xffffff);
        snprintf(c->machine, sizeof(c->machine),
                 "{\"mac\":\"00:1A:2B:%02X:%02X:%02X\",\"cpu\":\"BFEBFBFF000%05X\","
                 "\"disk\":\"WD-WCC%08X\"}",
                 mac >> 16, (mac >> 8) & 0xff, mac & 0xff, (unsigned)(i * 7 + 0x906ea) & 0xfffff,
                 (unsigned)(rng_next(r) & 0xffffffff));
        snprintf(c->account, sizeof(c->account), "3301%04d%011d", 1000 + i % 9000,
                 (int)(rng_next(r) % 100000000000ull));
        snprintf(c->account_name, sizeof(c->account_name), "%s", c->name);
        snprintf(c->bank, sizeof(c->bank), "%s", banks[pick(r, COUNT(banks))]);
        unique_name(3 * i, c->author, sizeof(c->author));
        unique_name(3 * i + 1, c->pm, sizeof(c->pm));
        /* 40% home CA; foreign: 浙江省数字证书CA (ECDSA) or 国信SM2 CA (SM2). Companies
         * that may seal CMS envelopes of open tenders need ECDSA keys: SM2 is kept to
         * the supply and investment firms. */
        double y = U(r);
        c->root = y < 0.4 ? 0 : (y < 0.8 || c->type == CO_WORKS) ? 1 : 2;
    }
}

/* Planted groups among the works companies: members share the traces of their
 * group's patterns. */
static const char *const group_patterns[MAX_GROUPS] = {
    "cover_bidding,rotation,same_ip,fixed_ratio",
    "cover_bidding,rotation,same_machine,same_file,progression",
    "cover_bidding,rotation,same_deposit,same_author",
    "cover_bidding,rotation,same_manager,same_ip,fixed_ratio",
    "cover_bidding,rotation,same_author,same_file,progression",
    "cover_bidding,rotation,same_deposit,same_machine"};
static const double fixed_ratios[4] = {1.03, 1.045, 1.02, 1.05};

static int has_pattern(int group, const char *p) {
    return group > 0 && strstr(group_patterns[group - 1], p) != NULL;
}

static void plan_groups(demo *g, int ngroups) {
    g->ngroups = 0;
    int nw = g->npool[CO_WORKS];
    int next = 0; /* pool[works] is in random order already (company draw order) */
    for (int k = 0; k < ngroups; k++) {
        int size = 3 + pick(&g->r, 3);
        if (next + size > nw / 2) break; /* keep most works firms honest */
        g->group_size[k] = size;
        for (int j = 0; j < size; j++) {
            /* every third works firm, so that members are spread over the list */
            int ci = g->pool[CO_WORKS][(next++ * 3 + 1) % nw];
            g->group_members[k][j] = ci;
            g->co[ci].group = k + 1;
        }
        company *lead = &g->co[g->group_members[k][0]];
        for (int j = 1; j < size; j++) {
            company *m = &g->co[g->group_members[k][j]];
            if (has_pattern(k + 1, "same_ip")) snprintf(m->ip, sizeof(m->ip), "%s", lead->ip);
            if (has_pattern(k + 1, "same_machine"))
                snprintf(m->machine, sizeof(m->machine), "%s", lead->machine);
            if (has_pattern(k + 1, "same_deposit")) {
                snprintf(m->account, sizeof(m->account), "%s", lead->account);
                snprintf(m->account_name, sizeof(m->account_name), "%s", lead->account_name);
                snprintf(m->bank, sizeof(m->bank), "%s", lead->bank);
            }
            if (has_pattern(k + 1, "same_author"))
                snprintf(m->author, sizeof(m->author), "%s", lead->author);
        }
        g->ngroups++;
    }
}

/* ---- the plan: tenders ---- */

static bidplan *new_bid(demo *g) {
    if (g->nb == g->capb) {
        g->capb = g->capb ? 2 * g->capb : 4096;
        g->b = xrealloc(g->b, (size_t)g->capb * sizeof(bidplan));
    }
    bidplan *b = &g->b[g->nb++];
    memset(b, 0, sizeof(*b));
    b->same_file_of = -1;
    return b;
}

/* k distinct companies of pool p into out (partial Fisher–Yates over a copy);
 * exclude: a company index to skip (-1 none); ecdsa_only: only ECDSA-certified. */
static int draw_companies(demo *g, int p, int k, int *out, const int *exclude, int nexclude,
                          int ecdsa_only) {
    int n = g->npool[p];
    int *tmp = xmalloc((size_t)n * sizeof(int));
    int m = 0;
    for (int i = 0; i < n; i++) {
        int ci = g->pool[p][i], skip = ecdsa_only && g->co[ci].root == 2;
        for (int j = 0; j < nexclude && !skip; j++)
            skip = exclude[j] == ci;
        if (!skip) tmp[m++] = ci;
    }
    if (k > m) k = m;
    for (int i = 0; i < k; i++) {
        int j = i + pick(&g->r, m - i);
        int s = tmp[i];
        tmp[i] = tmp[j];
        tmp[j] = s;
        out[i] = tmp[i];
    }
    free(tmp);
    return k;
}

static void title_for(demo *g, tplan *t) {
    rng *r = &g->r;
    switch (t->kind) {
    case K_WORKS:
        snprintf(t->title, sizeof(t->title), "%s%s%s", places[pick(r, COUNT(places))],
                 works_objects[pick(r, COUNT(works_objects))],
                 U(r) < 0.25 ? (U(r) < 0.5 ? "（一期）" : "（二标段）") : "");
        t->buyer = works_buyers[pick(r, COUNT(works_buyers))];
        break;
    case K_PROC:
        t->buyer = proc_buyers[pick(r, COUNT(proc_buyers))];
        snprintf(t->title, sizeof(t->title), "%s%s", t->buyer,
                 proc_objects[pick(r, COUNT(proc_objects))]);
        break;
    case K_PROPERTY:
        t->buyer = property_buyers[pick(r, COUNT(property_buyers))];
        snprintf(t->title, sizeof(t->title), "%s%s%s", places[pick(r, COUNT(places))],
                 U(r) < 0.5 ? "某处" : "", property_objects[pick(r, COUNT(property_objects))]);
        break;
    case K_LAND:
        t->buyer = land_buyers[pick(r, COUNT(land_buyers))];
        snprintf(t->title, sizeof(t->title), "%s%s-%02d地块%s国有建设用地使用权出让",
                 places[pick(r, COUNT(places))], kind_codes[K_LAND], 1 + pick(r, 60),
                 land_uses[pick(r, COUNT(land_uses))]);
        break;
    default:
        t->buyer = "舟山市排污权储备中心";
        snprintf(t->title, sizeof(t->title), "%s（%d吨/年）",
                 emission_objects[pick(r, COUNT(emission_objects))], 2 + pick(r, 60));
    }
    t->agency = t->kind <= K_PROC ? agencies[pick(r, COUNT(agencies))] : NULL;
}

/* Dates of a tender by status (see demo.h). */
static void dates_for(demo *g, tplan *t) {
    rng *r = &g->r;
    int64_t now = g->now;
    int64_t span = t->kind == K_PROC ? 15 + pick(r, 10) : 20 + pick(r, 10);
    switch (t->status) {
    case S_ANNOUNCED:
        t->announce = local_at(now - (int64_t)uniform(r, 1, 12) * DAY, 9 + pick(r, 8), pick(r, 60));
        t->deadline = weekday(local_at(t->announce + span * DAY, 9, 30));
        while (t->deadline < now + DAY)
            t->deadline = weekday(t->deadline + DAY);
        break;
    case S_EVALUATION:
        t->deadline = weekday(local_at(now - DAY * (1 + pick(r, 2)), 9, 30));
        if (t->deadline > now - HOUR) t->deadline -= 3 * DAY;
        t->announce = local_at(t->deadline - span * DAY, 10, 0);
        break;
    case S_PUBLICITY:
        t->deadline = weekday(local_at(now - 5 * DAY, 9, 30));
        t->announce = local_at(t->deadline - span * DAY, 10, 0);
        t->eval_at = t->deadline + DAY;
        t->publicity_until = t->eval_at + 3 * DAY;
        if (t->publicity_until < now + HOUR) t->publicity_until = now + DAY;
        break;
    default: {
        /* historical: announced 45–362 days ago, everything done before now (the live
         * statuses draw these too, so that r's sequence is the same, then move) */
        t->announce =
            local_at(now - (int64_t)uniform(r, 45, 362) * DAY, 9 + pick(r, 8), pick(r, 60));
        t->deadline = weekday(local_at(t->announce + span * DAY, 9, 30));
        if (t->kind <= K_PROC) {
            t->eval_at = t->deadline + (int64_t)uniform(r, 2, 26) * HOUR;
            t->publicity_until = t->eval_at + 3 * DAY;
            t->awarded = weekday(local_at(t->publicity_until + DAY * (1 + pick(r, 3)), 10, 0));
        } else {
            t->awarded = t->deadline + (int64_t)uniform(r, 2, 5) * HOUR;
        }
        t->contracted = weekday(local_at(t->awarded + DAY * (7 + pick(r, 24)), 15, 0));
        if (t->contracted > now) t->contracted = 0;
    }
    }
    if (t->status == S_AUCTION || t->status == S_OPENING) {
        /* live: the 竞价 began 40–90 minutes ago; the hall 15–25 minutes ago */
        t->deadline = t->status == S_AUCTION ? now - (int64_t)uniform(&g->r2, 40, 90) * 60
                                             : now - (int64_t)uniform(&g->r2, 15, 25) * 60;
        t->announce = t->deadline - span * DAY;
        t->eval_at = t->publicity_until = t->awarded = t->contracted = 0;
    }
}

/* A bid's price in fen: to the cent (whole-yuan prices would make equal bids by
 * chance, a false 40(4)). */
static int64_t bid_price(int64_t budget_fen, double ratio) {
    return llround((double)budget_fen / 100.0 * ratio * 100.0);
}

static double round2d(double v) {
    return round(v * 100) / 100;
}
static double factor_of(const tplan *t) {
    return round(t->bench * 10000) / 10000;
}

/* Validity, scores and ranks of an opened tender's bids by evaluate.c's own method
 * (evaluate_rank, the one evaluate_compute applies): 综合评分法 price score =
 * lowest valid price / price × 30 and total = price + tech (tech in points 0..70);
 * 合理低价法 by the distance to the benchmark; 最低价 by price. The first-ranked bid
 * becomes the winner. budget_fen: the tender's (a nominal one while planning; the
 * ranks do not depend on the scale but for rounding, so writing ranks again). */
static void rank_bids(demo *g, tplan *t, int64_t budget_fen) {
    if (t->nbids <= 0) return;
    evaluate_bid *eb = xcalloc((size_t)t->nbids, sizeof(*eb));
    for (int i = 0; i < t->nbids; i++) {
        const bidplan *b = &g->b[t->first_bid + i];
        eb[i].bid_id = b->id ? b->id : i + 1;
        eb[i].price_fen = bid_price(budget_fen, b->ratio);
        eb[i].submitted_at = b->submitted * 1000; /* evaluate.c breaks ties by ms */
        eb[i].tech_score = t->method == 1 ? b->tech : 0;
        eb[i].valid = !b->invalid;
    }
    evaluate_params p = {.method = method_ids[t->method],
                         .budget_fen = budget_fen,
                         .price_weight = PRICE_WEIGHT,
                         .benchmark_factor = t->method == 2 ? factor_of(t) : 0};
    double ref = 0;
    evaluate_rank(eb, t->nbids, &p, &ref);
    t->winner_bid = -1;
    for (int i = 0; i < t->nbids; i++) {
        bidplan *b = &g->b[t->first_bid + i];
        b->price_score = eb[i].price_score;
        b->total = eb[i].total_score;
        b->rank = eb[i].rank;
        if (eb[i].rank == 1) t->winner_bid = t->first_bid + i;
    }
    free(eb);
}

/* Bids of an opened works/procurement tender: the designated winner has the
 * lowest price (savings ≈ 1 − winner ratio); planted groups bid together. */
static void plan_sealed(demo *g, int ti, int nbids, int group, int designated) {
    tplan *t = &g->t[ti];
    rng *r = &g->r;
    int p = t->kind == K_WORKS ? CO_WORKS : CO_SUPPLY;
    int *who = xmalloc((size_t)(nbids + 8) * sizeof(int));
    int n = 0;
    if (group) {
        for (int j = 0; j < g->group_size[group - 1]; j++)
            who[n++] = g->group_members[group - 1][j];
    }
    int open = t->status == S_ANNOUNCED;
    /* the live hall keeps some bids sealed: real envelopes need ECDSA certificates */
    int live = t->status == S_OPENING;
    if (nbids > n) n += draw_companies(g, p, nbids - n, who + n, who, n, open || live);
    t->first_bid = g->nb;
    t->nbids = n;
    t->winner_bid = -1;
    if (n == 0) {
        free(who);
        return;
    }
    double w = group ? uniform(r, 0.935, 0.95) : clampd(0.945 + 0.022 * normal(r), 0.86, 0.985);
    int win_company = group ? who[designated] : who[0];
    /* progression: prices w·1.02, then equal steps of w·1% (2, 3, 4, 5% above) */
    double step = w * 0.01;
    int cover = 0;
    for (int i = 0; i < n; i++) {
        bidplan *b = new_bid(g);
        b->tender = ti;
        b->company = who[i];
        b->sealed = open;
        b->duration = t->kind == K_WORKS ? 90 + 30 * pick(r, 10) : 15 + 15 * pick(r, 4);
        b->pm = g->co[who[i]].pm;
        b->submitted = t->deadline - (int64_t)uniform(r, 0.5 * HOUR, 9 * DAY);
        if (open && b->submitted > g->now - 600) { /* not in the future: folded back */
            int64_t span = g->now - 600 - t->announce;
            b->submitted = t->announce + 600 + (b->submitted - t->announce) % (span > 1 ? span : 1);
        }
        if (open) { /* sealed: the price is in the envelope only */
            b->ratio = clampd(w * (1 + fabs(0.03 * normal(r))), 0.8, 0.999);
            continue;
        }
        if (who[i] == win_company) {
            b->ratio = w;
            t->winner_bid = g->nb - 1;
        } else if (group && g->co[who[i]].group == group) {
            cover++;
            double ratio = has_pattern(group, "fixed_ratio")   ? w * fixed_ratios[(cover - 1) % 4]
                           : has_pattern(group, "progression") ? w * 1.02 + (cover - 1) * step
                                                               : w * (1 + uniform(r, 0.02, 0.05));
            b->ratio = ratio;
            if (has_pattern(group, "same_manager")) b->pm = g->co[win_company].pm;
            if (has_pattern(group, "same_file")) b->same_file_of = win_company;
        } else {
            b->ratio = w * (1 + 0.004 + fabs(0.035 * normal(r)));
            if (U(r) < 0.03) b->invalid = 1 + pick(r, COUNT(invalid_reasons));
        }
        /* Above the ceiling a bid would be invalid: pull it just under at random (a
         * linear offset would plant an arithmetic progression of its own). */
        if (b->ratio > 0.999) b->ratio = 0.999 - uniform(r, 0.0005, 0.006);
        b->tech = uniform(r, 62, 88);
    }
    free(who);
    if (open || t->winner_bid < 0) return;
    /* Technical scores are drawn on 0..100 and kept in points (× 70 / 100, as the
     * experts score 0..tech_weight); the winner gets the best one so that the lowest
     * price also ranks first under 综合评分法. */
    bidplan *win = &g->b[t->winner_bid];
    double best_tech = 0;
    for (int i = 0; i < t->nbids; i++)
        if (g->b[t->first_bid + i].tech > best_tech) best_tech = g->b[t->first_bid + i].tech;
    win->tech = clampd(best_tech + uniform(r, 0.5, 4), 0, 98);
    for (int i = 0; i < t->nbids; i++) {
        bidplan *b = &g->b[t->first_bid + i];
        b->tech = round2d(b->tech * TECH_WEIGHT / 100.0);
    }
    rank_bids(g, t, 10000000000LL); /* nominal ¥1亿: the real budget is known when writing */
    t->award_ratio = t->winner_bid >= 0 ? g->b[t->winner_bid].ratio : 0;
    if (live) { /* the hall in progress: who signed in, whose bid is opened */
        /* half opened, the rest signed in and still sealed, the last absent */
        for (int i = 0; i < t->nbids; i++) {
            bidplan *b = &g->b[t->first_bid + i];
            b->hall = i < (t->nbids + 1) / 2 ? 0 : i == t->nbids - 1 && t->nbids >= 5 ? 2 : 1;
            b->sealed = b->hall != 0;
        }
        t->winner_bid = -1;
        t->award_ratio = 0;
    }
}

#define AUCTION_LIVE_MINUTES 180 /* the live demo auctions' 竞价 time (method_params) */

/* Auction of a sale, as auction.c runs it: 挂牌 offers before the deadline (the
 * first at the reserve), then, with two or more companies, 竞价 from the deadline for
 * auction_minutes, a bid in the last extend_seconds (300) moving the end. 30% are
 * uncontested (one 挂牌 offer at the reserve: 挂牌成交), the others climb in steps
 * of one increment to a premium of 10–30%. A live auction (S_AUCTION) stops at now
 * with its end AUCTION_LIVE_MINUTES after the deadline. */
static void plan_auction(demo *g, int ti) {
    tplan *t = &g->t[ti];
    rng *r = &g->r;
    int live = t->status == S_AUCTION;
    int n = U(r) < 0.3 ? 1 : 2 + pick(r, 7);
    int who[8];
    int p = t->kind == K_LAND ? (U(r) < 0.7 ? CO_INVEST : CO_WORKS) : CO_INVEST;
    n = draw_companies(g, p, n, who, NULL, 0, 0);
    if (n == 0) return;
    if (live && n == 1) {
        /* a live 竞价 needs two: the second company and the whole series from r2, so
         * that r's sequence (every later tender's draws) stays as it was */
        rng keep = g->r;
        g->r = g->r2;
        n += draw_companies(g, p, 1, who + 1, who, 1, 0);
        g->r2 = g->r;
        g->r = keep;
        r = &g->r2;
    }
    t->first_abid = g->nab;
    int steps = n == 1 ? 0 : 5 + pick(r, 36);
    double premium = n == 1 ? 0 : uniform(r, 0.10, 0.30);
    int64_t at = t->deadline + (int64_t)uniform(r, 60, 600);
    /* 挂牌: the first 2–4 offers (1 when uncontested), in the last hours before the
     * deadline (after the deposits, paid 1–10 days before) */
    int listing = n == 1 ? 1 : 2 + pick(&g->r2, 3);
    if (listing > steps + 1) listing = steps + 1;
    int64_t gap = (int64_t)uniform(&g->r2, 1200, 14400);
    int64_t ends = t->deadline + (live ? AUCTION_LIVE_MINUTES : 30) * 60;
    int last = -1, lead = -1;
    for (int s = 0; s <= steps; s++) {
        if (g->nab == g->capab) {
            g->capab = g->capab ? 2 * g->capab : 2048;
            g->ab = xrealloc(g->ab, (size_t)g->capab * sizeof(abidplan));
        }
        int k = pick(r, n);
        if (n > 1 && k == last) k = (k + 1) % n;
        int64_t when = s < listing ? t->deadline - (int64_t)(listing - s) * gap : at;
        if (s >= listing)
            at += (int64_t)uniform(r, 20, 280);
        else
            (void)uniform(r, 20, 280);
        if (live && when > g->now - 60) { /* the live one: offers so far (r drawn on) */
            last = k;
            continue;
        }
        g->ab[g->nab++] = (abidplan){
            .tender = ti, .company = who[k], .step = s, .listing = s < listing, .at = when};
        last = k;
        lead = who[k];
        /* 延时: gaps are under 300 s, so a bid never jumps past the end */
        if (s >= listing && ends - when < 300) ends = when + 300;
    }
    t->nabids = g->nab - t->first_abid;
    t->winner_company = lead; /* the leader: the last offer written */
    t->nbids = n;             /* participants */
    /* store the step count in bench (unused for sales): the premium per step */
    t->bench = steps ? premium / steps : 0;
    t->award_ratio = 1 + (steps ? premium * g->ab[g->nab - 1].step / steps : 0);
    t->a_ends = n > 1 ? ends : 0;
    if (live) return;
    int64_t done = n > 1 ? ends : t->deadline;
    if (t->awarded < done + 60) t->awarded = done + 60;
    if (t->contracted && t->contracted < t->awarded) t->contracted = 0;
}

static void plan_tenders(demo *g, int count) {
    rng *r = &g->r;
    g->nt = count;
    g->t = xcalloc((size_t)count, sizeof(tplan));
    for (int i = 0; i < count; i++) {
        tplan *t = &g->t[i];
        double x = U(r);
        int k = 0;
        while (k < K_COUNT - 1 && x >= kind_cdf[k])
            k++;
        t->kind = k;
        t->status = S_DONE;
        t->electronic = U(r) < 0.98;
        /* ~95% of the electronic openings are remote (不见面); the others on site */
        t->remote = t->electronic && U(r) < 0.95;
        t->method = k >= K_PROPERTY    ? 3
                    : k == K_PROC      ? (U(r) < 0.7 ? 1 : 0)
                    : (x = U(r)) < 0.4 ? 2
                    : x < 0.75         ? 1
                                       : 0;
        switch (k) {
        case K_WORKS:
            t->budget = clampd(lognormal(r, 1.8e7, 1.1), 5e5, 2e9);
            break;
        case K_PROC:
            t->budget = clampd(lognormal(r, 1.6e6, 1.0), 2e5, 2e8);
            break;
        case K_PROPERTY:
            t->reserve = clampd(lognormal(r, 2.5e6, 1.0), 1e5, 5e8);
            break;
        case K_LAND:
            t->reserve = clampd(lognormal(r, 1.0e8, 0.9), 5e6, 4e9);
            break;
        default:
            t->reserve = clampd(lognormal(r, 3e5, 0.8), 2e4, 2e7);
        }
        t->bench = t->method == 2 ? uniform(r, 0.95, 0.98) : 0;
        title_for(g, t);
    }
    /* a few big land sales (the city's amount is dominated by them) */
    int big = count / 150 + 1;
    for (int i = 0, done = 0; i < count && done < big; i++)
        if (g->t[i].kind == K_LAND && i % 3 == 0) {
            g->t[i].reserve *= 8;
            done++;
        }
    /* special statuses, at spread-out positions of the right kinds */
    /* kinds: 0 any, 1 works or procurement, 2 sales, 3 procurement (the live ones
     * come last and avoid works, so the planted groups' tenders stay as they were) */
    struct {
        int status, n, kinds;
    } quota[] = {{S_ANNOUNCED, count * 15 / 520 < 2 ? 2 : count * 15 / 520, 0},
                 {S_EVALUATION, count >= 100 ? 2 : 1, 1},
                 {S_PUBLICITY, 1, 1},
                 {S_CANCELLED, count / 100 < 1 ? 1 : count / 100, 0},
                 {S_FAILED, count * 4 / 100 < 2 ? 2 : count * 4 / 100, 0},
                 {S_AUCTION, count >= 100 ? 3 : 1, 2},
                 {S_OPENING, 1, 3}};
    int pos = 7;
    for (int q = 0; q < COUNT(quota); q++)
        for (int done = 0, tries = 0; done < quota[q].n && tries < 4 * count; tries++) {
            pos = (pos + 37) % count;
            tplan *t = &g->t[pos];
            int kinds = quota[q].kinds;
            if (t->status != S_DONE || (kinds == 1 && t->kind > K_PROC) ||
                (kinds == 2 && t->kind < K_PROPERTY) || (kinds == 3 && t->kind != K_PROC))
                continue;
            t->status = quota[q].status;
            done++;
        }
    /* the 119-bidder opening: the biggest finished works tender with reasonable_low */
    int widest = -1;
    for (int i = 0; i < count; i++) {
        tplan *t = &g->t[i];
        if (t->kind == K_WORKS && t->status == S_DONE &&
            (widest < 0 || t->budget > g->t[widest].budget))
            widest = i;
    }
    if (widest >= 0) {
        g->t[widest].method = 2;
        g->t[widest].bench = uniform(r, 0.95, 0.98);
    }
    /* planted groups: rig finished works tenders (not the widest) in turn */
    int nworks_done = 0;
    for (int i = 0; i < count; i++)
        nworks_done += g->t[i].kind == K_WORKS && g->t[i].status == S_DONE;
    int per = g->ngroups ? nworks_done / (g->ngroups * 4) : 0;
    if (per > 8) per = 8;
    if (per < 3) per = 3;
    int gi = 0;
    for (int i = 0; i < count && g->ngroups; i++) {
        tplan *t = &g->t[(i * 7 + 3) % count];
        if (t->kind != K_WORKS || t->status != S_DONE || t == &g->t[widest] || t->group) continue;
        int tries = 0;
        while (g->group_tenders[gi] >= per && tries++ < g->ngroups)
            gi = (gi + 1) % g->ngroups;
        if (g->group_tenders[gi] >= per) break;
        t->group = gi + 1;
        g->group_tenders[gi]++;
        gi = (gi + 1) % g->ngroups;
    }
    /* Rigged tenders are scored by lowest price or 综合评分法: under 合理低价法 the
     * benchmark, not the group, would pick the winner (their rotation is the ground
     * truth). The rigged, the widest and the live hall are electronic (the others
     * keep their draw: ~2% of tenders are paper ones, without electronic bids). */
    for (int i = 0; i < count; i++) {
        tplan *t = &g->t[i];
        if (t->group && t->method == 2) t->method = i % 2;
        if ((t->group || i == widest || t->status == S_OPENING) && !t->electronic) {
            t->electronic = 1;
            t->remote = U(&g->r2) < 0.95;
        }
    }
    /* dates and numbers: numbered per kind and year in order of announcement */
    for (int i = 0; i < count; i++)
        dates_for(g, &g->t[i]);
    int seq[K_COUNT][3] = {{0}};
    int64_t *order = xmalloc((size_t)count * sizeof(int64_t));
    for (int i = 0; i < count; i++)
        order[i] = g->t[i].announce * 65536 + i;
    for (int i = 1; i < count; i++) /* insertion sort: count is small */
        for (int j = i; j > 0 && order[j - 1] > order[j]; j--) {
            int64_t s = order[j];
            order[j] = order[j - 1];
            order[j - 1] = s;
        }
    int base_year = 0;
    {
        char iso[32];
        time_iso(iso, sizeof(iso), g->now - 400 * DAY);
        base_year = (int)strtol(iso, NULL, 10);
    }
    for (int i = 0; i < count; i++) {
        tplan *t = &g->t[order[i] % 65536];
        char iso[32];
        time_iso(iso, sizeof(iso), t->announce + CST);
        int year = (int)strtol(iso, NULL, 10);
        int yi = year - base_year;
        if (yi < 0) yi = 0;
        if (yi > 2) yi = 2;
        snprintf(t->no, sizeof(t->no), "ZS-%s-%04d-%04d", kind_codes[t->kind], year,
                 ++seq[t->kind][yi]);
    }
    free(order);
    /* bids and auctions */
    int rot[MAX_GROUPS] = {0};
    for (int i = 0; i < count; i++) {
        tplan *t = &g->t[i];
        t->winner_bid = -1;
        t->winner_company = -1;
        if (t->status == S_CANCELLED) continue;
        if (t->kind >= K_PROPERTY) {
            if (t->status == S_DONE || t->status == S_AUCTION) plan_auction(g, i);
            continue;
        }
        int n;
        if (t->status == S_ANNOUNCED)
            n = pick(r, 4);
        else if (t->status == S_FAILED)
            n = pick(r, 3);
        else if (i == widest)
            n = 119;
        else
            n = 3 + (int)clampd(exp(1.5 + 0.7 * normal(r)), 0, 27);
        int cap = g->npool[t->kind == K_WORKS ? CO_WORKS : CO_SUPPLY];
        if (n > cap) n = cap;
        int grp = t->group;
        int designated = grp ? rot[grp - 1]++ % g->group_size[grp - 1] : 0;
        plan_sealed(g, i, n, grp, designated);
        if (t->status == S_FAILED) t->winner_bid = -1, t->award_ratio = 0;
        /* paper tenders still open have no electronic bids to seal yet */
        if (!t->electronic && t->status == S_ANNOUNCED) t->nbids = 0;
    }
    /* sales that found no bidder fail */
    for (int i = 0; i < count; i++) {
        tplan *t = &g->t[i];
        if (t->kind >= K_PROPERTY && t->status == S_DONE && t->nabids == 0) t->status = S_FAILED;
    }
}

/* ---- the rows ---- */

static const char USERS_COLS[] =
    "users (id, login, display_name, role, password_hash, disabled, created_at, updated_at, "
    "password_changed_at)";
static const char COMPANIES_COLS[] =
    "trade_companies (id, uscc, name, legal_rep, phone, address, created_at, updated_at)";
static const char CU_COLS[] = "trade_company_users (user_id, company_id, created_at)";
static const char ROOTS_COLS[] =
    "ca_roots (id, name, subject, fingerprint, key_type, pem, home, not_after, disabled, added_at)";
static const char CERTS_COLS[] =
    "trade_certs (id, user_id, company_id, fingerprint, serial, subject, issuer, key_type, "
    "pubkey_sha256, ca_root_id, pem, not_before, not_after, status, registered_at)";
static const char LOGINS_COLS[] = "ca_logins (user_id, cert_id, ca_root_id, foreign_ca, at)";
static const char TENDERS_COLS[] =
    "tenders (id, tender_no, kind, title, buyer, agency, budget_fen, reserve_fen, deposit_fen, "
    "method, method_params, qualification, description, status, announce_at, questions_until, "
    "deadline_at, evaluation_at, publicity_days, publicity_until, remote_opening, electronic, "
    "benchmark_factor, award_bid_id, award_company_id, award_fen, awarded_at, contract_no, "
    "contract_fen, contracted_at, failed_reason, cancelled_reason, auction_ends_at, "
    "auction_price_fen, auction_leader_id, created_by, created_at, updated_at)";
static const char NOTICES_COLS[] =
    "tender_notices (tender_id, kind, title, body, created_by, created_at)";
static const char DEPOSITS_COLS[] =
    "trade_deposits (tender_id, company_id, amount_fen, account_no, "
    "account_name, bank, paid_at, status)";
static const char BIDS_COLS[] =
    "bids (id, tender_id, company_id, user_id, cert_id, seq, status, envelope_kind, "
    "envelope_sha256, envelope_size, to_backup, commitment_sha256, commitment_sig, receipt, "
    "receipt_sig, client_ip, machine_id, submitted_at, decrypted_at, decrypted_via, price_fen, "
    "duration_days, quality, project_manager, deposit_ref, form, documents, invalid_reason, "
    "created_at, updated_at)";
static const char OPENINGS_COLS[] =
    "openings (tender_id, status, host_id, started_at, decrypt_until, objections_until, "
    "closed_at, watchers_max, updated_at)";
static const char SIGNINS_COLS[] = "opening_signins (tender_id, company_id, user_id, at)";
static const char TEXPERTS_COLS[] =
    "tender_experts (tender_id, expert_id, draw_seq, chair, drawn_at, submitted_at)";
static const char ESCORES_COLS[] =
    "expert_scores (tender_id, expert_id, bid_id, tech_score, comment, at)";
static const char RESULTS_COLS[] =
    "tender_results (tender_id, bid_id, company_id, valid, reason, price_fen, price_score, "
    "tech_score, total_score, rank, outliers)";
static const char ABIDS_COLS[] =
    "auction_bids (tender_id, company_id, user_id, amount_fen, client_ip, at, phase)";
static const char ABIDDERS_COLS[] =
    "auction_bidders (tender_id, company_id, bidder_no, created_at)";
static const char EVENTS_COLS[] = "opening_events (tender_id, seq, kind, data, at)";
static const char PLANTED_COLS[] = "trade_demo_planted (group_no, company_id, pattern, tenders)";

static void buffers_init(demo *g) {
    g->users = (db_bulk){.target = USERS_COLS, .ncols = 9};
    g->companies = (db_bulk){.target = COMPANIES_COLS, .ncols = 8};
    g->cu = (db_bulk){.target = CU_COLS, .ncols = 3};
    g->roots = (db_bulk){.target = ROOTS_COLS, .ncols = 10};
    g->certs = (db_bulk){.target = CERTS_COLS, .ncols = 15};
    g->logins = (db_bulk){.target = LOGINS_COLS, .ncols = 5};
    g->tenders = (db_bulk){.target = TENDERS_COLS, .ncols = 38};
    g->notices = (db_bulk){.target = NOTICES_COLS, .ncols = 6};
    g->deposits = (db_bulk){.target = DEPOSITS_COLS, .ncols = 8};
    g->bids = (db_bulk){.target = BIDS_COLS, .ncols = 30};
    g->openings = (db_bulk){.target = OPENINGS_COLS, .ncols = 9};
    g->signins = (db_bulk){.target = SIGNINS_COLS, .ncols = 4};
    g->texperts = (db_bulk){.target = TEXPERTS_COLS, .ncols = 6};
    g->escores = (db_bulk){.target = ESCORES_COLS, .ncols = 6};
    g->results = (db_bulk){.target = RESULTS_COLS, .ncols = 11};
    g->abids = (db_bulk){.target = ABIDS_COLS, .ncols = 7};
    g->abidders = (db_bulk){.target = ABIDDERS_COLS, .ncols = 4};
    g->events = (db_bulk){.target = EVENTS_COLS, .ncols = 5};
    g->planted = (db_bulk){.target = PLANTED_COLS, .ncols = 4};
}

static db_bulk *all_buffers(demo *g, int i) {
    /* in foreign-key order */
    db_bulk *order[] = {&g->users,    &g->companies, &g->cu,       &g->roots,    &g->certs,
                        &g->logins,   &g->tenders,   &g->notices,  &g->deposits, &g->bids,
                        &g->openings, &g->signins,   &g->texperts, &g->escores,  &g->results,
                        &g->abids,    &g->abidders,  &g->planted,  &g->events};
    return i < COUNT(order) ? order[i] : NULL;
}

static const char *const root_names[3] = {"舟山市公共资源交易CA", "浙江省数字证书CA", "国信SM2 CA"};

static int make_pki(demo *g, err *e) {
    int64_t nb = g->now - 3 * 365 * DAY, na = g->now + 10 * 365 * DAY;
    char iso_now[32];
    time_iso(iso_now, sizeof(iso_now), g->now - 400 * DAY);
    for (int i = 0; i < 3; i++) {
        g->root_key[i] = key_new(i == 2);
        if (!g->root_key[i]) return err_internal(e, "无法生成演示 CA 密钥");
        g->root_cert[i] = cert_make(g->root_key[i], root_names[i], root_names[i], NULL, NULL,
                                    rng_next(&g->r) >> 1, nb, na);
        if (!g->root_cert[i]) return err_internal(e, "无法生成演示 CA 根证书");
        g->root_id[i] = g->next_root++;
        char fp[65], subj[256], exp[32];
        cert_fingerprint(g->root_cert[i], fp);
        name_line(X509_get_subject_name(g->root_cert[i]), subj, sizeof(subj));
        char *pem = cert_pem(g->root_cert[i]);
        db_bulk *t = &g->roots;
        db_bulk_int(t, g->root_id[i]);
        db_bulk_text(t, root_names[i]);
        db_bulk_text(t, subj);
        db_bulk_text(t, fp);
        db_bulk_text(t, i == 2 ? "sm2" : "ec");
        db_bulk_text(t, pem);
        db_bulk_int(t, i == 0);
        db_bulk_text(t, time_iso(exp, sizeof(exp), na));
        db_bulk_int(t, 0);
        db_bulk_text(t, iso_now);
        free(pem);
    }
    return 0;
}

static int write_companies(demo *g, err *e) {
    char created[32];
    time_iso(created, sizeof(created), g->now - 420 * DAY);
    int64_t nb = g->now - 400 * DAY, na = g->now + 2 * 365 * DAY;
    for (int i = 0; i < g->nco; i++) {
        company *c = &g->co[i];
        c->id = g->next_company++;
        c->user_id = g->next_user++;
        c->cert_id = g->next_cert++;
        char login[32];
        snprintf(login, sizeof(login), "demo.t%04d", i + 1);
        db_bulk *t = &g->users;
        db_bulk_int(t, c->user_id);
        db_bulk_text(t, login);
        db_bulk_text(t, c->name);
        db_bulk_text(t, "bidder");
        db_bulk_text(t, DEMO_HASH);
        db_bulk_int(t, 0);
        db_bulk_text(t, created);
        db_bulk_text(t, created);
        db_bulk_text(t, created);
        t = &g->companies;
        db_bulk_int(t, c->id);
        db_bulk_text(t, c->uscc);
        db_bulk_text(t, c->name);
        db_bulk_text(t, c->legal_rep);
        db_bulk_text(t, c->phone);
        db_bulk_text(t, c->address);
        db_bulk_text(t, created);
        db_bulk_text(t, created);
        t = &g->cu;
        db_bulk_int(t, c->user_id);
        db_bulk_int(t, c->id);
        db_bulk_text(t, created);
        /* the certificate */
        c->key = key_new(c->root == 2);
        if (!c->key) return err_internal(e, "无法生成演示企业密钥");
        c->cert = cert_make(c->key, c->name, c->name, g->root_cert[c->root], g->root_key[c->root],
                            rng_next(&g->r) >> 1, nb + pick(&g->r, 30) * DAY, na);
        if (!c->cert) return err_internal(e, "无法签发演示企业证书");
        char fp[65], pk[65], subj[256], iss[256], serial[40], a[32], b[32];
        cert_fingerprint(c->cert, fp);
        pubkey_sha256(c->cert, pk);
        name_line(X509_get_subject_name(c->cert), subj, sizeof(subj));
        name_line(X509_get_issuer_name(c->cert), iss, sizeof(iss));
        uint64_t sv = 0;
        ASN1_INTEGER_get_uint64(&sv, X509_get0_serialNumber(c->cert));
        snprintf(serial, sizeof(serial), "%llx", (unsigned long long)sv);
        char *pem = cert_pem(c->cert);
        t = &g->certs;
        db_bulk_int(t, c->cert_id);
        db_bulk_int(t, c->user_id);
        db_bulk_int(t, c->id);
        db_bulk_text(t, fp);
        db_bulk_text(t, serial);
        db_bulk_text(t, subj);
        db_bulk_text(t, iss);
        db_bulk_text(t, c->root == 2 ? "sm2" : "ec");
        db_bulk_text(t, pk);
        db_bulk_int(t, g->root_id[c->root]);
        db_bulk_text(t, pem);
        db_bulk_text(t, time_iso(a, sizeof(a), (int64_t)(nb)));
        db_bulk_text(t, time_iso(b, sizeof(b), na));
        db_bulk_text(t, "active");
        db_bulk_text(t, created);
        free(pem);
        g->counts.companies++;
        g->counts.certs++;
    }
    return 0;
}

static void login_row(demo *g, const company *c, int64_t at) {
    db_bulk *t = &g->logins;
    db_bulk_int(t, c->user_id);
    db_bulk_int(t, c->cert_id);
    db_bulk_int(t, g->root_id[c->root]);
    db_bulk_int(t, c->root != 0);
    db_bulk_time(t, at);
    g->counts.logins++;
}

static void notice(demo *g, const tplan *t, const char *kind, const char *title, const char *body,
                   int64_t at) {
    db_bulk *n = &g->notices;
    char full[300];
    snprintf(full, sizeof(full), "%s%s", t->title, title);
    db_bulk_int(n, t->id);
    db_bulk_text(n, kind);
    db_bulk_text(n, full);
    db_bulk_text(n, body);
    db_bulk_id(n, g->staff_id);
    db_bulk_time(n, at);
}

static void deposit(demo *g, const tplan *t, int64_t fen, const company *c, int64_t at,
                    const char *status) {
    db_bulk *d = &g->deposits;
    db_bulk_int(d, t->id);
    db_bulk_int(d, c->id);
    db_bulk_int(d, fen);
    db_bulk_text(d, c->account);
    db_bulk_text(d, c->account_name);
    db_bulk_text(d, c->bank);
    db_bulk_time(d, at);
    db_bulk_text(d, status);
    g->counts.deposits++;
}

static int64_t fen_of(double yuan, int64_t unit) { /* rounded to unit fen */
    return llround(yuan * 100.0 / (double)unit) * unit;
}

static char *b64(const void *data, size_t n) {
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

/* One sealed bid's rows: the plaintext is rebuilt as the bidder sealed it, the
 * commitment signed with the company's key, the receipt signed by the centre. */
static int write_bid(demo *g, tplan *t, bidplan *b, int64_t budget_fen, int64_t deposit_fen,
                     err *e) {
    company *c = &g->co[b->company];
    int64_t price = bid_price(budget_fen, b->ratio);
    b->price_fen = price;
    if (!b->sealed && t->winner_bid >= 0 && &g->b[t->winner_bid] == b) t->award_fen = price;
    char price_s[32], deposit_ref[64], sha_plain[65], envelope_sha[65], commit[200],
        commit_sig[200], at[32];
    trade_money_str(price, price_s, sizeof(price_s));
    snprintf(deposit_ref, sizeof(deposit_ref), "BZJ-%s-%lld", t->no, (long long)c->id);
    /* documents: 技术标 (copied from the designated winner for same_file groups) and 商务标 */
    const company *src = b->same_file_of >= 0 ? &g->co[b->same_file_of] : c;
    char tech[600], comm[400];
    snprintf(tech, sizeof(tech),
             "技术标\n项目：%s（%s）\n投标人：%s\n施工组织设计：质量合格，安全文明施工，"
             "工期%d日历天。\n编制人：%s\n",
             t->title, t->no, src->name, b->duration, src->author);
    snprintf(comm, sizeof(comm), "商务标\n项目：%s\n投标人：%s\n投标报价：%s元\n", t->no, c->name,
             price_s);
    const char *docs[2] = {tech, comm};
    const char *doc_names[2] = {"技术标.docx", "商务标.pdf"};
    json_t *form = json_pack("{s:s, s:i, s:s, s:s, s:s, s:i}", "price", price_s, "duration_days",
                             b->duration, "quality", "合格", "project_manager", b->pm,
                             "deposit_ref", deposit_ref, "lot", 1);
    json_t *plain_docs = json_array(), *meta = json_array();
    for (int k = 0; k < 2; k++) {
        char *enc = b64(docs[k], strlen(docs[k]));
        char dsha[65];
        crypto_sha256_hex(docs[k], strlen(docs[k]), dsha);
        json_array_append_new(plain_docs,
                              json_pack("{s:s, s:s}", "name", doc_names[k], "content_base64", enc));
        json_array_append_new(meta,
                              json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "name", doc_names[k],
                                        "sha256", dsha, "size", (json_int_t)strlen(docs[k]),
                                        "author", k == 0 ? src->author : c->author, "creator",
                                        k == 0 ? "Microsoft Office Word" : "WPS Office", "company",
                                        k == 0 ? src->name : c->name));
        free(enc);
    }
    json_t *plain = json_pack("{s:s, s:s, s:O, s:o}", "tender_no", t->no, "uscc", c->uscc, "form",
                              form, "documents", plain_docs);
    char *plaintext = json_dumps(plain, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(plain);
    crypto_sha256_hex(plaintext, strlen(plaintext), sha_plain);
    snprintf(commit, sizeof(commit), "isle-bid-commitment:v1:%s:%s:%s", t->no, c->uscc, sha_plain);
    if (sign_b64(c->key, commit, commit_sig) != 0) {
        free(plaintext);
        json_decref(form);
        json_decref(meta);
        return err_internal(e, "无法签署演示投标承诺");
    }
    /* The envelope: real CMS for bids still sealed; purged (empty) for opened ones. */
    int64_t env_size = 0;
    crypto_sha256_hex("", 0, envelope_sha);
    if (b->sealed && g->have_dir) {
        unsigned char *der = NULL;
        int len = 0;
        if (cms_envelope(c->cert, plaintext, &der, &len) != 0) {
            free(plaintext);
            json_decref(form);
            json_decref(meta);
            return err_internal(e, "无法生成演示投标信封");
        }
        crypto_sha256_hex(der, (size_t)len, envelope_sha);
        env_size = len;
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", g->bids_dir, envelope_sha);
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(der, 1, (size_t)len, f) == (size_t)len;
        if (f && fclose(f) != 0) ok = 0;
        OPENSSL_free(der);
        if (!ok) {
            free(plaintext);
            json_decref(form);
            json_decref(meta);
            return err_internal(e, "无法保存演示投标信封");
        }
        g->counts.envelopes++;
    }
    free(plaintext);
    time_iso(at, sizeof(at), b->submitted);
    /* the receipt as bids_submit() makes it (bids.c), signed by the proof key */
    json_t *receipt =
        json_pack("{s:I, s:s, s:s, s:i, s:s, s:I, s:s, s:s, s:s}", "bid_id", (json_int_t)b->id,
                  "tender_no", t->no, "uscc", c->uscc, "seq", 1, "envelope_sha256", envelope_sha,
                  "envelope_size", (json_int_t)env_size, "commitment_sha256", sha_plain,
                  "received_at", at, "key_id", g->have_pk ? g->pk.key_id : "");
    char *receipt_s = json_dumps(receipt, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(receipt);
    char receipt_sig[100] = "";
    if (g->have_pk) proofs_sign(&g->pk, receipt_s, receipt_sig, sizeof(receipt_sig));

    db_bulk *r = &g->bids;
    db_bulk_int(r, b->id);
    db_bulk_int(r, t->id);
    db_bulk_int(r, c->id);
    db_bulk_int(r, c->user_id);
    db_bulk_int(r, c->cert_id);
    db_bulk_int(r, 1);
    db_bulk_text(r, b->sealed ? "sealed" : "opened");
    db_bulk_text(r, "cms");
    db_bulk_text(r, envelope_sha);
    db_bulk_int(r, env_size);
    db_bulk_int(r, 0);
    db_bulk_text(r, sha_plain);
    db_bulk_text(r, commit_sig);
    db_bulk_text(r, receipt_s);
    db_bulk_text(r, receipt_sig);
    db_bulk_text(r, c->ip);
    db_bulk_text(r, c->machine);
    db_bulk_time(r, b->submitted);
    if (b->sealed) {
        for (int k = 0; k < 9; k++)
            db_bulk_null(r); /* decrypted_at … documents */
        db_bulk_null(r);     /* invalid_reason */
        json_decref(form);
        json_decref(meta);
    } else {
        /* revealed in the hall's decryption window (write_opening's timeline) */
        b->decrypted = t->h_decrypt + 20 + pick(&g->r, 900);
        if (t->status == S_OPENING) { /* the live hall: revealed so far, before now */
            int64_t span = g->now - 60 - t->h_decrypt;
            b->decrypted =
                t->h_decrypt + 20 + (b->decrypted - t->h_decrypt) % (span > 1 ? span : 1);
        }
        db_bulk_time(r, b->decrypted);
        db_bulk_text(r, "bidder");
        db_bulk_int(r, price);
        db_bulk_int(r, b->duration);
        db_bulk_text(r, "合格");
        db_bulk_text(r, b->pm);
        db_bulk_text(r, deposit_ref);
        bulk_json(r, form);
        bulk_json(r, meta);
        db_bulk_null(r);
    }
    db_bulk_time(r, b->submitted);
    db_bulk_time(r, b->sealed ? b->submitted : b->decrypted);
    free(receipt_s);
    g->counts.bids++;
    /* the deposit, the logins, the sign-in, the result */
    int done = t->status == S_DONE || t->status == S_FAILED;
    deposit(g, t, deposit_fen, c, b->submitted - (int64_t)uniform(&g->r, HOUR, 3 * DAY),
            done && (t->contracted || t->status == S_FAILED) ? "refunded" : "paid");
    login_row(g, c, b->submitted - 120);
    b->signin = 0;
    if (t->has_opening && (!b->sealed || b->hall == 1)) {
        /* signed in once the host started the hall, after a certificate login */
        int64_t login = t->h_start + pick(&g->r, 600) / 2;
        b->signin = login + 10 + pick(&g->r, 540) / 4;
        if (t->status == S_OPENING) { /* the live hall: signed in before the decryption */
            int64_t span = t->h_decrypt - t->h_start - 30;
            b->signin = t->h_start + 15 + (b->signin - t->h_start) % (span > 1 ? span : 1);
            login = b->signin - 10;
        }
        login_row(g, c, login);
        db_bulk *s = &g->signins;
        db_bulk_int(s, t->id);
        db_bulk_int(s, c->id);
        db_bulk_int(s, c->user_id);
        db_bulk_time(s, b->signin);
    }
    if (!b->sealed && (t->status == S_DONE || t->status == S_PUBLICITY)) {
        /* the row evaluate_compute() writes: evaluate_rank's figures, tech 0 for the
         * qualification methods, invalid bids with rank 0 and zero scores */
        db_bulk *x = &g->results;
        db_bulk_int(x, t->id);
        db_bulk_int(x, b->id);
        db_bulk_int(x, c->id);
        db_bulk_int(x, !b->invalid);
        if (b->invalid)
            db_bulk_text(x, invalid_reasons[b->invalid - 1]);
        else
            db_bulk_null(x);
        db_bulk_int(x, price);
        db_bulk_real(x, b->invalid ? 0.0 : b->price_score);
        db_bulk_real(x, t->method == 1 ? round2d(b->tech) : 0.0);
        db_bulk_real(x, b->invalid ? 0.0 : b->total);
        db_bulk_int(x, b->invalid ? 0 : b->rank);
        db_bulk_text(x, "[]");
    }
    return 0;
}

static int write_tender(demo *g, tplan *t, double scale, err *e) {
    rng *r = &g->r;
    int sale = t->kind >= K_PROPERTY;
    int64_t budget_fen = sale ? 0 : fen_of(t->budget * scale, 1000000); /* whole 万元 */
    int64_t reserve_fen = sale ? fen_of(t->reserve * scale, 1000000) : 0;
    if (!sale && budget_fen < 1000000) budget_fen = 1000000;
    if (sale && reserve_fen < 1000000) reserve_fen = 1000000;
    int64_t base = sale ? reserve_fen : budget_fen;
    int64_t deposit_fen = sale ? fen_of((double)base / 100.0 * 0.2, 100000)
                               : fen_of((double)base / 100.0 * 0.02, 100000);
    if (!sale && deposit_fen > 80000000) deposit_fen = 80000000; /* ≤ 80万 (招标投标法实施条例) */
    t->award_fen = 0;
    /* Paper tenders (electronic = 0) were bid and opened on paper: no electronic bid,
     * hall or result rows; the award is still the winner's price. */
    int paper = !sale && !t->electronic;
    t->has_opening =
        !sale && !paper && t->nbids > 0 && t->status != S_ANNOUNCED && t->status != S_CANCELLED;
    if (t->has_opening) { /* the hall's timeline (see write_opening) */
        t->h_start = t->deadline + 60;
        t->h_decrypt = t->h_start + 480;
        t->h_decrypt_until = t->h_decrypt + 1800;
        if (t->status == S_OPENING) { /* in progress: the window ends in 20–30 minutes */
            t->h_start = t->deadline + 30;
            t->h_decrypt = g->now - 900 - pick(&g->r2, 300);
            if (t->h_decrypt < t->h_start + 300) t->h_decrypt = t->h_start + 300;
            t->h_decrypt_until = g->now + 1200 + pick(&g->r2, 600);
        }
    }
    /* ranks with the real prices (the plan's were at a nominal budget) */
    if (!sale && (t->status == S_DONE || t->status == S_PUBLICITY) && t->nbids > 0)
        rank_bids(g, t, budget_fen);
    /* bids first: the award is the winner's price */
    for (int i = 0; i < t->nbids && !sale && !paper; i++) {
        bidplan *b = &g->b[t->first_bid + i];
        if (b->sealed && !g->have_dir) continue; /* no place for its envelope: not written */
        if (write_bid(g, t, b, budget_fen, deposit_fen, e) != 0) return -1;
    }
    if (paper && t->winner_bid >= 0)
        t->award_fen = bid_price(budget_fen, g->b[t->winner_bid].ratio);
    int64_t step_fen = 0;
    if (sale && t->nabids) {
        step_fen = fen_of((double)reserve_fen / 100.0 * t->bench, 10000);
        if (t->nabids > 1 && step_fen < 10000) step_fen = 10000;
        /* participants: a deposit (报名) and a login each */
        int seen[8], nseen = 0;
        for (int i = 0; i < t->nabids; i++) {
            abidplan *a = &g->ab[t->first_abid + i];
            int dup = 0;
            for (int j = 0; j < nseen; j++)
                dup |= seen[j] == a->company;
            if (!dup && nseen < 8) {
                seen[nseen++] = a->company;
                deposit(g, t, deposit_fen, &g->co[a->company],
                        t->deadline - (int64_t)uniform(r, DAY, 10 * DAY),
                        t->contracted ? "refunded" : "paid");
                login_row(g, &g->co[a->company], a->at - 120);
            }
            if (!dup) { /* the 竞买号, given at the company's first offer (auction.c) */
                db_bulk *x = &g->abidders;
                db_bulk_int(x, t->id);
                db_bulk_int(x, g->co[a->company].id);
                db_bulk_int(x, nseen);
                db_bulk_time(x, a->at);
            }
            int64_t amount = reserve_fen + a->step * step_fen;
            db_bulk *x = &g->abids;
            db_bulk_int(x, t->id);
            db_bulk_int(x, g->co[a->company].id);
            db_bulk_int(x, g->co[a->company].user_id);
            db_bulk_int(x, amount);
            db_bulk_text(x, g->co[a->company].ip);
            db_bulk_time(x, a->at);
            db_bulk_text(x, a->listing ? "listing" : "auction");
            t->award_fen = amount;
            g->counts.auction_bids++;
        }
    }
    int64_t live_price = 0;
    if (t->status == S_AUCTION) live_price = t->award_fen, t->award_fen = 0;
    int awarded = t->status == S_DONE && t->award_fen > 0;
    const bidplan *win = !sale && t->winner_bid >= 0 ? &g->b[t->winner_bid] : NULL;
    const company *winner = win                              ? &g->co[win->company]
                            : sale && t->winner_company >= 0 ? &g->co[t->winner_company]
                                                             : NULL;
    static const char *const status_ids[] = {"contracted", "failed",    "cancelled", "announced",
                                             "evaluation", "publicity", "auction",   "opening"};
    const char *status = status_ids[t->status];
    if (t->status == S_DONE) status = t->contracted ? "contracted" : "awarded";
    int64_t updated = t->contracted              ? t->contracted
                      : t->awarded               ? t->awarded
                      : t->status == S_PUBLICITY ? t->eval_at
                      : t->status == S_ANNOUNCED ? t->announce
                      : t->status == S_AUCTION   ? t->deadline
                      : t->status == S_OPENING   ? t->h_start
                                                 : t->deadline + 2 * HOUR;
    if (t->status == S_CANCELLED) updated = t->announce + 5 * DAY;
    char contract_no[48] = "";
    if (awarded && t->contracted) snprintf(contract_no, sizeof(contract_no), "HT-%s", t->no + 3);
    json_t *params =
        t->method == 1   ? json_pack("{s:i, s:i}", "price_weight", 30, "tech_weight", 70)
        : t->method == 2 ? json_pack("{s:f, s:f}", "factor_min", 0.95, "factor_max", 0.98)
        : t->method == 3
            ? json_pack("{s:I, s:i, s:i}", "increment_fen",
                        (json_int_t)(step_fen ? step_fen : 1000000), "extend_seconds", 300,
                        "auction_minutes", t->status == S_AUCTION ? AUCTION_LIVE_MINUTES : 30)
            : json_object();
    db_bulk *x = &g->tenders;
    db_bulk_int(x, t->id);
    db_bulk_text(x, t->no);
    db_bulk_text(x, kind_ids[t->kind]);
    db_bulk_text(x, t->title);
    db_bulk_text(x, t->buyer);
    db_bulk_text(x, t->agency);
    db_bulk_id(x, budget_fen);
    db_bulk_id(x, reserve_fen);
    db_bulk_int(x, deposit_fen);
    db_bulk_text(x, method_ids[t->method]);
    bulk_json(x, params);
    db_bulk_text(
        x, t->kind == K_WORKS
               ? "具备建筑工程施工总承包三级及以上资质，拟派项目经理具备二级及以上注册建造师资格"
           : t->kind == K_PROC
               ? "具有独立承担民事责任的能力，具有良好的商业信誉和健全的财务会计制度"
               : "中华人民共和国境内的法人、其他组织（法律法规另有规定的除外）");
    db_bulk_text(x, sale ? "详见出让公告及竞买须知。" : "详见招标文件。");
    db_bulk_text(x, status);
    db_bulk_time(x, t->announce);
    db_bulk_time(x, t->deadline - 10 * DAY > t->announce ? t->deadline - 10 * DAY : 0);
    db_bulk_time(x, t->deadline);
    db_bulk_time(x, t->eval_at && t->status != S_ANNOUNCED ? t->eval_at : 0);
    db_bulk_int(x, 3);
    db_bulk_time(x, t->publicity_until && (t->status == S_DONE || t->status == S_PUBLICITY)
                        ? t->publicity_until
                        : 0);
    db_bulk_int(x, t->remote);
    db_bulk_int(x, t->electronic);
    if (t->method == 2 && t->status != S_ANNOUNCED && t->status != S_CANCELLED)
        db_bulk_real(x, round(t->bench * 10000) / 10000);
    else
        db_bulk_null(x);
    db_bulk_id(x, awarded && win ? win->id : 0);
    db_bulk_id(x, awarded && winner ? winner->id : 0);
    db_bulk_id(x, awarded ? t->award_fen : 0);
    db_bulk_time(x, awarded ? t->awarded : 0);
    db_bulk_text(x, contract_no[0] ? contract_no : NULL);
    db_bulk_id(x, contract_no[0] ? t->award_fen : 0);
    db_bulk_time(x, contract_no[0] ? t->contracted : 0);
    const char *failed = t->status != S_FAILED ? NULL
                         : sale ? "挂牌期满无人报名竞买，本次出让终止"
                                : "有效投标人不足3家，依法重新招标";
    db_bulk_text(x, failed);
    db_bulk_text(x, t->status == S_CANCELLED ? "招标人调整建设计划，终止本次招标" : NULL);
    db_bulk_time(x, sale ? t->a_ends : 0);
    db_bulk_id(x, sale && t->nabids ? (live_price ? live_price : t->award_fen) : 0);
    db_bulk_id(x, sale && winner ? winner->id : 0);
    db_bulk_id(x, g->staff_id);
    db_bulk_time(x, t->announce - DAY);
    db_bulk_time(x, updated);
    g->counts.tenders++;
    if (awarded) {
        g->counts.amount_fen += t->award_fen;
        if (!sale) {
            g->counts.budget_fen += budget_fen;
            g->counts.savings_fen += budget_fen - t->award_fen;
        }
    }
    return 0;
}

/* The notices of a tender (after its row). */
static void write_notices(demo *g, const tplan *t) {
    int sale = t->kind >= K_PROPERTY;
    char body[400];
    snprintf(body, sizeof(body), "%s：%s（编号 %s）已进场交易，投标（竞买）截止时间见交易系统。",
             t->buyer, t->title, t->no);
    notice(g, t, "announcement",
           sale                 ? "出让公告"
           : t->kind == K_WORKS ? "招标公告"
                                : "采购公告",
           body, t->announce);
    if (t->status == S_CANCELLED)
        notice(g, t, "cancelled", "终止公告", "招标人调整建设计划，终止本次招标。",
               t->announce + 5 * DAY);
    if (t->status == S_FAILED)
        notice(g, t, "failed", sale ? "流拍公告" : "流标公告",
               sale ? "挂牌期满无人报名竞买，本次出让终止。" : "有效投标人不足3家，依法重新招标。",
               t->deadline + 2 * HOUR);
    if (!sale && (t->status == S_DONE || t->status == S_PUBLICITY) && t->eval_at)
        notice(g, t, "candidates", "中标候选人公示",
               "评标委员会已完成评审，现将中标候选人公示如下，公示期3日。", t->eval_at + HOUR);
    if (t->status == S_DONE && t->award_fen > 0) {
        char money[48];
        trade_money_display(t->award_fen, money, sizeof(money));
        const company *w = sale ? &g->co[t->winner_company] : &g->co[g->b[t->winner_bid].company];
        snprintf(body, sizeof(body), "%s：%s，%s %s。", sale ? "竞得人" : "中标人", w->name,
                 sale ? "成交价" : "中标价", money);
        notice(g, t, sale ? "result" : "award", sale ? "成交结果公告" : "中标结果公告", body,
               t->awarded);
    }
}

/* The hall as opening.c leaves it: start (deadline + 1 min), sign-in, a 30-minute
 * decryption window in which every bidder revealed its bid, close of decryption
 * after the last one, a 10-minute objection window, confirmation, close. The live
 * hall stays in 'decrypting'. */
static void write_opening(demo *g, tplan *t) {
    if (!t->has_opening) return;
    int64_t closed = t->deadline + (int64_t)uniform(&g->r, 40, 100) * 60;
    int watchers = t->nbids + pick(&g->r, 12);
    int live = t->status == S_OPENING;
    int64_t last = t->h_decrypt;
    for (int i = 0; i < t->nbids; i++) {
        const bidplan *b = &g->b[t->first_bid + i];
        if (!b->sealed && b->decrypted > last) last = b->decrypted;
    }
    if (!live) {
        t->h_dclosed = last + 30;
        t->h_obj_open = t->h_dclosed + 60;
        t->h_obj_until = t->h_obj_open + 600;
        t->h_confirm = t->h_obj_until + 60;
        if (closed < t->h_confirm + 300) closed = t->h_confirm + 300;
        t->h_closed = closed;
    }
    db_bulk *o = &g->openings;
    db_bulk_int(o, t->id);
    db_bulk_text(o, live ? "decrypting" : "closed");
    db_bulk_id(o, g->staff_id);
    db_bulk_time(o, t->h_start);
    db_bulk_time(o, t->h_decrypt_until);
    db_bulk_time(o, live ? 0 : t->h_obj_until);
    db_bulk_time(o, live ? 0 : closed);
    db_bulk_int(o, watchers);
    db_bulk_time(o, live ? g->now - 20 : closed);
}

/* One hall event as trade_event_append() stores it (data with seq, kind, at). */
static void event_row(demo *g, const tplan *t, int *seq, const char *kind, json_t *data,
                      int64_t at) {
    char iso[32];
    time_iso(iso, sizeof(iso), at);
    json_object_set_new(data, "seq", json_integer(++*seq));
    json_object_set_new(data, "kind", json_string(kind));
    json_object_set_new(data, "at", json_string(iso));
    db_bulk *x = &g->events;
    db_bulk_int(x, t->id);
    db_bulk_int(x, *seq);
    db_bulk_text(x, kind);
    bulk_json(x, data);
    db_bulk_text(x, iso);
}

/* The order of a tender's bids by a time (insertion sort: n ≤ 130). */
static void bids_by(demo *g, const tplan *t, int signin, int *idx, int *n) {
    *n = 0;
    for (int i = 0; i < t->nbids; i++) {
        const bidplan *b = &g->b[t->first_bid + i];
        int64_t k = signin ? b->signin : b->decrypted;
        if (signin ? !b->signin : (b->sealed || !b->decrypted)) continue;
        int j = (*n)++;
        while (j > 0) {
            const bidplan *p = &g->b[t->first_bid + idx[j - 1]];
            if ((signin ? p->signin : p->decrypted) <= k) break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
}

/* The hall's event log (opening_events), as opening.c appends it step by step: what
 * the hall page replays and the record of who did what when. */
static void write_events(demo *g, tplan *t) {
    if (!t->has_opening) return;
    int live = t->status == S_OPENING, seq = 0, n = 0,
        *idx = xmalloc((size_t)t->nbids * sizeof(int) + 1);
    char iso[32];
    event_row(g, t, &seq, "hall_started",
              json_pack("{s:s, s:s, s:s, s:I}", "tender_no", t->no, "title", t->title, "host",
                        g->staff_name, "sealed_bids", (json_int_t)t->nbids),
              t->h_start);
    bids_by(g, t, 1, idx, &n);
    for (int i = 0; i < n; i++) {
        const bidplan *b = &g->b[t->first_bid + idx[i]];
        const company *c = &g->co[b->company];
        event_row(g, t, &seq, "signed_in",
                  json_pack("{s:I, s:s, s:s, s:I}", "company_id", (json_int_t)c->id, "company_name",
                            c->name, "at", time_iso(iso, sizeof(iso), b->signin), "signins",
                            (json_int_t)(i + 1)),
                  b->signin);
    }
    int signins = n;
    event_row(g, t, &seq, "decrypt_started",
              json_pack("{s:s, s:i, s:I}", "decrypt_until",
                        time_iso(iso, sizeof(iso), t->h_decrypt_until), "minutes",
                        (int)((t->h_decrypt_until - t->h_decrypt) / 60), "signins",
                        (json_int_t)signins),
              t->h_decrypt);
    if (signins < TRADE_MIN_VALID_BIDS) {
        char msg[160];
        snprintf(msg, sizeof(msg), "签到投标人仅 %d 家，少于 %d 家；有效投标不足 %d 家将依法流标",
                 signins, TRADE_MIN_VALID_BIDS, TRADE_MIN_VALID_BIDS);
        event_row(g, t, &seq, "warning",
                  json_pack("{s:s, s:I}", "message", msg, "signins", (json_int_t)signins),
                  t->h_decrypt);
    }
    bids_by(g, t, 0, idx, &n);
    for (int i = 0; i < n; i++) { /* 唱标: the announce of bids_reveal_tx() */
        const bidplan *b = &g->b[t->first_bid + idx[i]];
        const company *c = &g->co[b->company];
        char price[32], dref[64];
        snprintf(dref, sizeof(dref), "BZJ-%s-%lld", t->no, (long long)c->id);
        event_row(g, t, &seq, "bid_opened",
                  json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:n, s:s}",
                            "bid_id", (json_int_t)b->id, "company_id", (json_int_t)c->id,
                            "company_name", c->name, "uscc", c->uscc, "price_fen",
                            (json_int_t)b->price_fen, "price",
                            trade_money_str(b->price_fen, price, sizeof(price)), "duration_days",
                            b->duration, "quality", "合格", "project_manager", b->pm, "deposit_ref",
                            dref, "status", "opened", "invalid_reason", "via", "bidder"),
                  b->decrypted);
    }
    int opened = n;
    free(idx);
    if (live) return;
    event_row(g, t, &seq, "decrypt_closed",
              json_pack("{s:I, s:i, s:i}", "opened", (json_int_t)opened, "not_decrypted", 0,
                        "backup_pending", 0),
              t->h_dclosed);
    if (t->method == 2)
        event_row(g, t, &seq, "factor_drawn",
                  json_pack("{s:f, s:f, s:f}", "benchmark_factor", factor_of(t), "factor_min", 0.95,
                            "factor_max", 0.98),
                  t->h_dclosed);
    event_row(g, t, &seq, "objections_opened",
              json_pack("{s:s, s:i}", "objections_until",
                        time_iso(iso, sizeof(iso), t->h_obj_until), "minutes", 10),
              t->h_obj_open);
    if (t->record_sha[0]) { /* only the halls whose record was kept (write_records) */
        char confirm[200];
        opening_confirm_string(t->no, t->record_sha, confirm, sizeof(confirm));
        event_row(g, t, &seq, "confirm_started",
                  json_pack("{s:s, s:s, s:I}", "record_sha256", t->record_sha, "confirm_string",
                            confirm, "size", (json_int_t)t->record_size),
                  t->h_confirm);
    }
    const char *sig = strrchr(t->record_sig, ':');
    json_t *closed = json_pack("{s:o, s:o, s:o, s:I, s:i, s:I}", "record_sha256",
                               t->record_sha[0] ? json_string(t->record_sha) : json_null(),
                               "record_sig", sig ? json_string(sig + 1) : json_null(), "key_id",
                               sig ? json_string(g->pk.key_id) : json_null(), "opened",
                               (json_int_t)opened, "confirmed", 0, "signins", (json_int_t)signins);
    event_row(g, t, &seq, "closed", closed, t->h_closed);
    if (opened < TRADE_MIN_VALID_BIDS)
        event_row(
            g, t, &seq, "failed",
            json_pack("{s:s, s:I}", "reason", TENDERS_FAIL_FEW_BIDS, "opened", (json_int_t)opened),
            t->h_closed);
}

/* Signed opening records (record.c's PDF, stored and signed as opening.c's
 * begin_confirm and close do) for the RECORDS_MAX most recently closed halls: a
 * record costs ~110 ms of CPU (the CJK font) and ~440 KB, so older halls keep none
 * (their record.pdf is a 404 "开标记录尚未生成"). Runs after the rows are written
 * (the PDF is rendered from them), inside the transaction. */
static int write_records(demo *g, err *e) {
    if (!g->have_pk || !g->have_dir) return 0;
    char dir[1024];
    if (trade_dir("openings", dir, sizeof(dir), e) != 0) return -1;
    int *pick_idx = xmalloc(sizeof(int) * RECORDS_MAX), np = 0;
    for (int i = 0; i < g->nt; i++) { /* the latest closed halls (insertion into a top list) */
        const tplan *t = &g->t[i];
        if (!t->has_opening || !t->h_closed) continue;
        int j = np < RECORDS_MAX ? np++ : RECORDS_MAX;
        if (j == RECORDS_MAX && g->t[pick_idx[j - 1]].h_closed >= t->h_closed) continue;
        if (j == RECORDS_MAX) j--;
        while (j > 0 && g->t[pick_idx[j - 1]].h_closed < t->h_closed) {
            pick_idx[j] = pick_idx[j - 1];
            j--;
        }
        pick_idx[j] = i;
    }
    int rc = 0;
    for (int k = 0; k < np && rc == 0; k++) {
        tplan *t = &g->t[pick_idx[k]];
        trade_tender tt;
        unsigned char *pdf = NULL;
        size_t len = 0;
        if (trade_tender_load(g->d, t->id, &tt, e) != 0 ||
            opening_record_render(g->d, &tt, &pdf, &len, e) != 0) {
            rc = -1;
            break;
        }
        crypto_sha256_hex(pdf, len, t->record_sha);
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s.pdf", dir, t->record_sha);
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(pdf, 1, len, f) == len;
        if (f && fclose(f) != 0) ok = 0;
        free(pdf);
        if (!ok) {
            rc = err_internal(e, "无法保存演示开标记录");
            break;
        }
        t->record_size = (int64_t)len;
        char payload[200], sig[100];
        opening_record_payload(t->no, t->record_sha, payload, sizeof(payload));
        proofs_sign(&g->pk, payload, sig, sizeof(sig));
        snprintf(t->record_sig, sizeof(t->record_sig), "ed25519:%s:%s", g->pk.key_id, sig);
        rc = db_execf(
            g->d, e, "UPDATE openings SET record_sha256 = $1, record_sig = $2 WHERE tender_id = $3",
            "ssi", t->record_sha, t->record_sig, t->id);
    }
    free(pick_idx);
    return rc;
}

static void write_panel(demo *g, const tplan *t) {
    if (t->kind >= K_PROPERTY || !t->electronic || g->nexperts < 5 || t->nbids < 3 ||
        !(t->status == S_DONE || t->status == S_EVALUATION || t->status == S_PUBLICITY))
        return;
    int chosen[5];
    for (int k = 0; k < 5; k++) {
        int again;
        do {
            chosen[k] = pick(&g->r, g->nexperts);
            again = 0;
            for (int j = 0; j < k; j++)
                again |= chosen[j] == chosen[k];
        } while (again);
        db_bulk *x = &g->texperts;
        db_bulk_int(x, t->id);
        db_bulk_int(x, g->experts[chosen[k]]);
        db_bulk_int(x, k + 1);
        db_bulk_int(x, k == 0);
        db_bulk_time(x, t->deadline - 2 * HOUR);
        db_bulk_time(x, t->status == S_EVALUATION ? 0 : t->eval_at);
    }
    if (t->status == S_EVALUATION) return; /* the panel is still scoring */
    for (int i = 0; i < t->nbids; i++) {
        const bidplan *b = &g->b[t->first_bid + i];
        if (b->sealed) continue;
        /* 综合评分法: five technical scores whose mean is the bid's tech score in
         * tender_results (offsets in cents summing to zero); the qualification methods:
         * pass (1) or fail (0) with the reason, as evaluate.c stores them. */
        int64_t tech = (int64_t)llround(b->tech * 100);
        /* offsets in pairs (±a, ±c, 0) that stay inside 0..TECH_WEIGHT; drawn from the
         * bid's own generator so that the rest of the demo does not move */
        rng own = {.s = (uint64_t)b->id * 0x9E3779B97F4A7C15ULL};
        double room = fmin(300, fmin((double)tech, TECH_WEIGHT * 100.0 - (double)tech));
        int64_t a = (int64_t)uniform(&own, 0, room), c = (int64_t)uniform(&own, 0, room);
        int64_t off[5] = {a, -c, 0, c, -a};
        for (int k = 0; k < 5; k++) {
            if (t->method == 1 && b->invalid) break;
            db_bulk *x = &g->escores;
            db_bulk_int(x, t->id);
            db_bulk_int(x, g->experts[chosen[k]]);
            db_bulk_int(x, b->id);
            if (t->method == 1) {
                db_bulk_real(x, (double)(tech + off[k]) / 100.0);
                db_bulk_null(x);
            } else {
                db_bulk_real(x, b->invalid ? 0.0 : 1.0);
                if (b->invalid)
                    db_bulk_text(x, invalid_reasons[b->invalid - 1]);
                else
                    db_bulk_null(x);
            }
            db_bulk_time(x, t->eval_at - HOUR + 60 * k);
        }
    }
}

/* The expert pool (evaluate_demo_experts() made sure it exists): the panels draw
 * from it. */
static int experts_load(demo *g, err *e) {
    int64_t have = 0;
    if (db_query_int(g->d, e, &have, "SELECT COUNT(*) FROM experts WHERE active = 1", "") < 0)
        return -1;
    db_stmt *s = db_query(g->d, e, "SELECT id FROM experts WHERE active = 1 ORDER BY id", "");
    if (!s) return -1;
    g->experts = xcalloc((size_t)have + 1, sizeof(int64_t));
    while (g->nexperts < have && db_step(s) == DB_ROW)
        g->experts[g->nexperts++] = db_column_int64(s, 0);
    db_reset(s);
    return 0;
}

static int64_t user_by_login(db *d, const char *login) {
    int64_t id = 0;
    db_query_int(d, NULL, &id, "SELECT id FROM users WHERE login = $1", "s", login);
    return id;
}

static int next_id(db *d, const char *table, int64_t *out, err *e) {
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(id), 0) FROM %s", table);
    int64_t mx = 0;
    if (db_query_int(d, e, &mx, sql, "") < 0) return -1;
    *out = mx + 1;
    return 0;
}

/* The companies of the named demo users (no certificates, no generated bids). */
static void named_companies(demo *g) {
    struct {
        int64_t user;
        const char *uscc, *name, *rep, *addr;
    } named[2] = {
        {g->bidder_user, TRADE_DEMO_BIDDER_USCC, "东港建设集团有限公司", "周东港",
         "浙江省舟山市普陀区东港街道海莲路88号"},
        {g->company_user, "", "舟渔水产有限公司", "林舟渔", "浙江省舟山市定海区临城街道翁山路6号"}};
    char created[32], uscc[19];
    time_iso(created, sizeof(created), g->now - 420 * DAY);
    for (int i = 0; i < 2; i++) {
        if (!named[i].user) continue;
        int64_t linked = 0;
        db_query_int(g->d, NULL, &linked,
                     "SELECT COUNT(*) FROM trade_company_users WHERE user_id = $1", "i",
                     named[i].user);
        if (linked) continue;
        if (!named[i].uscc[0]) uscc_make("330902", 990000 + i, uscc);
        int64_t id = g->next_company++;
        db_bulk *t = &g->companies;
        db_bulk_int(t, id);
        db_bulk_text(t, named[i].uscc[0] ? named[i].uscc : uscc);
        db_bulk_text(t, named[i].name);
        db_bulk_text(t, named[i].rep);
        db_bulk_text(t, "0580-2021234");
        db_bulk_text(t, named[i].addr);
        db_bulk_text(t, created);
        db_bulk_text(t, created);
        t = &g->cu;
        db_bulk_int(t, named[i].user);
        db_bulk_int(t, id);
        db_bulk_text(t, created);
    }
}

static void demo_free(demo *g) {
    for (int i = 0; i < g->nco; i++) {
        EVP_PKEY_free(g->co[i].key);
        X509_free(g->co[i].cert);
    }
    for (int i = 0; i < 3; i++) {
        EVP_PKEY_free(g->root_key[i]);
        X509_free(g->root_cert[i]);
    }
    free(g->co);
    for (int p = 0; p < 3; p++)
        free(g->pool[p]);
    free(g->t);
    free(g->b);
    free(g->ab);
    free(g->experts);
    for (int i = 0; all_buffers(g, i); i++)
        db_bulk_free(all_buffers(g, i));
    if (g->have_pk) proofs_key_wipe(&g->pk);
}

static int demo_run(db *d, int64_t now, unsigned seed, int count, int use_files,
                    trade_demo_counts *out, err *e) {
    trade_demo_counts none = {0};
    if (out) *out = none;
    if (count < 0 || count > TRADE_DEMO_MAX)
        return err_invalid(e, "tenders", "tenders 须为 0–%d", TRADE_DEMO_MAX);
    if (count == 0) return 0;
    uint64_t t0 = time_mono_ns();
    int64_t present = 0;
    if (db_query_int(d, e, &present, "SELECT COUNT(*) FROM users WHERE login = $1", "s",
                     FIRST_LOGIN) < 0)
        return -1;
    if (present) {
        if (out) out->present = 1;
        return 0;
    }
    demo *g = xcalloc(1, sizeof(*g));
    g->d = d;
    g->now = now;
    g->r.s = 0x7261646531ull ^ ((uint64_t)seed << 20);
    g->r2.s = 0x68616c6c32ull ^ ((uint64_t)seed << 24);
    buffers_init(g);
    g->staff_id = user_by_login(d, "trading_staff");
    snprintf(g->staff_name, sizeof(g->staff_name), "交易中心");
    if (g->staff_id) {
        db_stmt *s =
            db_query(d, NULL, "SELECT display_name FROM users WHERE id = $1", "i", g->staff_id);
        if (s && db_step(s) == DB_ROW && db_column_text(s, 0))
            snprintf(g->staff_name, sizeof(g->staff_name), "%s", db_column_text(s, 0));
        if (s) db_reset(s);
    }
    g->bidder_user = user_by_login(d, "bidder");
    g->company_user = user_by_login(d, "company");
    err ke = {0};
    g->have_pk = use_files && proofs_key_current(&g->pk, &ke) == 0;
    g->have_dir = use_files && trade_dir("bids", g->bids_dir, sizeof(g->bids_dir), &ke) == 0;
    int rc = -1;
    /* the expert pool first (its own transaction; idempotent) */
    static const audit_actor cli = {.user_id = 0, .login = "cli", .request_id = NULL};
    int nexp = count * 300 / 520;
    if (nexp < 40) nexp = 40;
    if (nexp > 1000) nexp = 1000;
    if (evaluate_demo_experts(d, &cli, nexp, e) != 0) goto out;
    if (db_begin(d, e) != 0) goto out;
    if (next_id(d, "users", &g->next_user, e) != 0 ||
        next_id(d, "trade_companies", &g->next_company, e) != 0 ||
        next_id(d, "ca_roots", &g->next_root, e) != 0 ||
        next_id(d, "trade_certs", &g->next_cert, e) != 0 ||
        next_id(d, "tenders", &g->next_tender, e) != 0 || next_id(d, "bids", &g->next_bid, e) != 0)
        goto rollback;
    named_companies(g);
    int nco = count * 10 / 13;
    if (nco < 150) nco = 150;
    if (nco > 4000) nco = 4000;
    g->co_base = (int)g->next_company;
    plan_companies(g, nco);
    int ngroups = count / 80;
    if (ngroups < 1) ngroups = 1;
    if (ngroups > MAX_GROUPS) ngroups = MAX_GROUPS;
    plan_groups(g, ngroups);
    plan_tenders(g, count);
    /* ids, and the scale that brings the awarded amount to the city's */
    double raw = 0;
    for (int i = 0; i < g->nt; i++) {
        tplan *t = &g->t[i];
        t->id = g->next_tender++;
        if (t->status == S_DONE && t->award_ratio > 0)
            raw += (t->kind >= K_PROPERTY ? t->reserve : t->budget) * t->award_ratio;
    }
    for (int i = 0; i < g->nb; i++)
        g->b[i].id = g->next_bid++;
    double target = 200.06e8 * (double)count / 521.0;
    double scale = raw > 0 ? target / raw : 1;
    if (g->have_pk && proofs_key_register(d, &g->pk, e) != 0) goto rollback;
    if (make_pki(g, e) != 0 || write_companies(g, e) != 0) goto rollback;
    if (experts_load(g, e) != 0) goto rollback;
    for (int i = 0; i < g->nt; i++) {
        tplan *t = &g->t[i];
        if (write_tender(g, t, scale, e) != 0) goto rollback;
        write_opening(g, t);
        write_panel(g, t);
    }
    for (int i = 0; i < g->nt; i++)
        write_notices(g, &g->t[i]);
    for (int k = 0; k < g->ngroups; k++)
        for (int j = 0; j < g->group_size[k]; j++) {
            db_bulk *x = &g->planted;
            db_bulk_int(x, k + 1);
            db_bulk_int(x, g->co[g->group_members[k][j]].id);
            db_bulk_text(x, group_patterns[k]);
            db_bulk_int(x, g->group_tenders[k]);
        }
    g->counts.groups = g->ngroups;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].nbids > g->counts.max_bidders && g->t[i].kind <= K_PROC &&
            g->t[i].status != S_ANNOUNCED)
            g->counts.max_bidders = g->t[i].nbids;
    for (int i = 0; all_buffers(g, i); i++)
        if (all_buffers(g, i) != &g->events && db_bulk_flush(d, all_buffers(g, i), e) != 0)
            goto rollback;
    if (write_records(g, e) != 0) goto rollback;
    for (int i = 0; i < g->nt; i++)
        write_events(g, &g->t[i]);
    if (db_bulk_flush(d, &g->events, e) != 0) goto rollback;
    static const char *const tables[] = {
        "users", "trade_companies", "ca_roots",       "trade_certs",    "tenders",
        "bids",  "ca_logins",       "tender_notices", "trade_deposits", "auction_bids"};
    for (int i = 0; i < COUNT(tables); i++)
        if (db_reset_identity(d, tables[i], e) != 0) goto rollback;
    {
        json_t *after = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "companies", (json_int_t)g->counts.companies,
            "tenders", (json_int_t)g->counts.tenders, "bids", (json_int_t)g->counts.bids,
            "auction_bids", (json_int_t)g->counts.auction_bids, "logins",
            (json_int_t)g->counts.logins, "groups", (json_int_t)g->counts.groups, "amount_fen",
            (json_int_t)g->counts.amount_fen);
        int arc = audit_record(d, &cli, "demo.trade", "trade", "demo", NULL, after, e);
        json_decref(after);
        if (arc != 0) goto rollback;
    }
    if (db_commit(d, e) != 0) goto out;
    g->counts.seconds = (double)(time_mono_ns() - t0) / 1e9;
    if (out) *out = g->counts;
    rc = 0;
    goto out;
rollback:
    db_rollback(d);
out:
    demo_free(g);
    free(g);
    return rc;
}

int trade_demo_run(db *d, const char *data_dir, int64_t now, unsigned seed, int count,
                   trade_demo_counts *out, err *e) {
    (void)data_dir;
    return demo_run(d, now, seed, count, 1, out, e);
}

int trade_demo_cmd(db *d, const char *data_dir, int use_files) {
    const char *v = getenv("ISLE_DEMO_TENDERS");
    long count = TRADE_DEMO_DEFAULT;
    if (v && *v) {
        char *end;
        count = strtol(v, &end, 10);
        if (*end || count < 0 || count > TRADE_DEMO_MAX) {
            fprintf(stderr, "isle: demo: ISLE_DEMO_TENDERS must be 0–%d\n", TRADE_DEMO_MAX);
            return 2;
        }
    }
    if (count == 0) return 0;
    err e = {0};
    trade_demo_counts c;
    (void)data_dir;
    if (demo_run(d, time_now(), TRADE_DEMO_SEED, (int)count, use_files, &c, &e) != 0) {
        fprintf(stderr, "isle: demo trading: %s\n", e.message);
        return 1;
    }
    if (c.present) {
        printf("trading: demo year already present\n");
        return 0;
    }
    printf("trading: %lld tenders, ¥%.2f亿, savings %.2f%%, %lld bids, planted groups %lld "
           "(%lld companies, max %lld bidders, in %.1f s)\n",
           (long long)c.tenders, (double)c.amount_fen / 1e10,
           c.budget_fen ? 100.0 * (double)c.savings_fen / (double)c.budget_fen : 0.0,
           (long long)c.bids, (long long)c.groups, (long long)c.companies, (long long)c.max_bidders,
           c.seconds);
    return 0;
}
