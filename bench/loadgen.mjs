// libgate's closed-loop load client: node:http with keep-alive, driven by bench/run.py.
//
// It speaks newline-delimited JSON on stdin/stdout, so the driver can sample /proc exactly
// around each timed window:
//
//   {"cmd": "setup", "target": {...}, "mode": "flow"|"refresh", "concurrency": 8}
//   {"cmd": "run", "seconds": 6, "max_ops": 200000}    -> one result line
//   {"cmd": "quit"}
//
// target = {issuer, client_id, client_secret, redirect_uri, flow_scope, refresh_scope,
//           refresh_prompt?, accounts: [{card, pin}, ...]}
//
// A flow is: GET authorize -> follow the provider's redirects; when a page with a form
// comes back, fill it in the way a resident would (card + PIN on a sign-in form, "allow"
// on a consent form) and post it -> redirect_uri?code -> POST token (PKCE,
// client_secret_basic) -> GET userinfo. An OP whose interaction completes by redirect
// alone (an automatic login) needs no form step; libgate's sign-in form does.
// A refresh loop holds one refresh token from its own code flow and chains the rotated
// token each answer carries. Every loop stops at the deadline or after max_ops
// operations in all; only loopback issuers are accepted.
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

const REQUEST_TIMEOUT_MS = 30000;
const MAX_HOPS = 12;
const MAX_ERRORS = 25;

// ---------- HTTP ----------

function request(agent, url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const all = { ...headers };
    if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
    const req = http.request({
      agent, method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: all,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`timeout ${method} ${url.pathname}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

class Jar {
  constructor() { this.cookies = new Map(); }

  store(setCookie) {
    for (const line of setCookie ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      let value = pair.slice(eq + 1).trim();
      let path = '/';
      for (const attr of attrs) {
        const [k, v = ''] = attr.trim().split('=');
        const key = k.toLowerCase();
        if (key === 'path') path = v || '/';
        if ((key === 'max-age' && Number(v) <= 0) || (key === 'expires' && Date.parse(v) <= Date.now())) value = '';
      }
      const id = `${name}\u0000${path}`;
      if (value === '' || value === '""') this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(pathname) {
    const out = [];
    for (const { name, value, path } of this.cookies.values()) {
      const prefix = path.endsWith('/') ? path : `${path}/`;
      if (path === '/' || pathname === path || pathname.startsWith(prefix)) out.push(`${name}=${value}`);
    }
    return out.join('; ');
  }
}

const b64u = (buf) => buf.toString('base64url');
const formEncode = (s) => encodeURIComponent(s).replace(/%20/g, '+');
const basicAuth = (id, secret) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
const unescapeHtml = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

// "POST /signin/Zx8..." -> "POST /signin/:id": step names without the random parts.
const stepName = (method, url) => `${method} ${url.pathname.replace(/\/[A-Za-z0-9_-]{16,}/g, '/:id')}`;

function attr(tag, name) {
  const m = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return m ? unescapeHtml(m[1]) : undefined;
}

// The page's form as a resident would submit it, or undefined when it has none we know.
function fillForm(html, pageUrl, account) {
  const formTag = /<form\b[^>]*>/i.exec(html);
  if (!formTag) return undefined;
  const fields = new URLSearchParams();
  const names = new Set();
  for (const [tag] of html.matchAll(/<(?:input|button)\b[^>]*>/gi)) {
    const name = attr(tag, 'name');
    if (name) names.add(name);
    if (name && /type\s*=\s*"hidden"/i.test(tag)) fields.set(name, attr(tag, 'value') ?? '');
  }
  let kind;
  if (names.has('pin')) {
    kind = 'signin';
    fields.set('card', account.card);
    fields.set('pin', account.pin);
  } else if (names.has('decision')) {
    kind = 'consent';
    fields.set('decision', 'allow');
  } else {
    return undefined;
  }
  const method = (attr(formTag[0], 'method') || 'get').toUpperCase();
  const action = new URL(attr(formTag[0], 'action') || pageUrl.href, pageUrl);
  return { kind, method, action, body: fields.toString() };
}

// ---------- OpenID operations ----------

class Target {
  constructor(spec) {
    this.spec = spec;
    this.issuer = new URL(spec.issuer);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(this.issuer.hostname)) {
      throw new Error(`only loopback issuers are benchmarked, not ${this.issuer.hostname}`);
    }
    this.auth = basicAuth(spec.client_id, spec.client_secret);
  }

  async discover(agent) {
    const r = await request(agent, new URL('/.well-known/openid-configuration', this.issuer));
    if (r.status !== 200) throw new Error(`discovery answered ${r.status}`);
    this.meta = JSON.parse(r.body);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint']) {
      const u = new URL(this.meta[k]);
      if (u.host !== this.issuer.host) throw new Error(`${k} ${u.href} is not on the benchmarked host`);
    }
  }
}

async function timed(steps, name, work) {
  const t0 = performance.now();
  const out = await work();
  const s = steps.get(name) ?? { n: 0, ms: 0 };
  s.n += 1;
  s.ms += performance.now() - t0;
  steps.set(name, s);
  return out;
}

// authorize ... redirect_uri?code -> token -> userinfo. Returns the token response.
// The browser's requests go over a connection of its own, kept alive for this flow only
// (each flow is another resident's browser, and new connections are what spread
// residents over a server's worker processes); the relying party's back-channel calls
// (token, userinfo) share the pooled keep-alive agent, as a portal's HTTP client would.
async function codeFlow(agent, target, account, steps, counters, { scope, prompt } = {}) {
  const browser = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await codeFlowWith(browser, agent, target, account, steps, counters, { scope, prompt });
  } finally {
    browser.destroy();
  }
}

async function codeFlowWith(browser, agent, target, account, steps, counters, { scope, prompt }) {
  const jar = new Jar();
  const verifier = b64u(randomBytes(32));
  const challenge = b64u(createHash('sha256').update(verifier).digest());
  const state = b64u(randomBytes(12));
  const nonce = b64u(randomBytes(12));
  const q = new URLSearchParams({
    client_id: target.spec.client_id,
    response_type: 'code',
    redirect_uri: target.spec.redirect_uri,
    scope: scope ?? target.spec.flow_scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  if (prompt) q.set('prompt', prompt);
  let url = new URL(`${target.meta.authorization_endpoint}?${q}`);
  let method = 'GET';
  let body;
  for (let hops = 0; ; hops += 1) {
    if (hops > MAX_HOPS) throw new Error('too many hops before the redirect URI');
    const headers = { cookie: jar.header(url.pathname) };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const here = url;
    const r = await timed(steps, stepName(method, here), () => request(browser, here, { method, headers, body }));
    jar.store(r.headers['set-cookie']);
    if (r.status >= 300 && r.status < 400 && r.headers.location) {
      url = new URL(r.headers.location, here);
      method = 'GET';
      body = undefined;
      if (url.href.startsWith(target.spec.redirect_uri)) break;
      continue;
    }
    const form = r.status === 200 ? fillForm(r.body, here, account) : undefined;
    if (!form) throw new Error(`unexpected ${r.status} at ${stepName(method, here)}: ${r.body.slice(0, 160).replace(/\s+/g, ' ')}`);
    if (form.kind === 'consent') counters.consent_clicks += 1;
    url = form.action;
    method = form.method;
    body = form.body;
  }
  const cb = url.searchParams;
  if (cb.get('error')) throw new Error(`authorization error ${cb.get('error')}: ${cb.get('error_description')}`);
  if (cb.get('state') !== state) throw new Error('state mismatch');
  if (cb.get('iss') && cb.get('iss') !== target.meta.issuer) throw new Error('iss mismatch');
  const tokenUrl = new URL(target.meta.token_endpoint);
  const tr = await timed(steps, stepName('POST', tokenUrl), () => request(agent, tokenUrl, {
    method: 'POST',
    headers: { authorization: target.auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: cb.get('code'), redirect_uri: target.spec.redirect_uri, code_verifier: verifier,
    }).toString(),
  }));
  if (tr.status !== 200) throw new Error(`token answered ${tr.status}: ${tr.body.slice(0, 160)}`);
  const tokens = JSON.parse(tr.body);
  if (!tokens.access_token || !tokens.id_token) throw new Error('token response without access_token/id_token');
  const uiUrl = new URL(target.meta.userinfo_endpoint);
  const ui = await timed(steps, stepName('GET', uiUrl), () => request(agent, uiUrl, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  }));
  if (ui.status !== 200) throw new Error(`userinfo answered ${ui.status}: ${ui.body.slice(0, 160)}`);
  if (!JSON.parse(ui.body).sub) throw new Error('userinfo without sub');
  return tokens;
}

async function refreshOnce(agent, target, token) {
  const tokenUrl = new URL(target.meta.token_endpoint);
  const r = await request(agent, tokenUrl, {
    method: 'POST',
    headers: { authorization: target.auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`,
  });
  if (r.status !== 200) throw new Error(`refresh answered ${r.status}: ${r.body.slice(0, 160)}`);
  const body = JSON.parse(r.body);
  if (!body.access_token) throw new Error('refresh response without access_token');
  return body;
}

// ---------- the closed loop ----------

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null);
const round = (x, d = 2) => (x === null ? null : Number(x.toFixed(d)));

class Load {
  constructor(msg) {
    this.target = new Target(msg.target);
    this.mode = msg.mode;
    this.concurrency = msg.concurrency;
    const accounts = msg.target.accounts?.length ? msg.target.accounts : [{ card: 'none', pin: 'none' }];
    this.loops = Array.from({ length: this.concurrency }, (_, i) => ({ account: accounts[i % accounts.length] }));
    this.counters = { consent_clicks: 0, rotated: 0, chain_restarts: 0 };
  }

  agent() {
    // A fresh pool for every window: an idle keep-alive socket the server closed between
    // windows is never reused (no request is ever retried: a refresh is not idempotent).
    return new http.Agent({ keepAlive: true, maxSockets: this.concurrency, maxFreeSockets: this.concurrency });
  }

  async newChain(agent, loop) {
    const steps = new Map();
    const tokens = await codeFlow(agent, this.target, loop.account, steps, this.counters, {
      scope: this.target.spec.refresh_scope, prompt: this.target.spec.refresh_prompt,
    });
    if (!tokens.refresh_token) throw new Error('the code flow gave no refresh token');
    loop.rt = tokens.refresh_token;
    loop.refreshes = 0;
  }

  async setup() {
    const agent = this.agent();
    try {
      await this.target.discover(agent);
      if (this.mode === 'refresh') {
        await Promise.all(this.loops.map((loop) => this.newChain(agent, loop)));
      }
    } finally {
      agent.destroy();
    }
  }

  async op(agent, loop, steps) {
    if (this.mode === 'flow') {
      await codeFlow(agent, this.target, loop.account, steps, this.counters);
      return;
    }
    const body = await refreshOnce(agent, this.target, loop.rt);
    loop.refreshes += 1;
    if (body.refresh_token && body.refresh_token !== loop.rt) {
      loop.rt = body.refresh_token;
      this.counters.rotated += 1;
    }
  }

  async run(seconds, maxOps) {
    const agent = this.agent();
    const lat = new Float64Array(maxOps);
    const steps = new Map();
    let ok = 0;
    let errors = 0;
    let started = 0;
    let firstError;
    const before = { ...this.counters };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(this.loops.map(async (loop) => {
      while (performance.now() < deadline && started < maxOps && errors < MAX_ERRORS) {
        started += 1;
        const ts = performance.now();
        try {
          if (this.mode === 'refresh' && !loop.rt) {
            this.counters.chain_restarts += 1;
            await this.newChain(agent, loop);
          }
          await this.op(agent, loop, steps);
          lat[ok] = performance.now() - ts;
          ok += 1;
        } catch (e) {
          errors += 1;
          firstError ??= e.message;
          loop.rt = undefined; // a broken chain starts again from a new code flow
        }
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    agent.destroy();
    const sorted = lat.slice(0, ok).sort();
    const total = sorted.reduce((a, b) => a + b, 0);
    return {
      ok,
      errors,
      first_error: firstError ?? null,
      seconds: round(elapsed, 3),
      rate: round(ok / elapsed, 1),
      mean_ms: ok ? round(total / ok) : null,
      p50_ms: round(pct(sorted, 0.5)),
      p90_ms: round(pct(sorted, 0.9)),
      p99_ms: round(pct(sorted, 0.99)),
      max_ms: ok ? round(sorted[ok - 1]) : null,
      client_cpu_s: round((cpu.user + cpu.system) / 1e6, 3),
      steps_mean_ms: Object.fromEntries([...steps].map(([k, v]) => [k, round(v.ms / v.n)])),
      consent_clicks: this.counters.consent_clicks - before.consent_clicks,
      rotated: this.counters.rotated - before.rotated,
      chain_restarts: this.counters.chain_restarts - before.chain_restarts,
      max_chain: this.mode === 'refresh' ? Math.max(...this.loops.map((l) => l.refreshes ?? 0)) : undefined,
    };
  }
}

// ---------- driver protocol ----------

const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
let load;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const msg = JSON.parse(line);
  try {
    if (msg.cmd === 'setup') {
      const t0 = performance.now();
      load = new Load(msg);
      await load.setup();
      reply({ ok: true, setup_ms: round(performance.now() - t0, 1), meta_issuer: load.target.meta.issuer });
    } else if (msg.cmd === 'run') {
      if (!load) throw new Error('run before setup');
      reply(await load.run(Number(msg.seconds), Number(msg.max_ops)));
    } else if (msg.cmd === 'quit') {
      break;
    } else {
      throw new Error(`unknown command ${msg.cmd}`);
    }
  } catch (e) {
    reply({ ok: false, error: e.message });
  }
}
rl.close();
process.exit(0);
