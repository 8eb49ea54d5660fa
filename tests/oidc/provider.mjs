// Loopback OpenID Connect provider for Ember end-to-end tests.
//
//   node provider.mjs <port>
//
// Listens on 127.0.0.1:<port> with issuer http://127.0.0.1:<port>. When ready it
// prints exactly one line to stdout:
//
//   oidc-provider listening http://127.0.0.1:<port>
//
// Everything else (warnings, errors) goes to stderr. See README.md for the clients,
// the accounts and the exact HTTP steps of the login flow.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

// oidc-provider prints NOTICEs with console.info (stdout). Keep stdout for the
// single readiness line: send console.info / console.log to stderr instead.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

// Silence the warnings that are expected for a test-only provider (dev login pages,
// in-memory storage, Node 20 being older than the LTS line oidc-provider v9 asks
// for, the pre-read /token body); keep every other one.
const EXPECTED_WARNINGS = [
  'devInteractions', 'in-memory adapter', 'Unsupported runtime',
  'already parsed request body', // see formClientId below
];
const realWarn = console.warn.bind(console);
console.warn = (...args) => {
  if (typeof args[0] === 'string' && EXPECTED_WARNINGS.some((w) => args[0].includes(w))) return;
  realWarn(...args);
};

// Imported only now, so that the override above is in place when it loads.
const { default: Provider } = await import('oidc-provider');

const port = Number.parseInt(process.argv[2], 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node provider.mjs <port>');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;

const redirectUris = (process.env.OIDC_REDIRECT_URIS || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (redirectUris.length === 0) {
  console.error('OIDC_REDIRECT_URIS must list at least one redirect URI (comma-separated)');
  process.exit(2);
}

// ID tokens issued at the token endpoint to this client are already expired.
const EXPIRED_CLIENT_ID = 'ember-expired';
const ID_TOKEN_TTL = 60 * 60; // seconds
const EXPIRED_CLOCK_SHIFT_MS = 2 * 60 * 60 * 1000; // iat = now-2h, exp = now-1h

// A fresh RS256 signing key at every start: restarting on the same port rotates the key.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `ember-test-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

const client = (clientId, clientSecret) => ({
  client_id: clientId,
  client_secret: clientSecret,
  redirect_uris: redirectUris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
});

const SCOPES = ['openid', 'email', 'profile', 'groups'];
const CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username'],
  groups: ['groups'],
};

function groupsFor(login) {
  switch (login) {
    case 'alice': return ['ember-admins'];
    case 'bob': return ['ember-devs', 'team-a'];
    default: return [];
  }
}

const configuration = {
  clients: [
    client('ember', 'ember-secret'),
    client(EXPIRED_CLIENT_ID, 'ember-expired-secret'),
  ],
  jwks: { keys: [signingJwk] },
  cookies: {
    keys: ['ember-test-cookie-key-1', 'ember-test-cookie-key-2'],
  },
  scopes: SCOPES,
  claims: CLAIMS,
  conformIdTokenClaims: false,
  pkce: {
    required: () => true,
  },
  features: {
    devInteractions: { enabled: true },
  },
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: ID_TOKEN_TTL,
    Interaction: 60 * 60,
    Session: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
  },
  // Any login name is an account (devInteractions accepts any password). The
  // account id (= the `sub` claim, which oidc-provider always sets to accountId) is
  // `<login>-sub`; see the interactionFinished wrapper below.
  async findAccount(ctx, id) {
    const accountId = String(id);
    const login = accountId.endsWith('-sub') ? accountId.slice(0, -4) : accountId;
    return {
      accountId,
      async claims() {
        return {
          sub: `${login}-sub`,
          email: `${login}@example.com`,
          email_verified: true,
          name: login.charAt(0).toUpperCase() + login.slice(1),
          preferred_username: login,
          groups: groupsFor(login),
        };
      },
    };
  },
  // No consent screen: grant everything the client asks for.
  async loadExistingGrant(ctx) {
    const { provider, client: oidcClient, session, result } = ctx.oidc;
    const grantId = result?.consent?.grantId || session.grantIdFor(oidcClient.clientId);
    let grant = grantId ? await provider.Grant.find(grantId) : undefined;
    if (!grant) {
      grant = new provider.Grant({ clientId: oidcClient.clientId, accountId: session.accountId });
    }
    const scopes = [...ctx.oidc.requestParamOIDCScopes];
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    const claims = [...ctx.oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><title>oops</title></head><body><h1>oops! something went wrong</h1><pre>${
      Object.entries(out).map(([k, v]) => `${esc(k)}: ${esc(v)}`).join('\n')
    }</pre></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// devInteractions finishes the login with accountId = the submitted login name;
// turn that into `<login>-sub` so that the ID token's `sub` is `<login>-sub`.
const interactionFinished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  const accountId = result?.login?.accountId;
  if (typeof accountId === 'string' && accountId.length > 0) {
    result = { ...result, login: { ...result.login, accountId: `${accountId}-sub` } };
  }
  return interactionFinished(req, res, result, options);
};

// The dev-interactions page @imports a web font from the internet; strip it so a
// headless browser on this machine never tries to reach outside the loopback.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https?:[^)]*\);?/g, '');
  }
});

// Clock shift for the "expired" client: while a token request from ember-expired is
// handled, Date.now() runs 2 hours behind, so the ID token gets iat = now-2h and
// exp = now-1h. Requests are assumed to be sequential (the clock is process-wide).
// oidc-provider v9 accepts the client secret either way (HTTP Basic or in the form
// body) whatever token_endpoint_auth_method says, so both are recognised here.
function basicClientId(header) {
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined;
  try {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    return decodeURIComponent(decoded.slice(0, i).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

const BODY_LIMIT = 56 * 1024; // oidc-provider's own limit

// Reads the form body to find client_id, then hands the raw body to oidc-provider
// through req.body (which it reads when the stream has already been consumed).
async function formClientId(ctx) {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > BODY_LIMIT) ctx.throw(413, 'request entity too large');
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  ctx.req.body = raw;
  return new URLSearchParams(raw).get('client_id') ?? undefined;
}

provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
  const clientId = basicClientId(ctx.get('authorization')) ?? await formClientId(ctx);
  if (clientId !== EXPIRED_CLIENT_ID) return next();
  const realNow = Date.now;
  Date.now = () => realNow() - EXPIRED_CLOCK_SHIFT_MS;
  try {
    return await next();
  } finally {
    Date.now = realNow;
  }
});

provider.on('server_error', (ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

const server = createServer(provider.callback());
server.on('error', (err) => {
  console.error(`oidc-provider failed to listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening ${issuer}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
