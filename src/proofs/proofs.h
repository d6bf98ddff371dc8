/* proofs: 证明事项协同 — a resident asks for a proof (居住情况证明, 亲属关系证明 …),
 * the village, the town and the district check it in turn, the district issues
 * it as a signed PDF, and anyone can verify it, online or offline.
 *
 * The state machine (every step by a different person, each recorded in
 * proof_steps with actor, time and note, audited, the resident notified):
 *
 *     requested ──check_village──▶ village_checked ──check_town──▶ town_checked
 *         │                              │                              │
 *         └──────────── refuse ──────────┴──────────── refuse ──────────┤
 *                                                                      issue
 *                                         refused ◀──┘                  ▼
 *                                                          issued ──revoke──▶ revoked
 *
 *   check_village  staff of the proof's town (村（社区）-level checks are done by the
 *                  town's staff: users have a town, not a village)
 *   check_town     staff or approver of the proof's town, not the village checker
 *   issue          approver of the district (no town = city level; else a town in the
 *                  proof's county), not one of the two checkers
 *   refuse         whoever may take the pending step, with a reason
 *   revoke         staff of the town or an approver of the district, with a reason
 *
 * Signing: one Ed25519 key pair per deployment (sign.c). The private key lives
 * in a PEM file (PKCS#8, mode 0600) — $ISLE_PROOF_KEY, else
 * <files dir>/keys/proof-ed25519.pem — never in the database, so a database copy
 * cannot forge proofs; its public half is registered in proof_keys so that every
 * key that ever signed stays verifiable. The signed payload and the QR text are
 * specified in docs/PROOFS.md and by proofs_payload() below.
 *
 * Transactions: every write function here runs its own transaction(s); call
 * them outside one. Issuing builds and signs the PDF before taking the write
 * lock, then re-checks the proof's version inside the transaction (409 when
 * someone acted in between).
 *
 * Personal data: the holder's name and ID number appear in the statement and the
 * PDF (the holder's own document); the QR code, the public verification answers
 * and the revocation list carry the masked holder at most. */
#ifndef ISLE_PROOFS_H
#define ISLE_PROOFS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define PROOFS_MAGIC          "ISLEPROOF1"
#define PROOFS_PDF_MARKER     "ISLEPROOF-QR:" /* Keywords entry: marker + base64url(QR text) */
#define PROOFS_PURPOSE_MAX    300             /* bytes */
#define PROOFS_DETAILS_MAX    1500            /* bytes */
#define PROOFS_REASON_MAX     500             /* bytes of a note or reason */
#define PROOFS_QR_MAX         2048            /* bytes of a QR text we accept */
#define PROOFS_LIST_MAX       200
#define PROOFS_PDF_MAX        (8 * 1024 * 1024) /* bytes of a generated PDF */
#define PROOFS_NO_LEN         14                /* "ZM" + 12 Crockford base32 characters */
#define PROOFS_VALID_DAYS_MAX 366

/* ---- proof kinds (the catalog's 证明 items) ---- */

typedef struct proofs_kind {
    const char *kind;      /* ASCII key: "residence" … */
    const char *title;     /* 居住情况证明 … (printed as the PDF's title) */
    const char *item_code; /* the catalog item (data/catalog/items.jsonl) */
    int valid_days;        /* default validity in calendar days */
} proofs_kind;

/** The kind of that key, or NULL. */
const proofs_kind *proofs_kind_find(const char *kind);
/** The kind whose catalog item is code, or NULL. */
const proofs_kind *proofs_kind_by_item(const char *code);
/** {"items":[{kind, title, item_code, item_name (catalog, or null), department,
 *  valid_days}]}. Caller owns it; NULL on error. */
json_t *proofs_kinds_json(db *d, err *e);

/* ---- keys and the signed payload (sign.c) ---- */

typedef struct proofs_key {
    unsigned char pk[32]; /* Ed25519 public key */
    unsigned char sk[64]; /* libsodium secret key (seed || pk); zeroed by proofs_key_wipe */
    char key_id[17];      /* first 16 hex characters of SHA-256(pk) */
} proofs_key;

/** Use path for the private key file (tests, the CLI); NULL = the default ($ISLE_PROOF_KEY,
 *  else <files_dir()>/keys/proof-ed25519.pem). Forgets the cached key. Copied. */
void proofs_set_key_path(const char *path);
/** The key file path in use into buf (n bytes). Returns buf. */
char *proofs_key_path(char *buf, size_t n);
/** Read a PKCS#8 PEM Ed25519 private key. 0, or -1 (404 when the file is missing). */
int proofs_key_load(const char *path, proofs_key *k, err *e);
/** Make a new key pair and write it to path (0600, parent directory created 0700).
 *  replace = 0 refuses an existing file (409); 1 replaces it atomically. 0 or -1. */
int proofs_key_generate(const char *path, int replace, proofs_key *k, err *e);
/** The deployment's signing key: loaded once per process from proofs_key_path(),
 *  generated there at first use when missing. Thread-safe. 0 or -1. */
int proofs_key_current(proofs_key *out, err *e);
void proofs_key_wipe(proofs_key *k);
/** key_id of a public key into out (17 bytes). */
void proofs_key_id(const unsigned char pk[32], char out[17]);
/** SubjectPublicKeyInfo PEM of pk (what `openssl pkeyutl -pubin` reads) into out
 *  (≥ 128 bytes). Returns out. */
char *proofs_pubkey_pem(const unsigned char pk[32], char *out, size_t n);
/** base64url (no padding) of pk into out (≥ 44 bytes). Returns out. */
char *proofs_pubkey_b64(const unsigned char pk[32], char *out, size_t n);
/** Decode a base64url public key (43 characters). 0 or -1. */
int proofs_pubkey_parse(const char *b64, unsigned char pk[32]);
/** Read an Ed25519 SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"). 0 or -1. */
int proofs_pubkey_from_pem(const char *pem, unsigned char pk[32]);
/** Record pk in proof_keys (no-op when present). Inside the caller's transaction. */
int proofs_key_register(db *d, const proofs_key *k, err *e);

/** The fields of the signed payload, in their order. */
typedef struct proofs_fields {
    char proof_no[PROOFS_NO_LEN + 1];
    char kind[32];
    char holder[160];        /* masked name, then " " and the masked ID number if any */
    char issuer[256];        /* issuing office */
    char issued_at[24];      /* UTC "YYYY-MM-DDTHH:MM:SSZ" */
    char valid_until[16];    /* Asia/Shanghai date "YYYY-MM-DD", inclusive */
    char content_sha256[65]; /* lowercase hex SHA-256 of the statement text */
    char key_id[17];
} proofs_fields;

/** The canonical payload: "ISLEPROOF1|proof_no|kind|holder|issuer|issued_at|valid_until|
 *  content_sha256|key_id", UTF-8, no trailing newline. Fields must be non-empty and
 *  free of '|' and control characters (400 naming the field). *out is the caller's to
 *  free. 0 or -1. */
int proofs_payload(const proofs_fields *f, char **out, err *e);
/** Ed25519 signature of payload as base64url without padding (86 characters) into
 *  sig (≥ 88 bytes). */
void proofs_sign(const proofs_key *k, const char *payload, char *sig, size_t n);
/** 1 if sig (base64url) is pk's valid signature of payload, else 0. */
int proofs_signature_ok(const unsigned char pk[32], const char *payload, const char *sig);
/** The QR text: payload "|" signature "\n" verify_url. verify_url is
 *  $ISLE_PUBLIC_URL + "/verify/" + proof_no (just the path when unset). Caller frees. */
char *proofs_qr_text(const char *payload, const char *sig, const char *proof_no);

/** A QR text taken apart (only its first line counts). */
typedef struct proofs_parsed {
    proofs_fields f;
    char payload[1024]; /* the signed bytes */
    char sig[100];      /* base64url signature */
} proofs_parsed;
/** Parse and check the shape of every field. 0, or -1 with 400 naming what is wrong. */
int proofs_qr_parse(const char *qr, proofs_parsed *out, err *e);

/** Mask a name: "张阿婆" → "张*婆", "王五" → "王*". out ≥ 64 bytes. Returns out. */
char *proofs_mask_name(const char *name, char *out, size_t n);
/** A new proof number: "ZM" + 12 random Crockford base32 characters. out ≥ 15 bytes. */
void proofs_new_no(char *out, size_t n);

/* ---- the PDF (pdf.c) ---- */

/** What the PDF shows. Strings borrowed. */
typedef struct proofs_doc {
    const char *title;
    const char *proof_no;
    const char *statement; /* paragraphs separated by '\n' */
    const char *issuer;
    const char *issued_at;   /* UTC instant; printed as the Shanghai date */
    const char *valid_until; /* date */
    const char *key_id;
    const char *qr_text;
    const char *verify_path; /* "/verify/ZM…" */
} proofs_doc;

/** Render the proof as an A4 PDF (libharu, the CJK TrueType font of proofs_font_path())
 *  with a QR code of qr_text drawn as filled squares, and qr_text in the document's
 *  Keywords as PROOFS_PDF_MARKER + base64url(qr_text). *out and *len get the bytes (caller
 *  frees). 0 or -1 (500 when no usable font: the message names the packages). */
int proofs_pdf_render(const proofs_doc *doc, unsigned char **out, size_t *len, err *e);
/** The font file used: $ISLE_PROOF_FONT, else the first readable of AR PL UMing
 *  (fonts-arphic-uming), WenQuanYi Micro Hei and Zen Hei. NULL when none. */
const char *proofs_font_path(void);
/** Find the QR text embedded in PDF bytes. *qr gets a new string (caller frees).
 *  0, or -1 with 400 when the file carries no (readable) marker. */
int proofs_pdf_extract_qr(const unsigned char *pdf, size_t len, char **qr, err *e);

/* ---- requests and steps (proofs.c) ---- */

/** Who acts. Loaded from the users table by proofs_actor_load(). */
typedef struct proofs_actor {
    int64_t user_id;
    int role;             /* ROLE_* bit */
    char name[129];       /* display name */
    char town_code[16];   /* "" when none */
    char department[256]; /* "" when none */
    audit_actor audit;
} proofs_actor;

/** Fill a (user_id and audit already set) from the users table. 0 or -1 (404). */
int proofs_actor_load(db *d, proofs_actor *a, err *e);

/** A citizen's request, body as in the API: {"kind" | "item_code", "purpose",
 *  "details", "village_code"?}. The town is the village's, else the holder's own.
 *  400 naming the field; 403 for anyone but a citizen. *id_out gets the id. */
int proofs_request(db *d, const proofs_actor *a, json_t *in, int64_t *id_out, err *e);

/** Take step action ("check_village", "check_town", "issue", "refuse") on proof id.
 *  note: optional for checks, the reason for refuse (required). valid_until: only
 *  for issue, NULL = the kind's default. 404 when a may not see the proof, 403 when
 *  a may see but not act, 409 when the status does not allow the step, 400 naming
 *  the field. */
int proofs_act(db *d, const proofs_actor *a, int64_t id, const char *action, const char *note,
               const char *valid_until, err *e);

/** Revoke an issued proof with reason (required). 404/403/409/400 as proofs_act. */
int proofs_revoke(db *d, const proofs_actor *a, int64_t id, const char *reason, err *e);

/** The proof as a may see it, with its steps; NULL with 404 when a may not see it. */
json_t *proofs_get(db *d, const proofs_actor *a, int64_t id, err *e);

typedef struct proofs_filter {
    int mine;           /* only a's own proofs */
    const char *status; /* NULL = any */
    const char *town;   /* NULL = every town a may see */
    int limit, offset;
} proofs_filter;
/** {"items":[…], "total"}: a's own proofs (citizens always), else the proofs in a's
 *  jurisdiction, newest first. Caller owns it. */
json_t *proofs_list(db *d, const proofs_actor *a, const proofs_filter *f, err *e);

/** The PDF of issued (or revoked) proof id if a may see it: bytes read from the files
 *  store and checked against their SHA-256. *out caller frees. *name gets a file name. */
int proofs_pdf_get(db *d, const proofs_actor *a, int64_t id, unsigned char **out, size_t *len,
                   char *name, size_t name_n, err *e);

/** Public revocation list: {"items":[{"proof_no","revoked_at"}], "total"}, newest first. */
json_t *proofs_revoked_list(db *d, int limit, int offset, err *e);
/** Public keys: {"items":[{"key_id","public_key","pem","created_at","retired_at"}]}. */
json_t *proofs_keys_json(db *d, err *e);

/* ---- verification (verify.c) ---- */

/** The outcome of a verification. status: "valid", "malformed", "unknown_key",
 *  "bad_signature", "altered" (field names which), "not_found", "revoked", "expired". */
typedef struct proofs_verdict {
    int valid;
    char status[16];
    char field[32];
    char message[320];
    int have_proof; /* the public fields below are filled */
    char proof_no[PROOFS_NO_LEN + 1];
    char kind[32];
    char title[64];
    char holder[160];
    char issuer[256];
    char issued_at[24];
    char valid_until[16];
    char key_id[17];
    char revoked_at[24];
} proofs_verdict;

/** Verify a QR text against the database: shape, the record, each signed field, the
 *  key, the signature, revocation and expiry, in that order (docs/PROOFS.md). 0 when
 *  the check ran (result in *v), -1 on a database error. */
int proofs_verify_qr(db *d, const char *qr, proofs_verdict *v, err *e);
/** Verify by proof number (GET /verify/{no}): the stored record's signature,
 *  revocation and expiry. Proofs not issued are "not_found". 0 or -1. */
int proofs_verify_no(db *d, const char *proof_no, proofs_verdict *v, err *e);
/** Verify without a database: shape, key id = pk's, signature, expiry. */
void proofs_verify_offline(const unsigned char pk[32], const char *qr, proofs_verdict *v);
/** The verdict as public JSON: {valid, status, field?, message, proof?: {proof_no, kind,
 *  title, holder, issuer, issued_at, valid_until, key_id, revoked_at}}. */
json_t *proofs_verdict_json(const proofs_verdict *v);

/** `isle proof …` (argv[0] = "proof"): keygen [--rotate], pubkey [--pem|--all],
 *  verify FILE.pdf|FILE|QRTEXT|- [--json]. Exit 0/1/2. */
int proofs_cli(const cli_env *env, int argc, char **argv);

#endif
