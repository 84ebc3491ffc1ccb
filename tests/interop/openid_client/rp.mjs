// An independent, certified relying party (panva/openid-client v6) signs a resident in at
// libgate: discovery, authorization code + PKCE (S256) with state and nonce, the code
// exchange (ID token signature, iss, aud, nonce and RFC 9207 iss all checked by the
// library), userinfo, refresh with rotation, RFC 7009 revocation, and the refusal of the
// revoked refresh token afterwards.
//
// The resident's browser is played with plain fetch: authorize -> sign-in form -> consent
// form -> redirect back to the client with code, state and iss.
//
//   node rp.mjs ISSUER [--client-id ID] [--client-secret SECRET] [--redirect-uri URI]
//                      [--card CARD] [--pin PIN]
//
// Each option may instead come from the environment: LIBGATE_RP_CLIENT_ID,
// LIBGATE_RP_CLIENT_SECRET, LIBGATE_RP_REDIRECT_URI, LIBGATE_RP_CARD, LIBGATE_RP_PIN
// (prefer the environment for secrets: argv is visible to other users of the machine).
//
// Prints one JSON summary on stdout and exits 0 only when every step and check passed.
// The PIN is never printed, and neither are tokens or the card number.

import * as client from "openid-client";

const HTTP_TIMEOUT_MS = 10_000;

class FlowError extends Error {
  name = "FlowError";
}

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node rp.mjs ISSUER [--client-id ID] [--client-secret SECRET] ` +
      "[--redirect-uri URI] [--card CARD] [--pin PIN]\n",
  );
  process.exit(2);
}

function parseArguments(argv) {
  const options = {
    clientId: process.env.LIBGATE_RP_CLIENT_ID,
    clientSecret: process.env.LIBGATE_RP_CLIENT_SECRET,
    redirectUri: process.env.LIBGATE_RP_REDIRECT_URI,
    card: process.env.LIBGATE_RP_CARD,
    pin: process.env.LIBGATE_RP_PIN,
  };
  const names = {
    "--client-id": "clientId",
    "--client-secret": "clientSecret",
    "--redirect-uri": "redirectUri",
    "--card": "card",
    "--pin": "pin",
  };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (flag in names) {
      const value = inline ?? argv[++i];
      if (value === undefined) usage(`${flag} needs a value`);
      options[names[flag]] = value;
    } else if (argv[i].startsWith("--")) {
      usage(`unknown option ${flag}`);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 1) usage("give exactly one issuer URL");
  options.issuer = positional[0];
  for (const [name, key] of Object.entries(names)) {
    if (!options[key]) usage(`missing ${name} (or its LIBGATE_RP_* environment variable)`);
  }
  return options;
}

// ---- the resident's browser ---------------------------------------------------------------

class Browser {
  constructor(origin) {
    this.origin = origin;
    this.cookies = new Map();
  }

  async request(url, { method = "GET", form } = {}) {
    const target = new URL(url, this.origin);
    if (target.origin !== this.origin) {
      throw new FlowError(`the browser was sent off-site to ${target.origin}`);
    }
    const headers = { accept: "text/html" };
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    let body;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(target, {
      method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    this.remember(response);
    return { url: target, response, text: await response.text() };
  }

  remember(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, val = ""] = attribute.split("=");
        const lower = key.trim().toLowerCase();
        return (
          (lower === "max-age" && Number(val) <= 0) ||
          (lower === "expires" && Date.parse(val) <= Date.now())
        );
      });
      if (expired || value === "" || value === '""') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

function redirectTarget(step, expectedStatus = 303) {
  const { url, response } = step;
  const location = response.headers.get("location");
  if (response.status !== expectedStatus || !location) {
    throw new FlowError(
      `${url.pathname}: expected a ${expectedStatus} redirect, got ${response.status}` +
        `${location ? "" : " without a Location header"}`,
    );
  }
  return new URL(location, url).href;
}

function attribute(tag, name) {
  const found = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(tag);
  if (!found) return undefined;
  return (found[1] ?? found[2] ?? found[3])
    .replaceAll("&quot;", '"')
    .replaceAll("&#34;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

/** The page's form: where it posts, and its hidden CSRF value. */
function formOf(step) {
  const { url, response, text } = step;
  if (response.status !== 200) {
    throw new FlowError(`${url.pathname}: expected a page, got ${response.status}`);
  }
  const form = /<form\b[^>]*>/i.exec(text);
  const csrfInput = [...text.matchAll(/<input\b[^>]*>/gi)]
    .map((match) => match[0])
    .find((tag) => attribute(tag, "type") === "hidden" && attribute(tag, "name") === "csrf");
  const csrf = csrfInput && attribute(csrfInput, "value");
  if (!form || !csrf) throw new FlowError(`${url.pathname}: no form with a csrf input`);
  const action = new URL(attribute(form[0], "action") ?? url.href, url).href;
  return { action, csrf };
}

/** authorize -> sign in with card + PIN -> consent -> back to the client. */
async function residentSignsIn(authorizationUrl, issuer, redirectUri, card, pin) {
  const browser = new Browser(new URL(issuer).origin);
  const visited = [];
  let location = redirectTarget(await browser.request(authorizationUrl));
  for (let hops = 0; hops < 6 && !location.startsWith(redirectUri); hops++) {
    const path = new URL(location).pathname;
    visited.push(path.split("/")[1]);
    const page = formOf(await browser.request(location));
    let form;
    if (path.startsWith("/signin/")) form = { csrf: page.csrf, card, pin };
    else if (path.startsWith("/consent/")) form = { csrf: page.csrf, decision: "allow" };
    else throw new FlowError(`unexpected page ${path}`);
    const step = await browser.request(page.action, { method: "POST", form });
    if (step.response.status !== 303) {
      const problem = /<div class="error-summary"[\s\S]*?<p>([\s\S]*?)<\/p>/.exec(step.text);
      throw new FlowError(
        `${path.split("/")[1]} was not accepted (${step.response.status})` +
          (problem ? `: ${problem[1].trim()}` : ""),
      );
    }
    location = redirectTarget(step);
  }
  if (!location.startsWith(redirectUri)) {
    throw new FlowError(`never redirected back to the client (last at ${new URL(location).pathname})`);
  }
  return { callback: new URL(location), pages: visited, cookies: [...browser.cookies.keys()].sort() };
}

// ---- the relying party ----------------------------------------------------------------------

function describe(error) {
  const described = { name: error?.name ?? typeof error, message: String(error?.message ?? error) };
  for (const key of ["code", "error", "error_description", "status"]) {
    if (error?.[key] !== undefined) described[key] = error[key];
  }
  const cause = error?.cause;
  if (Array.isArray(cause)) {
    // WWWAuthenticateChallengeError: the parsed WWW-Authenticate challenges.
    described.challenges = cause.map((c) => ({ scheme: c.scheme, ...c.parameters }));
  } else if (cause && typeof cause === "object" && !(cause instanceof Error)) {
    // openid-client attaches the offending response body or claims; keep only non-secret bits.
    const { error: err, error_description: desc } = cause;
    if (err) described.cause = { error: err, error_description: desc };
  }
  return described;
}

async function main(options) {
  const issuerUrl = new URL(options.issuer);
  const insecure = issuerUrl.protocol === "http:";
  if (insecure && !["127.0.0.1", "localhost", "[::1]"].includes(issuerUrl.hostname)) {
    usage("plain http is only allowed for a local issuer (127.0.0.1 / localhost)");
  }
  const summary = { issuer: options.issuer, client_id: options.clientId, steps: [] };
  let step = "start";
  const mark = (name) => {
    step = name;
    summary.steps.push(name);
  };

  try {
    mark("discovery");
    const config = await client.discovery(
      issuerUrl,
      options.clientId,
      { redirect_uris: [options.redirectUri], response_types: ["code"] },
      client.ClientSecretBasic(options.clientSecret),
      insecure ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    const metadata = config.serverMetadata();
    summary.discovered = {
      issuer: metadata.issuer,
      id_token_signing_alg_values_supported: metadata.id_token_signing_alg_values_supported,
      code_challenge_methods_supported: metadata.code_challenge_methods_supported,
      authorization_response_iss_parameter_supported:
        metadata.authorization_response_iss_parameter_supported ?? false,
    };

    mark("authorization_url");
    const codeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: options.redirectUri,
      scope: "openid profile email",
      code_challenge: codeChallenge,
      code_challenge_method: "S256",
      state,
      nonce,
    });

    mark("resident_signs_in");
    const resident = await residentSignsIn(
      authorizationUrl.href,
      options.issuer,
      options.redirectUri,
      options.card,
      options.pin,
    );
    const returned = resident.callback.searchParams;
    summary.authorization_response = {
      pages: resident.pages,
      browser_cookies: resident.cookies,
      parameters: [...new Set(returned.keys())].sort(),
      iss: returned.get("iss"),
      state_matches: returned.get("state") === state,
    };

    mark("authorization_code_grant");
    const tokens = await client.authorizationCodeGrant(config, resident.callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    summary.token_response = {
      token_type: tokens.token_type,
      expires_in: tokens.expiresIn(),
      scope: tokens.scope,
      has_refresh_token: typeof tokens.refresh_token === "string",
    };
    summary.id_token_claims = claims;

    mark("userinfo");
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    summary.userinfo = userinfo;

    mark("refresh_token_grant");
    if (!tokens.refresh_token) throw new FlowError("the code exchange gave no refresh token");
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    const refreshedClaims = refreshed.claims();
    summary.refresh = {
      returned_refresh_token: typeof refreshed.refresh_token === "string",
      rotated:
        typeof refreshed.refresh_token === "string" &&
        refreshed.refresh_token !== tokens.refresh_token,
      new_access_token: refreshed.access_token !== tokens.access_token,
      id_token_sub: refreshedClaims?.sub,
      id_token_sub_unchanged: refreshedClaims ? refreshedClaims.sub === claims.sub : null,
    };
    const current = refreshed.refresh_token ?? tokens.refresh_token;

    mark("token_revocation");
    await client.tokenRevocation(config, current, { token_type_hint: "refresh_token" });
    summary.revocation = { token_type_hint: "refresh_token", revoked: true };

    mark("refresh_after_revocation");
    try {
      await client.refreshTokenGrant(config, current);
      summary.revocation.refresh_after_revocation = { refused: false };
    } catch (error) {
      if (!(error instanceof client.ResponseBodyError)) throw error;
      summary.revocation.refresh_after_revocation = { refused: true, ...describe(error) };
    }

    mark("userinfo_after_revocation");
    try {
      await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
      summary.revocation.access_token_after_revocation = { refused: false };
    } catch (error) {
      if (!(error instanceof client.WWWAuthenticateChallengeError)) throw error;
      summary.revocation.access_token_after_revocation = {
        refused: true,
        status: error.status,
        challenges: error.cause?.map((c) => ({ scheme: c.scheme, error: c.parameters?.error })),
      };
    }
  } catch (error) {
    summary.ok = false;
    summary.failed_step = step;
    summary.error = describe(error);
    return summary;
  }

  const refusal = summary.revocation.refresh_after_revocation;
  summary.checks = {
    authorization_response_iss_is_issuer:
      summary.authorization_response.iss === summary.discovered.issuer,
    userinfo_sub_matches_id_token: summary.userinfo.sub === summary.id_token_claims.sub,
    refresh_rotated: summary.refresh.rotated,
    revoked_refresh_token_refused: refusal.refused && refusal.error === "invalid_grant",
    access_token_dead_after_revocation: summary.revocation.access_token_after_revocation.refused,
  };
  summary.ok = Object.values(summary.checks).every(Boolean);
  return summary;
}

const options = parseArguments(process.argv.slice(2));
const summary = await main(options);
const text = JSON.stringify(summary, null, 2);
if (text.includes(options.pin)) {
  // Belt and braces: nothing above prints the PIN, and this keeps it that way.
  process.stderr.write("refusing to print a summary that contains the PIN\n");
  process.exit(3);
}
process.stdout.write(`${text}\n`);
process.exit(summary.ok ? 0 : 1);
