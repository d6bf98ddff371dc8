#!/bin/sh
# trade-pki.sh OUTDIR — a throw-away PKI for the trading tests (统一CA互认), made
# with the openssl CLI only (OpenSSL 3.0). Idempotent: when OUTDIR/done exists it
# does nothing; concurrent runs on one OUTDIR wait for each other (flock).
#
# Layout (see /tmp/helpers/TRADE-INTERFACES.md, pinned):
#   ca-rsa/{root.crt,root.key,inter.crt,inter.key,inter.crl.pem}  RSA root + intermediate
#   ca-ec/{root.crt,root.key}          ECDSA P-256 root
#   ca-sm2/{root.crt,root.key}         SM2 root, SM2-with-SM3 signatures
#   users/<name>.{key,crt,chain.pem}   rsa1 rsa2 revoked1 expired1 (RSA intermediate),
#                                      ec1 ec2 (EC root), sm2a sm2b (SM2 root);
#                                      chain.pem = leaf + intermediates (no root)
#   untrusted/{root.crt,user.crt,user.key}   a CA nobody adds to the trust store
#   backup/{backup.crt,backup.key}     the centre's backup key pair (RSA 3072)
# revoked1 is listed in ca-rsa/inter.crl.pem; expired1 was valid 2020-01-01..2021-01-01.
#
# SM2 with OpenSSL 3.0 — the commands that work (3.0.19 checked). OpenSSL 3.0's
# default SM2 ID when none is given is EMPTY, not the GM/T 0009 default, so every
# SM2 signature here passes the standard default ID "1234567812345678" explicitly:
#   key:    openssl genpkey -algorithm SM2 -out key.pem
#   root:   openssl req -x509 -new -key key.pem -sm3 -sigopt distid:1234567812345678 ...
#   csr:    openssl req -new -key user.key -sm3 -sigopt distid:1234567812345678 ...
#   issue:  openssl x509 -req -in user.csr -CA root.crt -CAkey root.key -sm3 \
#             -sigopt distid:1234567812345678 -vfyopt distid:1234567812345678 ...
#   sign:   openssl dgst -sm3 -sign user.key -sigopt distid:1234567812345678 -out sig.bin msg.txt
#   verify: openssl x509 -in user.crt -pubkey -noout > user.pub
#           openssl dgst -sm3 -verify user.pub -sigopt distid:1234567812345678 -signature sig.bin msg.txt
#   chain:  openssl verify -vfyopt distid:1234567812345678 -CAfile ca-sm2/root.crt users/sm2a.crt
# RSA/ECDSA: openssl dgst -sha256 -sign user.key -out sig.bin msg.txt
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -f "$OUT/done" ] && exit 0

exec 9>"$OUT/.lock"
flock 9
[ -f "$OUT/done" ] && exit 0

rm -rf "$OUT/ca-rsa" "$OUT/ca-ec" "$OUT/ca-sm2" "$OUT/users" "$OUT/untrusted" "$OUT/backup" "$OUT/.work"
mkdir -p "$OUT/ca-rsa" "$OUT/ca-ec" "$OUT/ca-sm2" "$OUT/users" "$OUT/untrusted" "$OUT/backup" "$OUT/.work"
W=$OUT/.work
ID=distid:1234567812345678

cat >"$W/ext.cnf" <<'EOF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[backup]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment, dataEncipherment
subjectKeyIdentifier = hash
EOF

serial() { echo "0x$(openssl rand -hex 12)"; }

rsakey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"${2:-2048}" -out "$1" 2>/dev/null; }
eckey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
sm2key() { openssl genpkey -algorithm SM2 -out "$1"; }

# selfsigned KEY CRT SUBJECT [sm2]
selfsigned() {
    if [ "${4:-}" = sm2 ]; then
        openssl req -x509 -new -utf8 -key "$1" -sm3 -sigopt "$ID" -subj "$3" -days 3650 \
            -set_serial "$(serial)" -config "$W/ext.cnf" -extensions root -out "$2"
    else
        openssl req -x509 -new -utf8 -key "$1" -sha256 -subj "$3" -days 3650 \
            -set_serial "$(serial)" -config "$W/ext.cnf" -extensions root -out "$2"
    fi
}

# issue KEY CRT SUBJECT CACRT CAKEY EXT [sm2]
issue() {
    if [ "${7:-}" = sm2 ]; then
        openssl req -new -utf8 -key "$1" -sm3 -sigopt "$ID" -subj "$3" -out "$W/req.csr"
        openssl x509 -req -in "$W/req.csr" -CA "$4" -CAkey "$5" -sm3 -sigopt "$ID" -vfyopt "$ID" \
            -set_serial "$(serial)" -days 825 -extfile "$W/ext.cnf" -extensions "$6" \
            -out "$2" 2>/dev/null
    else
        openssl req -new -utf8 -key "$1" -sha256 -subj "$3" -out "$W/req.csr"
        openssl x509 -req -in "$W/req.csr" -CA "$4" -CAkey "$5" -sha256 \
            -set_serial "$(serial)" -days 825 -extfile "$W/ext.cnf" -extensions "$6" \
            -out "$2" 2>/dev/null
    fi
}

# ---- RSA root + intermediate ----
R=$OUT/ca-rsa
rsakey "$R/root.key"
selfsigned "$R/root.key" "$R/root.crt" "/C=CN/O=舟山测试CA/CN=Isle Test RSA Root CA"
rsakey "$R/inter.key"
issue "$R/inter.key" "$R/inter.crt" "/C=CN/O=舟山测试CA/CN=Isle Test RSA Issuing CA" \
    "$R/root.crt" "$R/root.key" inter

# ---- EC and SM2 roots ----
eckey "$OUT/ca-ec/root.key"
selfsigned "$OUT/ca-ec/root.key" "$OUT/ca-ec/root.crt" "/C=CN/O=浙江测试CA/CN=Isle Test EC Root CA"
sm2key "$OUT/ca-sm2/root.key"
selfsigned "$OUT/ca-sm2/root.key" "$OUT/ca-sm2/root.crt" "/C=CN/O=国密测试CA/CN=Isle Test SM2 Root CA" sm2

# ---- users ----
U=$OUT/users
user() { # NAME KEYTYPE COMPANY CA
    case $2 in rsa) rsakey "$U/$1.key" ;; ec) eckey "$U/$1.key" ;; sm2) sm2key "$U/$1.key" ;; esac
    case $4 in
    rsa)
        issue "$U/$1.key" "$U/$1.crt" "/C=CN/O=$3/CN=$1" "$R/inter.crt" "$R/inter.key" user
        cat "$U/$1.crt" "$R/inter.crt" >"$U/$1.chain.pem" ;;
    ec)
        issue "$U/$1.key" "$U/$1.crt" "/C=CN/O=$3/CN=$1" "$OUT/ca-ec/root.crt" "$OUT/ca-ec/root.key" user
        cp "$U/$1.crt" "$U/$1.chain.pem" ;;
    sm2)
        issue "$U/$1.key" "$U/$1.crt" "/C=CN/O=$3/CN=$1" "$OUT/ca-sm2/root.crt" "$OUT/ca-sm2/root.key" user sm2
        cp "$U/$1.crt" "$U/$1.chain.pem" ;;
    esac
}
user rsa1 rsa "舟山海通建设有限公司" rsa
user rsa2 rsa "舟山港城工程有限公司" rsa
user ec1 ec "宁波甬舟建筑有限公司" ec
user ec2 ec "浙江东海市政有限公司" ec
user sm2a sm2 "舟山群岛信息技术有限公司" sm2
user sm2b sm2 "岱山海洋科技有限公司" sm2
user revoked1 ec "定海旧城建设有限公司" rsa

# ---- expired1 and the CRL: `openssl ca` with a minimal database ----
mkdir -p "$W/ca/new"
: >"$W/ca/index.txt"
echo "unique_subject = no" >"$W/ca/index.txt.attr"
openssl rand -hex 12 >"$W/ca/serial"
cat >"$W/ca.cnf" <<EOF
[ca]
default_ca = inter
[inter]
dir = $W/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/new
certificate = $R/inter.crt
private_key = $R/inter.key
default_md = sha256
default_crl_days = 30
policy = any
x509_extensions = user
crl_extensions = crlext
[any]
countryName = optional
organizationName = optional
commonName = supplied
[user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[crlext]
authorityKeyIdentifier = keyid:always
EOF
eckey "$U/expired1.key"
openssl req -new -utf8 -key "$U/expired1.key" -subj "/C=CN/O=普陀过期工程有限公司/CN=expired1" -out "$W/exp.csr"
openssl ca -batch -notext -utf8 -config "$W/ca.cnf" -rand_serial -in "$W/exp.csr" \
    -startdate 20200101000000Z -enddate 20210101000000Z -out "$U/expired1.crt" 2>/dev/null
cat "$U/expired1.crt" "$R/inter.crt" >"$U/expired1.chain.pem"
openssl ca -batch -config "$W/ca.cnf" -revoke "$U/revoked1.crt" -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config "$W/ca.cnf" -gencrl -out "$R/inter.crl.pem" 2>/dev/null

# ---- a CA outside the trust store ----
eckey "$OUT/untrusted/root.key"
selfsigned "$OUT/untrusted/root.key" "$OUT/untrusted/root.crt" "/C=CN/O=Untrusted/CN=Untrusted Root CA"
eckey "$OUT/untrusted/user.key"
issue "$OUT/untrusted/user.key" "$OUT/untrusted/user.crt" "/C=CN/O=未认可公司/CN=untrusted1" \
    "$OUT/untrusted/root.crt" "$OUT/untrusted/root.key" user

# ---- the centre's backup key pair ----
rsakey "$OUT/backup/backup.key" 3072
openssl req -x509 -new -utf8 -key "$OUT/backup/backup.key" -sha256 \
    -subj "/C=CN/O=舟山市公共资源交易中心/CN=Isle Bid Backup Key" -days 3650 \
    -set_serial "$(serial)" -config "$W/ext.cnf" -extensions backup -out "$OUT/backup/backup.crt"

rm -rf "$W"
chmod 600 "$OUT"/*/*.key
touch "$OUT/done"
