// HTTP client for the four systems: OAuth2 client-credentials tokens per
// system, a retry loop for what is transient (network errors, timeouts,
// 5xx, 401 on a revoked token) and a per-system gate (below) that sends
// nothing to a system before the Retry-After of its last 429. Every other
// answer (2xx and the remaining 4xx) goes back to the caller, who decides.
//
// Work done while a served firm waits for us (inside a webhook handler, or
// before GET /healthz answers) runs in `urgent.run(true, ...)`: there a call
// retries a transient failure only twice and never waits out a 429, it throws
// instead, and the inbox takes the work up again later.
import { AsyncLocalStorage } from 'node:async_hooks';

export const urgent = new AsyncLocalStorage();

export class TransientError extends Error {
  kind = 'transient';
}

/** A system asked us to wait (429) until `until` (wall ms): not a failure. Nothing was written. */
export class Throttled extends TransientError {
  kind = 'throttled';
  constructor(message, until) { super(message); this.until = until; }
}

export class ApiError extends Error {
  constructor(res, what) {
    super(`${what}: ${res.status} ${res.data?.detail ?? res.data?.title ?? ''}`);
    this.res = res;
  }
}

// Test hook only (never set in production): the probability of killing this
// process with SIGKILL right after a committed write, as the harness does.
const KILL_RATE = Number(process.env.NODE_CONNECTOR_TEST_KILL_RATE ?? 0);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// After a 429 whose Retry-After is 0 ("soon": a served firm's limit, per simulated second, tells its waits in whole
// wall seconds, rounded down) we still wait 2 ms, doubling while the system keeps refusing, at most 16 ms. No more:
// a served firm slows its calendar only until 20 ms after our last 429 and then runs at full speed, where 100 ms
// are hours. A limit may refuse us many times in a row while the firm stands still (for a webhook we are handling):
// with a ceiling of 100 ms, one approval of a full core run's load scenario waited four simulated hours.
const THROTTLE_FLOOR_MS = 2;
const THROTTLE_CEILING_MS = 16;

/**
 * Who may send to one system, and when. Until the system first answers 429 anyone may, at once. From then on
 * it is a rate-limited system: one request at a time, and the waiting callers go by priority (lower first, then
 * first come), so what the quota is spent on is chosen, not raced for: charges before write-back reads before
 * feed reads. Nobody is let through before the Retry-After of the last 429 (`notBefore`).
 */
class Gate {
  constructor(sys) {
    this.sys = sys;
    this.limited = false;
    this.busy = 0;
    this.queue = [];      // [{prio, seq, hurried, resolve, reject}], in the order they go
    this.seq = 0;
    this.notBefore = 0;   // wall ms
    this.timer = null;
  }

  get throttled() { return this.notBefore > Date.now(); }

  /** Is anyone sending or waiting to send (once limited)? */
  get contended() { return this.limited && (this.busy > 0 || this.queue.length > 0); }

  acquire(prio, hurried, what) {
    return new Promise((resolve, reject) => {
      const w = { prio, seq: this.seq++, hurried, resolve, reject, what };
      const i = this.queue.findIndex((q) => q.prio > prio);
      this.queue.splice(i < 0 ? this.queue.length : i, 0, w);
      this.#pump();
    });
  }

  release() { this.busy -= 1; this.#pump(); }

  /** A 429: nothing more until `until`; callers that may not wait (the hurried) are told at once. */
  refuse(until) {
    this.limited = true;
    this.notBefore = Math.max(this.notBefore, until);
    this.#pump();
  }

  #pump() {
    const wait = this.notBefore - Date.now();
    if (wait > 0) {
      for (const w of this.queue.filter((q) => q.hurried)) {
        this.queue.splice(this.queue.indexOf(w), 1);
        w.reject(new Throttled(`${w.what}: throttled`, this.notBefore));
      }
      if (this.queue.length && !this.timer) this.timer = setTimeout(() => { this.timer = null; this.#pump(); }, wait);
      return;
    }
    while (this.queue.length && (!this.limited || this.busy === 0)) {
      this.busy += 1;
      this.queue.shift().resolve();
    }
  }
}

export class Api {
  /** @param {{urls: Record<string,string>, clientId: string, clientSecret: string, scale: number, log: Function}} o */
  constructor({ urls, clientId, clientSecret, scale, log }) {
    Object.assign(this, { urls, clientId, clientSecret, scale, log });
    this.tokens = {};      // system -> {token, expires (ms)}
    this.gates = Object.fromEntries(Object.keys(urls).map((sys) => [sys, new Gate(sys)]));
    this.refusals = {};    // system -> 429s in a row (reset by any other answer)
    this.sent = Object.fromEntries(Object.keys(urls).map((sys) => [sys, { requests: 0, refused: 0 }])); // for the log
  }

  /** Is this system asking us to wait (429) right now? */
  throttled(sys) { return this.gates[sys].throttled; }

  /** Was the last answer of some system a 429 (a refusal streak under way)? */
  refusing() { return Object.values(this.refusals).some((n) => n > 0); }

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

  /** Fetch every system's token (and open its connection) now, so the first real work does not wait for it. */
  async warmUp() {
    await Promise.allSettled(Object.keys(this.urls).map((sys) => this.#token(sys)));
  }

  /**
   * One logical request. opts: {query, body, key (Idempotency-Key), ifMatch, prio, polite, patient}.
   * `prio` orders the callers of a rate-limited system (lower first; default 1; work a served firm waits for
   * goes first). `polite`: only if the system is idle (not throttled, nobody else sending or waiting), else
   * Throttled at once: for reads that may as well happen later. `patient`: wait out 429s even inside
   * `urgent` (a long-lived loop that merely started there).
   * Resolves to {status, headers, data} for 2xx and non-transient 4xx;
   * throws Throttled (hurried callers, polite ones) or TransientError when retries are exhausted.
   */
  async call(sys, method, path, { query, body, key, ifMatch, prio = 1, polite = false, patient = false } = {}) {
    const url = new URL(this.urls[sys] + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, v);
    const hurried = !patient && urgent.getStore() === true;
    const gate = this.gates[sys];
    const what = `${method} ${sys}${path}`;
    let lastError = '';
    for (let attempt = 0; attempt < (hurried ? 3 : 8); attempt++) {
      if ((hurried || polite) && gate.throttled) throw new Throttled(`${what}: throttled`, gate.notBefore);
      if (polite && gate.contended) throw new Throttled(`${what}: the system is busy with other work`, Date.now());
      await gate.acquire(hurried ? -1 : prio, hurried, what);
      let res, text;
      try {
        const headers = { authorization: `Bearer ${await this.#token(sys, attempt > 0 && lastError === '401')}` };
        if (body !== undefined) headers['content-type'] = 'application/json';
        if (key) headers['idempotency-key'] = key;
        if (ifMatch) headers['if-match'] = ifMatch;
        res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20000) });
        text = await res.text();
      } catch (err) {
        gate.release();
        // Timeout or connection error: the write may or may not have happened.
        // Retrying is safe: ERP POSTs carry an Idempotency-Key, the rest are
        // look-up-before-create, 409-on-duplicate or idempotent by nature.
        lastError = String(err?.cause?.code ?? err?.name ?? err);
        await sleep(this.#backoff(attempt));
        continue;
      }
      this.sent[sys].requests += 1;
      if (res.status === 429) this.sent[sys].refused += 1;
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch { data = text; }
      const out = { status: res.status, headers: res.headers, data };
      const retryAfter = Number(res.headers.get('retry-after'));
      if (method !== 'GET' && res.ok && Math.random() < KILL_RATE) {
        this.log(`test hook: SIGKILL right after a committed ${method} ${sys}${path}, before its answer is used`);
        process.kill(process.pid, 'SIGKILL');
      }
      if (res.status === 429) {
        // Retry-After is whole wall seconds; 0 (a limit that refills faster than a second, as at a
        // certification's speed) means "soon": a few milliseconds, doubling while the system keeps refusing,
        // and never less than it said. Until then the system gets nothing from any caller (the gate).
        const n = (this.refusals[sys] = (this.refusals[sys] ?? 0) + 1);
        if (n === 8 || n === 64 || n === 512) this.log(`${sys}: ${n} 429s in a row`);
        const told = retryAfter > 0 ? retryAfter * 1000 + 5 : 0; // + 5 ms: timers may fire a hair early
        gate.refuse(Date.now() + Math.max(told, Math.min(THROTTLE_CEILING_MS, THROTTLE_FLOOR_MS * 2 ** (n - 1))));
        gate.release();
        if (hurried || polite) throw new Throttled(`${what}: throttled`, gate.notBefore);
        attempt--; // being throttled is not a failure: wait as told (the gate), then go on
        continue;
      }
      gate.release();
      this.refusals[sys] = 0;
      if (res.status === 401) { lastError = '401'; continue; }
      if (res.status >= 500) {
        lastError = `${res.status}`;
        await sleep(Math.max(retryAfter > 0 ? retryAfter * 1000 : 0, this.#backoff(attempt)));
        continue;
      }
      if (res.status === 409 && data?.type?.endsWith('/idempotency_in_progress')) {
        lastError = '409 in progress';
        await sleep(this.#backoff(attempt));
        continue;
      }
      return out;
    }
    throw new TransientError(`${what}: gave up after retries (${lastError})`);
  }

  // 5 s, 10 s, 20 s ... of simulated time, but at least 5 ms, 10 ms, 20 ms ... and at most 30 s of wall time,
  // jittered. The first retries come at once (a lone fault costs next to nothing); a system that keeps failing
  // (an outage) is asked less and less often, so the calendar runs on meanwhile.
  #backoff(attempt) {
    const ms = Math.max(5 * 2 ** attempt, ((5 * 2 ** attempt) / this.scale) * 1000);
    return Math.min(30000, ms) * (0.75 + Math.random() / 2);
  }

  /** GET every page of a list. */
  async list(sys, path, query = {}, opts = {}) {
    const out = [];
    let cursor;
    do {
      const res = await this.call(sys, 'GET', path, { ...opts, query: { ...query, limit: 500, cursor } });
      if (res.status !== 200) throw new ApiError(res, `GET ${sys}${path}`);
      out.push(...res.data.data);
      cursor = res.data.next_cursor;
    } while (cursor);
    return out;
  }

  async get(sys, path, opts = {}) {
    const res = await this.call(sys, 'GET', path, opts);
    if (res.status !== 200) throw new ApiError(res, `GET ${sys}${path}`);
    return res;
  }
}
