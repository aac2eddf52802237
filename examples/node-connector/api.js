// HTTP client for the four systems: OAuth2 client-credentials tokens per
// system, a retry loop for what is transient (network errors, timeouts,
// 5xx, 401 on a revoked token) and a per-system gate that sends nothing to
// a system before the Retry-After of its last 429. Every other answer
// (2xx and the remaining 4xx) goes back to the caller, who decides.

export class TransientError extends Error {}

export class ApiError extends Error {
  constructor(res, what) {
    super(`${what}: ${res.status} ${res.data?.detail ?? res.data?.title ?? ''}`);
    this.res = res;
  }
}

// Test hook only (never set in production): the probability of killing this
// process with SIGKILL right after a committed write, as the harness does.
const KILL_RATE = Number(process.env.NODE_CONNECTOR_TEST_KILL_RATE ?? 0);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Api {
  /** @param {{urls: Record<string,string>, clientId: string, clientSecret: string, scale: number, log: Function}} o */
  constructor({ urls, clientId, clientSecret, scale, log }) {
    Object.assign(this, { urls, clientId, clientSecret, scale, log });
    this.tokens = {};      // system -> {token, expires (ms)}
    this.notBefore = {};   // system -> wall ms before which we send it nothing (429)
  }

  async #token(sys, fresh = false) {
    const t = this.tokens[sys];
    if (!fresh && t && t.expires > Date.now()) return t.token;
    const res = await fetch(`${this.urls[sys]}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret }),
      signal: AbortSignal.timeout(15000),
    });
    if (!res.ok) throw new TransientError(`token ${sys}: ${res.status} ${await res.text()}`);
    const body = await res.json();
    this.tokens[sys] = { token: body.access_token, expires: Date.now() + (body.expires_in - 60) * 1000 };
    return body.access_token;
  }

  /**
   * One logical request. opts: {query, body, key (Idempotency-Key), ifMatch}.
   * Resolves to {status, headers, data} for 2xx and non-transient 4xx;
   * throws TransientError when retries are exhausted.
   */
  async call(sys, method, path, { query, body, key, ifMatch } = {}) {
    const url = new URL(this.urls[sys] + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, v);
    let lastError = '';
    for (let attempt = 0; attempt < 8; attempt++) {
      const wait = (this.notBefore[sys] ?? 0) - Date.now();
      if (wait > 0) await sleep(wait);
      let res, text;
      try {
        const headers = { authorization: `Bearer ${await this.#token(sys, attempt > 0 && lastError === '401')}` };
        if (body !== undefined) headers['content-type'] = 'application/json';
        if (key) headers['idempotency-key'] = key;
        if (ifMatch) headers['if-match'] = ifMatch;
        res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20000) });
        text = await res.text();
      } catch (err) {
        // Timeout or connection error: the write may or may not have happened.
        // Retrying is safe: ERP POSTs carry an Idempotency-Key, the rest are
        // look-up-before-create, 409-on-duplicate or idempotent by nature.
        lastError = String(err?.cause?.code ?? err?.name ?? err);
        await sleep(this.#backoff(attempt));
        continue;
      }
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch { data = text; }
      const out = { status: res.status, headers: res.headers, data };
      const retryAfter = Number(res.headers.get('retry-after'));
      if (method !== 'GET' && res.ok && Math.random() < KILL_RATE) {
        this.log(`test hook: SIGKILL right after a committed ${method} ${sys}${path}, before its answer is used`);
        process.kill(process.pid, 'SIGKILL');
      }
      if (res.status === 401) { lastError = '401'; continue; }
      if (res.status === 429) {
        this.notBefore[sys] = Date.now() + (retryAfter > 0 ? retryAfter : 1) * 1000;
        attempt--; // being throttled is not a failure: wait as told, then go on
        continue;
      }
      if (res.status >= 500) {
        lastError = `${res.status}`;
        await sleep(retryAfter > 0 ? retryAfter * 1000 : this.#backoff(attempt));
        continue;
      }
      if (res.status === 409 && data?.type?.endsWith('/idempotency_in_progress')) {
        lastError = '409 in progress';
        await sleep(this.#backoff(attempt));
        continue;
      }
      return out;
    }
    throw new TransientError(`${method} ${sys}${path}: gave up after retries (${lastError})`);
  }

  // 5 s, 10 s, 20 s ... of simulated time, but never under 50 ms nor over 30 s of wall time.
  #backoff(attempt) {
    const simSeconds = 5 * 2 ** attempt;
    return Math.min(30000, Math.max(50, (simSeconds / this.scale) * 1000)) * (0.75 + Math.random() / 2);
  }

  /** GET every page of a list. */
  async list(sys, path, query = {}) {
    const out = [];
    let cursor;
    do {
      const res = await this.call(sys, 'GET', path, { query: { ...query, limit: 500, cursor } });
      if (res.status !== 200) throw new ApiError(res, `GET ${sys}${path}`);
      out.push(...res.data.data);
      cursor = res.data.next_cursor;
    } while (cursor);
    return out;
  }

  async get(sys, path) {
    const res = await this.call(sys, 'GET', path);
    if (res.status !== 200) throw new ApiError(res, `GET ${sys}${path}`);
    return res;
  }
}
