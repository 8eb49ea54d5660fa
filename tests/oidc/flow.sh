#!/usr/bin/env bash
# End-to-end check of the loopback OIDC provider, done the way an HTTP client
# (cookie store on, redirects off) would do it: authorization request, login form,
# redirects back to the client's redirect URI, code exchange with PKCE, replay
# rejection, and the always-expired ID token of client "ember-expired".
#
# Needs node, curl. Exits non-zero when any step fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

./setup.sh >/dev/null

REDIRECT_URI='http://127.0.0.1:9/cb'   # never contacted: only its Location is read
TMP=$(mktemp -d)
PID=''
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$TMP/provider.stderr" ]; then
    echo '--- provider stderr ---' >&2
    cat "$TMP/provider.stderr" >&2
  fi
  exit 1
}
say() { echo "== $*"; }

urlenc() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }

# --- start the provider on a free port -------------------------------------------
PORT=$(node -e '
  const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
BASE="http://127.0.0.1:$PORT"
OIDC_REDIRECT_URIS="$REDIRECT_URI" node provider.mjs "$PORT" \
  >"$TMP/provider.stdout" 2>"$TMP/provider.stderr" &
PID=$!
for _ in $(seq 1 100); do
  grep -qx "oidc-provider listening $BASE" "$TMP/provider.stdout" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || fail "provider exited before it was ready"
  sleep 0.1
done
grep -qx "oidc-provider listening $BASE" "$TMP/provider.stdout" || fail "provider not ready after 10s"
[ "$(wc -l <"$TMP/provider.stdout")" -eq 1 ] || fail "provider printed more than one line to stdout"
say "provider ready: $(cat "$TMP/provider.stdout")"

curl -fsS "$BASE/.well-known/openid-configuration" >"$TMP/discovery.json" || fail "discovery"
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (d.issuer !== process.argv[2]) throw new Error(`issuer ${d.issuer}`);
  if (!d.code_challenge_methods_supported.includes("S256")) throw new Error("no S256");
' "$TMP/discovery.json" "$BASE" || fail "discovery document"
curl -fsS "$BASE/jwks" >"$TMP/jwks.json" || fail "jwks"
say "discovery issuer $BASE, jwks kid $(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).keys.map(k=>k.kid+"/"+k.alg).join(",")' "$TMP/jwks.json")"

# --- HTTP helper: one request, no redirect following, cookie jar in and out -------
# usage: req JAR OUTPREFIX curl-args...   -> prints status; headers/body in OUTPREFIX.{h,b}
req() {
  local jar=$1 out=$2; shift 2
  curl -sS -o "$out.b" -D "$out.h" -w '%{http_code}' -b "$jar" -c "$jar" "$@"
}
location() { # absolute Location of a response (relative ones resolved against BASE)
  local loc
  loc=$(grep -i '^location:' "$1.h" | tail -n1 | sed -e 's/^[Ll]ocation:[[:space:]]*//' -e 's/\r$//')
  case "$loc" in
    '') echo '' ;;
    /*) echo "$BASE$loc" ;;
    *) echo "$loc" ;;
  esac
}

# --- one full authorization-code + PKCE flow ------------------------------------
# usage: login_flow CLIENT SECRET LOGIN JAR AUTH   -> leaves token response in $TMP/token.json
# AUTH: basic (client_secret_basic) or post (client_id/client_secret in the form body)
login_flow() {
  local client=$1 secret=$2 login=$3 jar=$4 auth=$5 out="$TMP/$1" status loc hops
  local -a cauth
  if [ "$auth" = basic ]; then cauth=(-u "$client:$secret"); else
    cauth=(--data-urlencode "client_id=$client" --data-urlencode "client_secret=$secret"); fi
  local verifier challenge state nonce
  verifier=$(node -p 'require("crypto").randomBytes(32).toString("base64url")')
  challenge=$(node -p 'require("crypto").createHash("sha256").update(process.argv[1]).digest("base64url")' "$verifier")
  state="state-$client-$RANDOM"
  nonce="nonce-$client-$RANDOM"

  local auth_url="$BASE/auth?client_id=$client&response_type=code&scope=openid%20email%20profile%20groups&redirect_uri=$(urlenc "$REDIRECT_URI")&state=$state&nonce=$nonce&code_challenge=$challenge&code_challenge_method=S256"

  say "[$client] 1. GET /auth?..."
  status=$(req "$jar" "$out.1" "$auth_url")
  loc=$(location "$out.1")
  [ "$status" = 303 ] || fail "[$client] /auth: expected 303, got $status"
  [[ "$loc" =~ ^$BASE/interaction/[A-Za-z0-9_-]+$ ]] || fail "[$client] /auth redirected to '$loc'"
  echo "   -> $status Location: $(grep -i '^location:' "$out.1.h" | sed 's/^[^:]*:[[:space:]]*//; s/\r$//')"
  grep -io '^set-cookie: [^;]*; path=[^;]*' "$out.1.h" | sed 's/=[^;]*;/=…;/; s/^/      /'

  say "[$client] 2. GET login page"
  status=$(req "$jar" "$out.2" "$loc")
  [ "$status" = 200 ] || fail "[$client] interaction page: expected 200, got $status"
  local action method
  action=$(grep -o '<form[^>]*action="[^"]*"' "$out.2.b" | head -n1 | sed 's/.*action="\([^"]*\)".*/\1/; s/&amp;/\&/g')
  method=$(grep -o '<form[^>]*method="[^"]*"' "$out.2.b" | head -n1 | sed 's/.*method="\([^"]*\)".*/\1/')
  [ "$action" = "$loc" ] || fail "[$client] form action '$action' is not the interaction URL '$loc'"
  [ "$method" = post ] || fail "[$client] form method '$method'"
  grep -q '<input type="hidden" name="prompt" value="login"/>' "$out.2.b" || fail "[$client] no hidden prompt=login field"
  grep -q 'name="login"' "$out.2.b" || fail "[$client] no login field"
  grep -q 'name="password"' "$out.2.b" || fail "[$client] no password field"
  grep -q '<button type="submit" class="login login-submit">Sign-in</button>' "$out.2.b" || fail "[$client] no Sign-in button"
  if grep -q 'https\?://' <(grep -o '@import[^;]*' "$out.2.b"); then fail "[$client] page imports external CSS"; fi
  echo "   -> $status form method=$method action=$action fields: prompt=login, login, password; button 'Sign-in'"

  say "[$client] 3. POST login form (login=$login, any password)"
  status=$(req "$jar" "$out.3" -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-urlencode prompt=login --data-urlencode "login=$login" --data-urlencode 'password=anything' "$action")
  loc=$(location "$out.3")
  [ "$status" = 303 ] || fail "[$client] login POST: expected 303, got $status"
  [[ "$loc" =~ ^$BASE/auth/[A-Za-z0-9_-]+$ ]] || fail "[$client] login POST redirected to '$loc'"
  echo "   -> $status Location: $(grep -i '^location:' "$out.3.h" | sed 's/^[^:]*:[[:space:]]*//; s/\r$//')"

  hops=0
  while [[ "$loc" != "$REDIRECT_URI"* ]]; do
    hops=$((hops + 1))
    [ "$hops" -le 5 ] || fail "[$client] too many redirects"
    say "[$client] 4.$hops GET ${loc#"$BASE"}"
    status=$(req "$jar" "$out.4.$hops" "$loc")
    [[ "$status" =~ ^30[1-8]$ ]] || fail "[$client] GET $loc: expected a redirect, got $status: $(head -c 500 "$out.4.$hops.b")"
    loc=$(location "$out.4.$hops")
    echo "   -> $status Location: $loc"
    grep -io '^set-cookie: [^;]*; path=[^;]*' "$out.4.$hops.h" | sed 's/=[^;]*;/=…;/; s/^/      /'
  done
  echo "   redirect URI reached after $hops redirect(s) following the login POST"

  local code got_state got_iss err
  read -r code got_state got_iss err < <(node -e '
    const u = new URL(process.argv[1]);
    const g = (k) => u.searchParams.get(k) || "-";
    console.log([g("code"), g("state"), g("iss"), g("error")].join(" "));' "$loc")
  [ "$err" = - ] || fail "[$client] redirect carries error=$err ($loc)"
  [ "$code" != - ] || fail "[$client] no code in $loc"
  [ "$got_state" = "$state" ] || fail "[$client] state '$got_state' != '$state'"
  [ "$got_iss" = "$BASE" ] || fail "[$client] iss '$got_iss' != '$BASE'"
  echo "   code=${code:0:10}… state=$got_state iss=$got_iss"

  say "[$client] 5. POST /token (client_secret_$auth + code_verifier)"
  status=$(curl -sS -o "$TMP/token.json" -w '%{http_code}' "${cauth[@]}" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$verifier" "$BASE/token")
  [ "$status" = 200 ] || fail "[$client] token: expected 200, got $status: $(cat "$TMP/token.json")"

  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [tokFile, jwksFile, base, client, login, nonce] = process.argv.slice(1);
    const tok = JSON.parse(fs.readFileSync(tokFile, "utf8"));
    const [h, p, s] = tok.id_token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const payload = JSON.parse(Buffer.from(p, "base64url"));
    const jwk = JSON.parse(fs.readFileSync(jwksFile, "utf8")).keys.find((k) => k.kid === header.kid);
    if (!jwk) throw new Error(`kid ${header.kid} not in JWKS`);
    const ok = crypto.verify("sha256", Buffer.from(`${h}.${p}`), crypto.createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(s, "base64url"));
    if (!ok || header.alg !== "RS256") throw new Error("bad ID token signature");
    console.log(`   token_type=${tok.token_type} expires_in=${tok.expires_in} scope="${tok.scope}" refresh_token=${tok.refresh_token ? "yes" : "no"}`);
    console.log(`   id_token header: ${JSON.stringify(header)} (signature verified against /jwks)`);
    console.log(`   id_token payload: ${JSON.stringify(payload)}`);
    const groups = { alice: ["ember-admins"], bob: ["ember-devs", "team-a"] }[login] || [];
    const want = { iss: base, aud: client, sub: `${login}-sub`, email: `${login}@example.com`, email_verified: true,
      preferred_username: login, nonce, groups };
    for (const [k, v] of Object.entries(want)) {
      if (JSON.stringify(payload[k]) !== JSON.stringify(v)) throw new Error(`claim ${k}: ${JSON.stringify(payload[k])} != ${JSON.stringify(v)}`);
    }
    if (typeof payload.name !== "string") throw new Error("no name claim");
  ' "$TMP/token.json" "$TMP/jwks.json" "$BASE" "$client" "$login" "$nonce" || fail "[$client] ID token checks"

  say "[$client] 6. POST /token again with the same code"
  status=$(curl -sS -o "$TMP/token2.json" -w '%{http_code}' "${cauth[@]}" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$verifier" "$BASE/token")
  echo "   -> $status $(cat "$TMP/token2.json")"
  [ "$status" = 400 ] || fail "[$client] replayed code: expected 400, got $status"
  grep -q '"error":"invalid_grant"' "$TMP/token2.json" || fail "[$client] replayed code: expected invalid_grant"
}

# --- PKCE is required -------------------------------------------------------------
say "PKCE required: GET /auth without code_challenge"
status=$(req "$TMP/jar.nopkce" "$TMP/nopkce" "$BASE/auth?client_id=ember&response_type=code&scope=openid&redirect_uri=$(urlenc "$REDIRECT_URI")&state=S&nonce=N")
loc=$(location "$TMP/nopkce")
echo "   -> $status Location: $loc"
[[ "$status" = 303 && "$loc" == "$REDIRECT_URI?"*error=invalid_request* ]] || fail "missing code_challenge was not rejected"

# --- client "ember": alice --------------------------------------------------------
login_flow ember ember-secret alice "$TMP/jar.ember" basic

# --- SSO: same cookie jar, new authorization request -> straight back, no login page
say "[ember] SSO: second /auth with the same cookie jar"
status=$(req "$TMP/jar.ember" "$TMP/sso" "$BASE/auth?client_id=ember&response_type=code&scope=openid&redirect_uri=$(urlenc "$REDIRECT_URI")&state=S2&nonce=N2&code_challenge=$(node -p 'require("crypto").randomBytes(32).toString("base64url")')&code_challenge_method=S256")
loc=$(location "$TMP/sso")
echo "   -> $status Location: ${loc%%code=*}code=…"
[[ "$status" = 303 && "$loc" == "$REDIRECT_URI?code="* ]] || fail "SSO did not redirect straight back with a code"

# --- client "ember-expired": the ID token must already be expired -----------------
check_expired() {
  node -e '
    const tok = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const p = JSON.parse(Buffer.from(tok.id_token.split(".")[1], "base64url"));
    const now = Math.floor(Date.now() / 1000);
    console.log(`   now=${now} iat=${p.iat} (now${p.iat - now}s) exp=${p.exp} (now${p.exp - now}s) -> expired`);
    if (!(p.exp < now - 600)) throw new Error("ID token of ember-expired is not expired");
  ' "$TMP/token.json" || fail "[ember-expired] ID token not expired"
}
login_flow ember-expired ember-expired-secret bob "$TMP/jar.expired" basic
check_expired
login_flow ember-expired ember-expired-secret dave "$TMP/jar.expired2" post
check_expired

# --- the normal client is unaffected afterwards (and client_secret_post works) ----
login_flow ember ember-secret carol "$TMP/jar.carol" post
node -e '
  const tok = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const p = JSON.parse(Buffer.from(tok.id_token.split(".")[1], "base64url"));
  const now = Math.floor(Date.now() / 1000);
  if (!(p.exp > now + 3000 && Math.abs(p.iat - now) < 60)) throw new Error(`iat/exp off: ${p.iat} ${p.exp} now ${now}`);
' "$TMP/token.json" || fail "[ember] ID token times wrong after the expired client"

[ "$(wc -l <"$TMP/provider.stdout")" -eq 1 ] || fail "provider printed more than one line to stdout"
if [ -s "$TMP/provider.stderr" ]; then
  echo '--- provider stderr ---'
  cat "$TMP/provider.stderr"
fi
echo "flow.sh: all OIDC flow checks passed"
