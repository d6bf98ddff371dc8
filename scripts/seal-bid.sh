#!/usr/bin/env bash
# seal-bid.sh — the bidder's side of docs/BIDDING.md, with openssl, sha256sum, base64
# and curl only (plus coreutils: cut, od, tr). Every command here is the one the
# document shows; tests/api/trade-bids.test.mjs runs this script.
#
#   seal-bid.sh seal BID.json TENDER_NO USCC bidder.key bidder.crt [backup.crt] OUTDIR
#       → OUTDIR/envelope, envelope_kind, commitment_sha256, commitment_sig (base64)
#   seal-bid.sh submit BASE_URL TOKEN TENDER_ID OUTDIR [CERT_ID]
#       → OUTDIR/receipt.json (the server's answer); exit 1 unless HTTP 201
#   seal-bid.sh verify-receipt BASE_URL OUTDIR
#       → checks OUTDIR/receipt.json's Ed25519 signature with the server's published key
#
# The key type is taken from the certificate: SM2 certificates get the "sm2" envelope
# (SM4-CBC, key wrapped with SM2), RSA and ECDSA ones a CMS EnvelopedData.
set -euo pipefail

die() { echo "seal-bid: $*" >&2; exit 1; }

seal() {
    [ $# -eq 6 ] || [ $# -eq 7 ] || die "usage: seal BID.json TENDER_NO USCC bidder.key bidder.crt [backup.crt] OUTDIR"
    local BID=$1 TENDER_NO=$2 USCC=$3 KEY=$4 CERT=$5 BACKUP="" OUT
    if [ $# -eq 7 ]; then BACKUP=$6; OUT=$7; else OUT=$6; fi
    mkdir -p "$OUT"

    # 1. The commitment: SHA-256 of the plaintext, bound to the tender and the company.
    H=$(sha256sum "$BID" | cut -d' ' -f1)
    printf 'isle-bid-commitment:v1:%s:%s:%s' "$TENDER_NO" "$USCC" "$H" > "$OUT/commitment.txt"

    if openssl x509 -in "$CERT" -noout -text | grep -q 'ASN1 OID: SM2'; then
        # 2a. SM2: sign with SM3 and the standard ID.
        openssl dgst -sm3 -sign "$KEY" -sigopt distid:1234567812345678 -out "$OUT/commitment.sig" "$OUT/commitment.txt"
        # 3a. SM2 envelope: a random SM4 key and IV, the bid under SM4-CBC, the key
        #     wrapped with SM2 for the bidder and RSA-OAEP-SHA256 for the backup key.
        openssl rand -out "$OUT/sm4.key" 16
        K=$(od -An -tx1 "$OUT/sm4.key" | tr -d ' \n')
        IV=$(openssl rand -hex 16)
        openssl enc -sm4-cbc -K "$K" -iv "$IV" -in "$BID" -out "$OUT/bid.sm4"
        openssl pkeyutl -encrypt -certin -inkey "$CERT" -in "$OUT/sm4.key" -out "$OUT/key.bidder"
        FP_BIDDER=$(openssl x509 -in "$CERT" -outform DER | sha256sum | cut -d' ' -f1)
        RECIPIENTS="{\"cert_sha256\":\"$FP_BIDDER\",\"key\":\"$(base64 -w0 "$OUT/key.bidder")\"}"
        if [ -n "$BACKUP" ]; then
            openssl pkeyutl -encrypt -certin -inkey "$BACKUP" -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$OUT/sm4.key" -out "$OUT/key.backup"
            FP_BACKUP=$(openssl x509 -in "$BACKUP" -outform DER | sha256sum | cut -d' ' -f1)
            RECIPIENTS="$RECIPIENTS,{\"cert_sha256\":\"$FP_BACKUP\",\"key\":\"$(base64 -w0 "$OUT/key.backup")\"}"
        fi
        { printf '{"v":1,"alg":"SM4-CBC","iv":"%s","recipients":[%s],"ciphertext":"' "$IV" "$RECIPIENTS"; base64 -w0 "$OUT/bid.sm4"; printf '"}'; } > "$OUT/envelope"
        rm -f "$OUT/sm4.key" "$OUT/bid.sm4"
        echo sm2 > "$OUT/envelope_kind"
    else
        # 2b. RSA / ECDSA: sign with SHA-256.
        openssl dgst -sha256 -sign "$KEY" -out "$OUT/commitment.sig" "$OUT/commitment.txt"
        # 3b. CMS EnvelopedData addressed to the bidder (and the backup key).
        if [ -n "$BACKUP" ]; then
            openssl cms -encrypt -binary -aes-256-cbc -recip "$CERT" -recip "$BACKUP" -in "$BID" -outform DER -out "$OUT/envelope"
        else
            openssl cms -encrypt -binary -aes-256-cbc -recip "$CERT" -in "$BID" -outform DER -out "$OUT/envelope"
        fi
        echo cms > "$OUT/envelope_kind"
    fi
    base64 -w0 "$OUT/commitment.sig" > "$OUT/commitment_sig"
    echo "$H" > "$OUT/commitment_sha256"
}

submit() {
    [ $# -ge 4 ] || die "usage: submit BASE_URL TOKEN TENDER_ID OUTDIR [CERT_ID]"
    local BASE=$1 TOKEN=$2 TENDER_ID=$3 OUT=$4 CERT_ID=${5:-}
    local extra=()
    [ -n "$CERT_ID" ] && extra=(-F "cert_id=$CERT_ID")
    # 4. Upload: the envelope and the signed commitment; the answer is the receipt.
    code=$(curl -sS -o "$OUT/receipt.json" -w '%{http_code}' \
        -H "Authorization: Bearer $TOKEN" \
        -F "envelope=@$OUT/envelope;type=application/octet-stream" \
        -F "envelope_kind=<$OUT/envelope_kind" \
        -F "commitment_sha256=<$OUT/commitment_sha256" \
        -F "commitment_sig=<$OUT/commitment_sig" \
        "${extra[@]}" \
        "$BASE/api/v1/trade/tenders/$TENDER_ID/bids")
    echo "$code" > "$OUT/http_code"
    [ "$code" = 201 ] || { cat "$OUT/receipt.json" >&2; echo >&2; die "upload answered HTTP $code"; }
}

verify_receipt() {
    [ $# -eq 2 ] || die "usage: verify-receipt BASE_URL OUTDIR"
    local BASE=$1 OUT=$2
    # 5. The receipt text (exact signed bytes), its signature (base64url) and key id.
    grep -o '"receipt_text": *"\([^"\\]\|\\.\)*"' "$OUT/receipt.json" | sed 's/^"receipt_text": *"//; s/"$//; s/\\"/"/g; s/\\\\/\\/g' | tr -d '\n' > "$OUT/receipt.txt"
    SIG=$(grep -o '"receipt_sig": *"[^"]*"' "$OUT/receipt.json" | cut -d'"' -f4)
    KID=$(grep -o '"key_id": *"[^"]*"' "$OUT/receipt.json" | head -1 | cut -d'"' -f4)
    PAD=$(printf '%*s' $(( (4 - ${#SIG} % 4) % 4 )) '' | tr ' ' '=')
    printf '%s%s' "$SIG" "$PAD" | tr '_-' '/+' | base64 -d > "$OUT/receipt.sig"
    # 6. The server's public key, published at /api/v1/proofs/keys.
    curl -sS "$BASE/api/v1/proofs/keys" | grep -o "{[^{}]*\"key_id\": *\"$KID\"[^{}]*}" | grep -o '"pem": *"[^"]*"' | cut -d'"' -f4 | sed 's/\\n/\n/g' > "$OUT/server.pub.pem"
    openssl pkeyutl -verify -pubin -inkey "$OUT/server.pub.pem" -rawin -in "$OUT/receipt.txt" -sigfile "$OUT/receipt.sig"
}

cmd=${1:-}
shift || true
case "$cmd" in
    seal) seal "$@" ;;
    submit) submit "$@" ;;
    verify-receipt) verify_receipt "$@" ;;
    *) die "usage: seal-bid.sh seal|submit|verify-receipt …" ;;
esac
