#!/bin/sh
# Writes the generated seed inputs of every fuzzer into tests/fuzz/corpus/
# (run by `make fuzz-corpus`). Each seed is a small, meaningful input, valid
# or not, named for what it is. Files this script does not name, such as
# regression inputs from crashes (crash-*), are left alone. The session
# seeds are real messages of a fresh pair of identities, so they differ
# from run to run; everything else is fixed.
set -eu
export LC_ALL=C
B=${B:-build}
C=tests/fuzz/corpus

# put FUZZER NAME TEXT: the text as it is.
put() {
	mkdir -p "$C/$1"
	printf '%s' "$3" >"$C/$1/$2"
}

# putx FUZZER NAME FORMAT: a printf format, for bytes written as \ooo.
putx() {
	mkdir -p "$C/$1"
	printf "$3" >"$C/$1/$2"
}

# padded NAME FORMAT MARKER [SIZE]: a content padded by hand to SIZE bytes
# (256 unless given): the text (a printf format, so \ooo writes any byte),
# the marker (an octal escape), then zeros.
padded() {
	mkdir -p "$C/content"
	f="$C/content/$1"
	printf "$2" >"$f"
	printf "$3" >>"$f"
	head -c $((${4:-256} - $(wc -c <"$f"))) /dev/zero >>"$f"
}

# --- content: JSON text (the target pads it), and a few padded by hand ---
ID=0123456789abcdef0123456789abcdef
REF=fedcba9876543210fedcba9876543210
H="\"v\":1,\"id\":\"$ID\""
F='"from":"ee.cert","sent":1795788309000'
TEXT='{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"body":"Hello"}'
INC='"incident":{"title":"Phishing wave","severity":"high","tlp":"AMBER","status":"open","indicators":["evil.example","198.51.100.7"],"actions":["block the domain"]}'

put content ok-text "$TEXT"
put content ok-text-full '{'"$H"',"kind":"text",'"$F"',"prio":"urgent","seq":42,"ack_by":1795791909000,"thread":"INC-2026.11_a","body":"Line one\nTab\t\"quoted\" back\\slash \u00e9 \ud83d\ude00 é"}'
put content ok-receipt '{'"$H"',"kind":"receipt",'"$F"',"prio":"routine","seq":2,"ref":"'"$REF"'","body":""}'
put content ok-ack '{'"$H"',"kind":"ack",'"$F"',"prio":"flash","seq":3,"ref":"'"$REF"'","response":"will-comply","body":"On it"}'
put content ok-check '{'"$H"',"kind":"check",'"$F"',"prio":"routine","seq":4,"body":"EXERCISE EXERCISE EXERCISE"}'
put content ok-incident '{'"$H"',"kind":"incident",'"$F"',"prio":"urgent","seq":5,"thread":"inc-7","body":"See report",'"$INC"'}'
put content ok-incident-no-lists '{'"$H"',"kind":"incident",'"$F"',"prio":"routine","seq":6,"body":"","incident":{"title":"T","severity":"low","tlp":"AMBER+STRICT","status":"closed"}}'
put content ok-pretty '{
  "v": 1, "id": "'"$ID"'",
  "kind": "text", "from": "ee.cert", "sent": 1,
  "prio": "routine", "seq": 9223372036854775807, "body": "max seq"
}'
put content bad-duplicate '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"seq":2,"body":"x"}'
put content bad-duplicate-incident '{'"$H"',"kind":"incident",'"$F"',"prio":"routine","seq":1,"body":"","incident":{"title":"a","title":"b","severity":"low","tlp":"RED","status":"open"}}'
put content bad-unknown-field '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"body":"x","color":"red"}'
put content bad-unknown-incident-field '{'"$H"',"kind":"incident",'"$F"',"prio":"routine","seq":1,"body":"","incident":{"title":"a","severity":"low","tlp":"RED","status":"open","owner":"me"}}'
put content bad-seq-real '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1.0,"body":"x"}'
put content bad-seq-bool '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":true,"body":"x"}'
put content bad-seq-zero '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":0,"body":"x"}'
put content bad-sent-negative '{'"$H"',"kind":"text","from":"ee.cert","sent":-5,"prio":"routine","seq":1,"body":"x"}'
put content bad-ack-by-zero '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"ack_by":0,"body":"x"}'
put content bad-sent-huge '{'"$H"',"kind":"text","from":"ee.cert","sent":99999999999999999999,"prio":"routine","seq":1,"body":"x"}'
put content bad-version '{"v":2,"id":"'"$ID"'","kind":"text",'"$F"',"prio":"routine","seq":1,"body":"x"}'
put content bad-id-upper '{"v":1,"id":"0123456789ABCDEF0123456789ABCDEF","kind":"text",'"$F"',"prio":"routine","seq":1,"body":"x"}'
put content bad-id-short '{"v":1,"id":"0123","kind":"text",'"$F"',"prio":"routine","seq":1,"body":"x"}'
put content bad-kind '{'"$H"',"kind":"chat",'"$F"',"prio":"routine","seq":1,"body":"x"}'
put content bad-prio '{'"$H"',"kind":"text",'"$F"',"prio":"ROUTINE","seq":1,"body":"x"}'
put content bad-ref-in-text '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"ref":"'"$REF"'","body":"x"}'
put content bad-response-in-receipt '{'"$H"',"kind":"receipt",'"$F"',"prio":"routine","seq":1,"ref":"'"$REF"'","response":"received","body":""}'
put content bad-incident-in-check '{'"$H"',"kind":"check",'"$F"',"prio":"routine","seq":1,"body":"",'"$INC"'}'
put content bad-ack-no-ref '{'"$H"',"kind":"ack",'"$F"',"prio":"routine","seq":1,"response":"unable","body":""}'
put content bad-no-body '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1}'
put content bad-from '{'"$H"',"kind":"text","from":"EE.CERT","sent":1,"prio":"routine","seq":1,"body":"x"}'
put content bad-thread '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"thread":"a b","body":"x"}'
put content bad-thread-empty '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"thread":"","body":"x"}'
put content bad-severity '{'"$H"',"kind":"incident",'"$F"',"prio":"routine","seq":1,"body":"","incident":{"title":"a","severity":"severe","tlp":"amber","status":"open"}}'
put content bad-list-entry '{'"$H"',"kind":"incident",'"$F"',"prio":"routine","seq":1,"body":"","incident":{"title":"a","severity":"low","tlp":"RED","status":"open","indicators":[1]}}'
put content bad-nul-escape '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"body":"a\u0000b"}'
put content bad-lone-surrogate '{'"$H"',"kind":"text",'"$F"',"prio":"routine","seq":1,"body":"\ud800"}'
putx content bad-utf8-byte '{"v":1,"id":"'"$ID"'","kind":"text","from":"ee.cert","sent":1,"prio":"routine","seq":1,"body":"\377"}'
putx content bad-utf8-overlong '{"v":1,"id":"'"$ID"'","kind":"text","from":"ee.cert","sent":1,"prio":"routine","seq":1,"body":"\300\200"}'
putx content bad-control-raw '{"v":1,"id":"'"$ID"'","kind":"text","from":"ee.cert","sent":1,"prio":"routine","seq":1,"body":"\033[2J"}'
put content bad-trailing "$TEXT"' x'
put content bad-root-array '[1,2,3]'
put content bad-nesting '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['
put content bad-empty ''
padded padded-ok "$TEXT" '\200'
padded padded-ok-two-blocks "$(printf '%s' "$TEXT" | sed 's/Hello/'"$(head -c 300 /dev/zero | tr '\0' 'a')"'/')" '\200' 512
padded padded-bad-marker "$TEXT" '\201'
padded padded-nul-in-text "$(printf '%s' "$TEXT" | sed 's/Hello/Hel\\000lo/')" '\200'
padded padded-short "$TEXT" '\200' 255
padded padded-zeros '' '\000'

# --- base64 ---
put base64 ok-empty ''
put base64 ok-one 'Zg=='
put base64 ok-two 'Zm8='
put base64 ok-three 'Zm9v'
put base64 ok-key 'BTEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEy'
put base64 ok-alphabet 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
put base64 bad-no-padding 'Zg'
put base64 bad-short-padding 'Zg='
put base64 bad-extra-padding 'Zm9v===='
put base64 bad-padding-inside 'Zg==Zg=='
put base64 bad-padding-first '=Zm9'
put base64 bad-trailing-bits 'Zh=='
put base64 bad-trailing-bits-two 'Zm9='
put base64 bad-urlsafe 'Zm-_'
put base64 bad-newline 'Zm9v
'
put base64 bad-space ' Zm9v'
putx base64 bad-nul 'Zm\000v'
put base64 bad-length 'Zm9vY'

# --- time: durations and times ---
for d in 90s 1h30m 7d 2w 500ms 0 45 1d2h3m4s5ms 1m1m 15250w 0ms \
    9223372036854775807ms 1h30 1x h '' 9223372036854775807 \
    99999999999999999999s 10000000000000000d 1h-30m ' 90s' '90 s'; do
	name=$(printf "%s" "dur-${d:-empty}" | tr -c "A-Za-z0-9.-" "_")
	put time "$name" "$d"
done
for t in 2026-11-27 2026-11-27T14:05Z 2026-11-27T14:05:09Z \
    '2026-11-27 14:05:09Z' 2026-11-27T14:05 2026-11-27T14:05:09 \
    2026-13-01 2026-02-30 2026-11-27T24:00Z 2026-11-27T14:60Z \
    9999-12-31T23:59:60Z -999-01-01 0000-01-01 2026-1-1 2026-+1-+1 \
    '2026- 1- 1' 2026-11-27X14:05Z 2026-11-27T14:05:09.5Z 20261127; do
	name=$(printf '%s' "time-$t" | tr -c 'A-Za-z0-9.-' '_')
	put time "$name" "$t"
done

# --- relay_request: a selector byte, then the body or query value ---
b64() { printf "$1" | base64 -w 0; }
KEY=$(b64 '\005\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021')
KEY6=$(b64 '\006\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021\021')
SIG=$(head -c 64 /dev/zero | tr '\0' '\252' | base64 -w 0)
SPK='{"id":1,"key":"'"$KEY"'","signature":"'"$SIG"'"}'
PK1='{"id":1,"key":"'"$KEY"'"}'
PK2='{"id":2,"key":"'"$KEY"'"}'
PROF='{"name":"Duty officer","organisation":"CERT-EE","country":"EE","role":"PoC","languages":["et","en"],"timezone":"Europe/Tallinn","alternate":"ee.cert2"}'
reg() { printf 'r{"handle":"ee.cert","code":"%s","identity_key":"%s","registration_id":%s,"device_id":1,"signed_prekey":%s,"prekeys":%s,"profile":%s}' "$1" "$2" "$3" "$SPK" "$4" "$5"; }
CODE=K7QD-M2XW-9FHT-R4PV-ZC6N-8JYB
put relay_request r-ok "$(reg "$CODE" "$KEY" 42 "[$PK1,$PK2]" "$PROF")"
put relay_request r-bad-duplicate-prekey-ids "$(reg "$CODE" "$KEY" 42 "[$PK1,$PK1]" "$PROF")"
put relay_request r-bad-too-many-prekeys "$(reg "$CODE" "$KEY" 42 "[$PK1,$PK2,$PK1,$PK2,$PK1]" "$PROF")"
put relay_request r-bad-key-prefix "$(reg "$CODE" "$KEY6" 42 "[$PK1]" "$PROF")"
put relay_request r-bad-code "$(reg "K7QD-M2XW-9FHT-R4PV-ZC6N-8JYU" "$KEY" 42 "[$PK1]" "$PROF")"
put relay_request r-bad-registration-id "$(reg "$CODE" "$KEY" 16381 "[$PK1]" "$PROF")"
put relay_request r-bad-bidi-name "$(reg "$CODE" "$KEY" 1 "[$PK1]" '{"name":"evil\u202egnp.exe"}')"
put relay_request r-ok-languages-full "$(reg "$CODE" "$KEY" 1 "[$PK1]" '{"name":"n","languages":["abcdefgh","abcdefgh","abcdefgh","abcdefgh","abcdefgh","abcdefgh","abcdefgh","abcdefgh"]}')"
put relay_request r-bad-unknown-field 'r{"handle":"ee.cert","extra":1}'
put relay_request k-ok-prekeys 'k{"prekeys":['"$PK1,$PK2"']}'
put relay_request k-ok-signed 'k{"signed_prekey":'"$SPK"'}'
put relay_request k-bad-empty 'k{}'
put relay_request k-bad-prekeys-object 'k{"prekeys":{"id":1}}'
put relay_request k-bad-signature-short 'k{"signed_prekey":{"id":1,"key":"'"$KEY"'","signature":"AAAA"}}'
put relay_request p-ok "p$PROF"
put relay_request p-bad-country 'p{"name":"n","country":"ee"}'
put relay_request p-bad-timezone 'p{"name":"n","timezone":"Europe/Tal linn"}'
put relay_request p-bad-alternate 'p{"name":"n","alternate":"-x"}'
put relay_request p-bad-name-empty 'p{"name":""}'
put relay_request p-bad-name-long "p{\"name\":\"$(head -c 129 /dev/zero | tr '\0' 'n')\"}"
put relay_request p-bad-c1-control 'p{"name":"a\u0085b"}'
put relay_request p-bad-languages 'p{"name":"n","languages":["e"]}'
MID=0123456789abcdef0123456789abcdef
put relay_request m-ok 'm{"to":"fi.ncsc","id":"'"$MID"'","type":2,"body":"'"$(head -c 100 /dev/zero | base64 -w 0)"'"}'
put relay_request m-bad-too-big 'm{"to":"fi.ncsc","id":"'"$MID"'","type":3,"body":"'"$(head -c 400 /dev/zero | base64 -w 0)"'"}'
put relay_request m-bad-empty-body 'm{"to":"fi.ncsc","id":"'"$MID"'","type":2,"body":""}'
put relay_request m-bad-type 'm{"to":"fi.ncsc","id":"'"$MID"'","type":4,"body":"AAAA"}'
put relay_request m-bad-id 'm{"to":"fi.ncsc","id":"0123456789ABCDEF0123456789abcdef","type":2,"body":"AAAA"}'
put relay_request m-bad-body-base64 'm{"to":"fi.ncsc","id":"'"$MID"'","type":2,"body":"AA=A"}'
put relay_request m-body-non-ascii 'm{"to":"fi.ncsc","id":"'"$MID"'","type":2,"body":"Zm\u00e9"}'
put relay_request a-ok 'a{"qids":["1","22","333"]}'
put relay_request a-bad-leading-zero 'a{"qids":["01"]}'
put relay_request a-bad-too-many 'a{"qids":["1","2","3","4","5","6","7","8","9"]}'
put relay_request a-bad-too-long 'a{"qids":["1234567890123456789"]}'
put relay_request a-bad-number 'a{"qids":[1]}'
put relay_request i-ok 'i100'
put relay_request i-bad-zero 'i0'
put relay_request i-bad-over 'i1001'
put relay_request i-bad-sign 'i+5'
put relay_request s-ok 'scert ee'
put relay_request s-bad-bidi "s$(printf 'a\342\200\256b')"
put relay_request s-bad-long "s$(head -c 129 /dev/zero | tr '\0' 'q')"
putx relay_request s-bad-utf8 's\300\200'

# --- relay_config: relay.ini text ---
put relay_config ok-plain-loopback '[server]
listen = 127.0.0.1:8443
allow_plain_http = true
'
put relay_config ok-full '; every key
[server]
listen = [::1]:8443
tls_cert = tls/cert.pem
tls_key = /etc/hotline/key.pem
tls_priorities = NORMAL
allow_plain_http = no
threads = 8
max_connections = 100
max_connections_per_ip = 10
connection_memory_kib = 64
connection_timeout = 45s
max_wait = 0s
max_fetch = 50
max_fetch_bytes = 1048576
metrics = on
[store]
url = sqlite:relay.db
[limits]
max_message_bytes = 81920
max_body_bytes = 65536
max_queue_per_recipient = 5000
rate_per_minute = 60
bundle_rate_per_hour = 10
register_rate_per_hour = 5
max_prekeys_per_upload = 100
max_prekeys_stored = 500
retention = 14d
purge_interval = 30m
'
put relay_config bad-unknown-section '[client]
x = 1
'
put relay_config bad-unknown-key '[server]
colour = blue
'
put relay_config bad-twice '[server]
threads = 2
threads = 3
'
put relay_config bad-outside-section 'threads = 2
'
put relay_config bad-retention-both '[limits]
retention = 7d
retention_days = 7
'
put relay_config bad-prekeys-stored '[limits]
max_prekeys_per_upload = 100
max_prekeys_stored = 10
'
put relay_config bad-body-small '[limits]
max_prekeys_per_upload = 1000
max_prekeys_stored = 1000
max_body_bytes = 4096
'
put relay_config bad-long-line "[server]
tls_priorities = $(head -c 300 /dev/zero | tr '\0' 'x')
"
put relay_config bad-integer '[server]
threads = -1
'
put relay_config bad-bool '[server]
metrics = maybe
'
put relay_config bad-duration '[server]
connection_timeout = 1500ms
'
put relay_config bad-listen-name '[server]
listen = localhost:8443
'
put relay_config bad-listen-port '[server]
listen = 127.0.0.1:65536
'
put relay_config bad-listen-v6 '[server]
listen = [::1]8443
'
put relay_config bad-store '[store]
url = postgres://relay
'
put relay_config bad-continuation '[server]
threads = 2
  3
'
put relay_config bad-syntax '[server
'
put relay_config listen-v4 '10.1.2.3:443'
put relay_config listen-v6 '[fe80::1]:80'

# --- relay_secret: Authorization values and enrollment codes ---
HEX=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
put relay_secret token-ok "Bearer $HEX"
put relay_secret token-ok-scheme-case "bEARER $HEX"
put relay_secret token-bad-upper-hex "Bearer $(printf '%s' "$HEX" | tr a-f A-F)"
put relay_secret token-bad-short "Bearer $(printf '%s' "$HEX" | cut -c2-)"
put relay_secret token-bad-long "Bearer ${HEX}0"
put relay_secret token-bad-two-spaces "Bearer  $HEX"
put relay_secret token-bad-scheme "Basic $HEX"
put relay_secret code-ok "$CODE"
put relay_secret code-ok-lower "$(printf '%s' "$CODE" | tr A-Z a-z)"
put relay_secret code-ok-bare "$(printf '%s' "$CODE" | tr -d -)"
put relay_secret code-ok-spaces 'K7QD M2XW 9FHT R4PV ZC6N 8JYB'
put relay_secret code-ok-look-alikes 'OILO-M2XW-9FHT-R4PV-ZC6N-8JYB'
put relay_secret code-bad-u 'K7QD-M2XW-9FHT-R4PV-ZC6N-8JYU'
put relay_secret code-bad-short 'K7QD-M2XW-9FHT-R4PV-ZC6N-8JY'
put relay_secret code-bad-long 'K7QD-M2XW-9FHT-R4PV-ZC6N-8JYB-0'
put relay_secret code-bad-too-many-dashes "$(head -c 70 /dev/zero | tr '\0' '-')"

# --- session: real messages of a fresh pair, and XOR masks ---
mkdir -p "$C/session"
HL_FUZZ_SESSION_SEEDS="$C/session" "$B/tests/fuzz/replay_session" /dev/null >/dev/null
putx session mask-none '\000\000\000\000\000\000\000\000'
putx session mask-version '\001'
putx session mask-second-byte '\000\001'
putx session mask-tenth-byte '\000\000\000\000\000\000\000\000\000\200'
putx session raw-version-only '\063'
putx session raw-tag-only '\063\012\041\005'
put session raw-text 'not a ciphertext'
# --- scenario: the language of hotline-drill; the real scenarios too ---
mkdir -p "$C/scenario"
for d in tests/drills/*.drill; do
	cp "$d" "$C/scenario/drill-$(basename "$d" .drill)"
done
put scenario ok-minimal 'wait 1s'
put scenario ok-all-steps 'relay start
client a.x register
client b.x register --alternate c.x
client c.x register
a.x send b.x --urgent --ack-within 30s Incident #42 # comment
a.x send b.x --flash "quoted # text within 5s"
b.x sync
b.x ack last will-comply a note
a.x drill start --to b.x,c.x --ack-within 2m --note the rest
expect b.x sees Incident within 10s
expect a.x state last acknowledged within 1m
expect a.x overdue 0
expect report last rate >= 80%
a.x drill report last --format html -o out.html
client b.x reenrol
a.x trust b.x
relay kill
relay restart'
put scenario bad-unknown-client 'x.y sync'
put scenario bad-twice 'client a.x register
client a.x register'
put scenario bad-report-first 'expect report last rate >= 1'
put scenario bad-duration 'wait forever'
put scenario bad-quote-open 'client a.x register
client b.x register
a.x send b.x "open quote'
putx scenario bad-control 'client a.x register\033[2J\n'
putx scenario bad-nul 'wait 1s\000\n'
put scenario bad-empty '# nothing but a comment'
put scenario bad-ack-code-typo 'client a.x register
client b.x register
b.x ack last will-comlpy Typo code'
put scenario bad-op-single-equals 'client a.x register
client b.x register
a.x drill start --to b.x
expect report last late = 1'
put scenario bad-quote-unterminated 'client a.x register
client b.x register
a.x send b.x "unterminated'
put scenario bad-within-no-unit 'client a.x register
client b.x register
expect b.x sees hello within 2'
put scenario bad-peer-missing 'client a.x register
client b.x register
b.x send'
echo "== fuzz-corpus: seeds written under $C/"
