/* backup: the centre's backup key (备份密钥), split among custodians.
 *
 * A tender may let bidders seal their bids also to the centre's backup
 * certificate, so that a bid can still be opened when the bidder's own key fails at
 * the opening (the system's fault). The private key never exists on the server at
 * rest: backup_key_create() makes an RSA-3072 key and a self-signed certificate,
 * splits the PKCS#8 DER with Shamir's scheme (libgfshare, threshold t of n) into one
 * share per custodian (supervisors), keeps only the certificate and each share's
 * SHA-256, returns the shares to print ONCE and wipes the key. backup_decrypt_bid()
 * takes at least t custodians' shares after the deadline, during the opening,
 * rebuilds the key for one decryption, checks the commitment, records the use and
 * wipes the key again.
 *
 * Share text (one line, ASCII):
 *   isle-backup-share:v1:<key fingerprint, 16 hex>:<index 1..n>:<threshold>:<base64>
 * The server recognises a share by the SHA-256 of that exact line. */
#ifndef ISLE_TRADE_BACKUP_H
#define ISLE_TRADE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "trade/trade.h"

#define BACKUP_SHARES_MAX     16
#define BACKUP_SHARE_TEXT_MAX 4096

/** Create the backup key (staff or the CLI; own transaction): custodians are n distinct
 *  users with role supervisor or admin, 2 ≤ threshold ≤ n ≤ 16. Earlier active keys
 *  are retired (they still open the bids sealed to them). *shares_out gets n malloc'd
 *  share lines (index i+1 for custodian_user_ids[i]) in a malloc'd array, *cert_pem_out
 *  the certificate PEM; the caller prints them once and frees them with backup_free_shares
 *  and free. 0 or -1. */
int backup_key_create(db *d, const trade_actor *a, const int64_t *custodian_user_ids, int n,
                      int threshold, char ***shares_out, char **cert_pem_out, err *e);

/** Wipe and free n share lines from backup_key_create(). NULL is accepted. */
void backup_free_shares(char **shares, int n);

/** The active backup certificate PEM (malloc'd, caller frees) and its SHA-256
 *  fingerprint of the DER (≥ 65 bytes; may be NULL). 1 when there is none, 0, or -1. */
int backup_active_cert(db *d, char **pem, char *fingerprint, err *e);

/** Open bid_id with the custodians' shares (a: staff or supervisor): refused before the
 *  tender's deadline (409 "before_deadline") and outside status opening (409
 *  "not_opening"), for a bid not sealed to the backup key (409 "not_sealed_to_backup");
 *  422 "bad_share" for a share that is not one of the key's, 422 "not_enough_shares"
 *  below the threshold of distinct shares; 422 "commitment_mismatch" when the plaintext
 *  does not match the bid's commitment. Records trade_backup_uses (inside the caller's
 *  transaction when one is open, else in its own) and wipes the key. *plain
 *  (malloc'd, caller frees) and *len get the plaintext. 0 or -1. */
int backup_decrypt_bid(db *d, const trade_actor *a, int64_t bid_id, const char *const *shares,
                       int nshares, unsigned char **plain, size_t *len, err *e);

/** Decrypt an envelope with a private key (tests, backup_decrypt_bid): kind "cms" or
 *  "sm2"; cert_pem is the recipient's certificate. 0 with *plain malloc'd, or -1
 *  (422 "decrypt_failed"). */
int backup_envelope_decrypt(const unsigned char *env, size_t len, const char *kind,
                            const char *key_pem_or_der, size_t key_len, const char *cert_pem,
                            unsigned char **plain, size_t *plain_len, err *e);

#endif
