/* bids: sealed bid submission (电子投标) — see trade.h for the module map.
 *
 * A bidder seals its bid form and documents (the plaintext, JSON, at most 48 MiB)
 * before upload, with the openssl CLI alone (docs/BIDDING.md):
 *   - envelope_kind "cms": a CMS EnvelopedData (DER or PEM) addressed to the bidder's
 *     registered certificate and, when the tender allows it and a backup key exists,
 *     to the centre's backup certificate (RSA and ECDSA certificates);
 *   - envelope_kind "sm2": for SM2 certificates (OpenSSL 3.0 cannot make CMS for SM2
 *     recipients), a small JSON container {"v":1,"alg":"SM4-CBC","iv":hex,
 *     "recipients":[{"cert_sha256":hex,"key":base64}],"ciphertext":base64}: the
 *     plaintext under SM4-CBC (openssl enc), the 16-byte key wrapped with SM2 for the
 *     bidder (openssl pkeyutl) and with RSA-OAEP-SHA256 for the backup key;
 * and signs the commitment string
 *     isle-bid-commitment:v1:<tender_no>:<uscc>:<sha256 hex of the plaintext>
 * with its certificate's key. The server checks the envelope's structure and
 * recipients and the signature, stores the envelope (never a key that opens it) under
 * FILES_DIR/bids/<sha256> (temp file, fsync, rename) before the row commits, and
 * answers with a receipt signed by its Ed25519 proofs key. It never sees the
 * plaintext until the opening, when the bidder (or the custodians of the backup key,
 * backup.h) reveals it and bids_reveal_tx() checks it against the commitment.
 *
 * Secrecy: before the tender's bids are public (trade_status_bids_public) a caller
 * sees only its own company's bids — staff and supervisors see nothing, not even a
 * count. */
#ifndef ISLE_TRADE_BIDS_H
#define ISLE_TRADE_BIDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "trade/trade.h"

#define BIDS_ENVELOPE_MAX   (48u * 1024 * 1024) /* bytes of one envelope */
#define BIDS_PLAINTEXT_MAX  (48u * 1024 * 1024)
#define BIDS_MACHINE_ID_MAX 1024

typedef struct bids_submission {
    const unsigned char *envelope;
    size_t envelope_len;
    const char *envelope_kind;     /* "cms" | "sm2" */
    const char *commitment_sha256; /* 64 lower-case hex */
    const char *commitment_sig;    /* base64 signature over the commitment string */
    int64_t cert_id;               /* 0: the user's newest active certificate */
    const char *client_ip;         /* may be NULL */
    const char *machine_id_json;   /* may be NULL: {"mac","cpu","disk"} from the client */
} bids_submission;

/** The commitment string for a tender, a company and a plaintext hash into buf (≥ 160
 *  bytes). Returns buf. */
char *bids_commitment_string(const char *tender_no, const char *uscc, const char *sha256_hex,
                             char *buf, size_t n);

/** Submit a sealed bid for a's company (role bidder or company) in its own
 *  transaction. Refusals: 403 (no company), 404 (tender), 409 "not_accepting" (status),
 *  409 "deadline_passed" (at or after deadline_at, server clock), 409 "deposit_missing",
 *  400 field envelope / envelope_kind / commitment_sha256 / machine_id for malformed
 *  input, 413 for an envelope over BIDS_ENVELOPE_MAX, 422 "recipient_missing" (not
 *  addressed to the bidder's certificate or to the backup key), 422 "bad_signature"
 *  (field commitment_sig). An earlier sealed bid of the company becomes 'replaced'.
 *  *bid_id gets the new row; *receipt (may be NULL) gets {"receipt":{…},"receipt_text",
 *  "receipt_sig","key_id"}, owned by the caller. 0 or -1. */
int bids_submit(db *d, const trade_actor *a, int64_t tender_id, const bids_submission *in,
                int64_t *bid_id, json_t **receipt, err *e);

/** Withdraw the company's sealed bid before the deadline (own transaction). 404 when
 *  there is none, 409 "deadline_passed" after. 0 or -1. */
int bids_withdraw(db *d, const trade_actor *a, int64_t tender_id, err *e);

/** INSIDE the caller's transaction (the tender must be in status opening): check
 *  SHA-256(plain) against the bid's commitment (422 "commitment_mismatch", nothing
 *  written), store the plaintext as FILES_DIR/bids/<sha256>.plain, fill the bid's
 *  columns from the form and set status 'opened' (or 'invalid' with invalid_reason when
 *  the form is unusable), audit "bid.reveal". via: "bidder" | "backup". *announce
 *  (may be NULL; caller owns it) gets {bid_id, company_id, company_name, uscc,
 *  price_fen, price, duration_days, quality, project_manager, deposit_ref, status,
 *  invalid_reason}. 0 or -1. */
int bids_reveal_tx(db *d, const trade_actor *a, int64_t bid_id, const void *plain, size_t len,
                   const char *via, json_t **announce, err *e);

/** The bids of a tender the caller may see: before the bids are public only its own
 *  company's (every row with history; receipts, no content) — nothing for anyone else;
 *  afterwards the current bids with revealed fields (plus the caller's history).
 *  {"items":[…],"public":bool}. NULL with e on error; caller owns it. */
json_t *bids_list(db *d, const trade_actor *a, int64_t tender_id, err *e);

/** Number of sealed (current) bids of the tender. 0 or -1. */
int bids_count_current(db *d, int64_t tender_id, int64_t *n, err *e);

/** The receipt of bid_id for its own company (any time) or for staff/supervisors once
 *  the bids are public: {"receipt":{…},"receipt_text","receipt_sig","key_id","status"}.
 *  404 otherwise. Caller owns it. */
json_t *bids_receipt_get(db *d, const trade_actor *a, int64_t bid_id, err *e);

/** Every row of the tender's bids with receipts and statuses, never content (the
 *  operator's `isle trade bids`). Caller owns it. */
json_t *bids_operator_list(db *d, int64_t tender_id, err *e);

/** Read the stored envelope of bid_id into *buf (malloc'd, caller frees), with its
 *  kind ("cms"/"sm2", ≥ 4 bytes) and the bid's commitment hex (≥ 65 bytes). 0 or -1. */
int bids_envelope_load(db *d, int64_t bid_id, unsigned char **buf, size_t *len, char *kind,
                       char *commitment, err *e);

/* ---- envelope checks (exposed for tests) ---- */

/** Recipients of an envelope as SHA-256 fingerprints are not knowable for CMS, so the
 *  check takes the certificates: 0 when env (kind "cms" or "sm2") is well formed and
 *  addressed to bidder_pem's certificate, and — when backup_pem is not NULL — to that
 *  one too. 400 field "envelope" for garbage, 422 "recipient_missing" otherwise.
 *  *to_backup (may be NULL) gets 1 when addressed to backup_pem's certificate. */
int bids_envelope_check(const unsigned char *env, size_t len, const char *kind,
                        const char *bidder_pem, const char *backup_pem, int *to_backup, err *e);

#endif
