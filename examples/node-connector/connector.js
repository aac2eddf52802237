#!/usr/bin/env node
// A time-and-materials-only c2c connector: plain Node.js 20, no dependencies.
//
//   webhook ──verify──▶ durable inbox (todo:KIND:ID) ──▶ one worker ──▶ ERP / PSA
//   change feeds (polled) ──────────┘
//
// Configuration comes from the environment only (see README.md).
import http from 'node:http';
import crypto from 'node:crypto';
import { Store } from './store.js';
import { Api, TransientError } from './api.js';
import { Billing, SetAside } from './billing.js';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) { console.error(`missing environment variable ${name}`); process.exit(2); }
  return v;
};
const SYSTEMS = ['crm', 'clm', 'psa', 'erp'];
const urls = Object.fromEntries(SYSTEMS.map((s) => [s, env(`C2C_${s.toUpperCase()}_URL`).replace(/\/+$/, '')]));
const SCALE = Number(process.env.C2C_TIME_SCALE) > 0 ? Number(process.env.C2C_TIME_SCALE) : 1;
const [HOST, PORT] = (() => {
  const l = env('C2C_LISTEN');
  const i = l.lastIndexOf(':');
  return [l.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', Number(l.slice(i + 1))];
})();
const SECRET = Buffer.from(env('C2C_WEBHOOK_SECRET').replace(/^whsec_/, ''), 'base64');
const TOLERANCE_S = 300;                 // Standard Webhooks timestamp tolerance (wall clock)
const POLL_SIM_S = 3600;                 // poll every change feed once a simulated hour (0.1 s..5 min of wall time)
const wall = (simSeconds, min, max) => Math.min(max, Math.max(min, (simSeconds / SCALE) * 1000));

const log = (...a) => console.log(new Date().toISOString(), ...a);
const store = new Store(env('C2C_STATE_DIR'));
const api = new Api({ urls, clientId: env('C2C_CLIENT_ID'), clientSecret: env('C2C_CLIENT_SECRET'), scale: SCALE, log });
const billing = new Billing({ api, store, log });

// ---- the durable inbox ---------------------------------------------------
// One todo per entity (not per event): the handler reads the entity's current
// state, so ten events about one timesheet are one unit of work. `gen` is
// bumped by every new event, so an event that arrives while its entity is
// being processed is not lost when that run finishes.

const ROUTES = {
  'crm.account.created': 'account', 'crm.account.updated': 'account',
  'clm.contract.signed': 'contract', 'clm.contract.amended': 'contract',
  'psa.timesheet.approved': 'timesheet', 'psa.timesheet.adjusted': 'timesheet',
  'psa.expense.approved': 'expense', 'psa.project.updated': 'project',
  'erp.invoice.posted': 'invoice', 'erp.credit_note.posted': 'invoice',
};
const FIXES = new Set(['account', 'contract', 'project']); // events that may fix set-aside work
// Restart: everything is due now, work set aside just after the rest.
const todos = new Map([...store.scan('todo:')].map(([k, v]) => [k, { ...v, due: v.tries ? Date.now() : 0 }]));
const waiters = new Set();
const wake = () => { for (const r of waiters) r(); waiters.clear(); };

function enqueue(items, extra = {}) {
  const changes = { ...extra };
  for (const [kind, id] of items) {
    const key = `todo:${kind}:${id}`;
    const t = { gen: (todos.get(key)?.gen ?? 0) + 1, tries: 0, due: 0 };
    todos.set(key, t);
    changes[key] = t;
  }
  store.put(changes);
  // Work set aside may be fixed by this event: retry it now, but after the fresh work (due 0), which must
  // never wait behind a backlog of bad data.
  if (items.some(([kind]) => FIXES.has(kind))) {
    const now = Date.now();
    for (const t of todos.values()) if (t.tries && t.due > now) t.due = now;
  }
  wake();
}

async function handle(kind, id) {
  switch (kind) {
    case 'account': return billing.syncAccount(id);
    case 'contract': {
      await billing.setupContract(id);
      const docs = billing.documentsOf(id); // an amendment re-values all work of the contract
      if (docs.length) enqueue(docs);
      return;
    }
    case 'timesheet': return billing.processTimesheet(id);
    case 'expense': return billing.processExpense(id);
    case 'invoice': return billing.processInvoice(id);
    case 'project': return billing.forgetProject(id);
  }
}

// A few workers take todos side by side (never two on one entity), so the systems always have work of ours
// in hand while one of them waits on the disk or the network. Write-backs go one at a time: of two documents
// billing the same item, the later one's number must be the one that stays.
const WORKERS = 4;
const running = new Set();

function nextTodo() {
  let next;
  const invoicing = [...running].some((k) => k.startsWith('todo:invoice:'));
  for (const [k, t] of todos) {
    if (running.has(k) || (invoicing && k.startsWith('todo:invoice:'))) continue;
    if (!next || t.due < next[1].due) next = [k, t];
  }
  return next;
}

async function worker() {
  for (;;) {
    const next = nextTodo();
    const now = Date.now();
    if (!next || next[1].due > now) {
      await new Promise((r) => { waiters.add(r); setTimeout(r, next ? next[1].due - now : 1000); });
      continue;
    }
    const [key, t] = next;
    const [, kind, id] = key.split(':');
    running.add(key);
    try {
      await handle(kind, id);
      if (todos.get(key)?.gen === t.gen) { todos.delete(key); store.put({ [key]: null }); }
    } catch (err) {
      if (todos.get(key)?.gen !== t.gen) continue; // a newer event came in: run it again now
      t.tries += 1;
      // 1 simulated minute, doubling, at most 6 simulated hours between attempts.
      t.due = Date.now() + wall(60 * 2 ** Math.min(t.tries, 9), 20, 6 * 3600 * 1000);
      store.put({ [key]: { gen: t.gen, tries: t.tries, due: t.due } });
      const what = err instanceof SetAside ? 'set aside' : err instanceof TransientError ? 'transient' : 'error';
      log(`${what}: ${key} (try ${t.tries}): ${err.message}`);
      if (!(err instanceof SetAside || err instanceof TransientError)) console.error(err.stack);
    } finally {
      running.delete(key);
      wake(); // an invoice may have been waiting for this one
    }
  }
}

// ---- change feeds: the safety net under webhooks ---------------------------

const FEED_TYPES = Object.fromEntries(SYSTEMS.map((s) => [s, Object.keys(ROUTES).filter((t) => t.startsWith(`${s}.`))]));

async function pollFeed(sys) {
  let cursor = store.get(`cursor:${sys}`) ?? '';
  for (;;) {
    const res = await api.call(sys, 'GET', '/events', { query: { after: cursor, limit: 1000, types: FEED_TYPES[sys].join(',') } });
    if (res.status === 410) {
      log(`${sys} feed expired our cursor ${cursor}: resynchronising from current state`);
      await resync(sys, res.data.head_cursor);
      cursor = res.data.head_cursor;
      continue;
    }
    if (res.status !== 200) throw new Error(`${sys} feed: ${res.status} ${res.data?.detail}`);
    // A feed event's id is its webhook's id: skip what a webhook already brought in.
    const missed = res.data.data.filter((e) => ROUTES[e.type] && !store.has(`seen:${e.id}`));
    if (!missed.length && res.data.next_cursor === cursor) return;
    cursor = res.data.next_cursor;
    const seen = Object.fromEntries(missed.map((e) => [`seen:${e.id}`, 1]));
    enqueue(missed.map((e) => [ROUTES[e.type], e.entity_id]), { ...seen, [`cursor:${sys}`]: cursor });
    if (!res.data.data.length) return;
  }
}

async function resync(sys, headCursor) {
  const ids = async (path, query) => (await api.list(sys, path, query)).map((e) => e.id);
  const items = [];
  if (sys === 'crm') for (const id of await ids('/accounts')) items.push(['account', id]);
  if (sys === 'clm') for (const id of await ids('/contracts')) items.push(['contract', id]);
  if (sys === 'psa') {
    for (const id of await ids('/timesheets', { status: 'approved' })) items.push(['timesheet', id]);
    for (const [k] of store.scan('ts:')) items.push(['timesheet', k.slice(3)]); // re-opened since
    for (const id of await ids('/expenses', { status: 'approved' })) items.push(['expense', id]);
  }
  if (sys === 'erp') for (const id of await ids('/invoices', { status: 'posted' })) items.push(['invoice', id]);
  enqueue(items, { [`cursor:${sys}`]: headCursor });
}

async function poller() {
  for (;;) {
    for (const sys of SYSTEMS) {
      try { await pollFeed(sys); } catch (err) { log(`poll ${sys}: ${err.message}`); }
    }
    // Each poll holds a served firm's calendar while it runs, so not much more often than this floor.
    await new Promise((r) => setTimeout(r, wall(POLL_SIM_S, 100, 300000)));
  }
}

// ---- webhooks --------------------------------------------------------------

function verify(headers, body) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) return 'missing or malformed webhook headers';
  if (Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) return 'timestamp outside tolerance';
  const expected = crypto.createHmac('sha256', SECRET).update(`${id}.${ts}.`).update(body).digest();
  for (const sig of sigs.split(' ')) {
    const [version, value] = sig.split(',', 2);
    const got = Buffer.from(value ?? '', 'base64');
    if (version === 'v1' && got.length === expected.length && crypto.timingSafeEqual(got, expected)) return null;
  }
  return 'bad signature';
}

function receive(system, req, body, reply) {
  const problem = verify(req.headers, body);
  if (problem) return reply(401, { error: problem });
  let event;
  try { event = JSON.parse(body.toString('utf8')); } catch { return reply(400, { error: 'body is not JSON' }); }
  const eventId = req.headers['webhook-id'];
  if (store.has(`seen:${eventId}`)) return reply(200, { duplicate: true });
  const kind = ROUTES[event.type];
  const entity = event.data?.id ?? event.subject;
  // Durable before the 2xx: the todo (if any) and the event id, in one fsynced append.
  if (kind && entity) enqueue([[kind, entity]], { [`seen:${eventId}`]: 1 });
  else store.put({ [`seen:${eventId}`]: 1 });
  reply(202, { accepted: eventId });
}

const server = http.createServer((req, res) => {
  const reply = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
  const path = new URL(req.url, 'http://x').pathname;
  if (req.method === 'GET' && path === '/healthz') return reply(200, { ok: true, todos: todos.size });
  const m = path.match(/^\/webhooks\/(crm|clm|psa|erp)$/);
  if (!m) return reply(404, { error: 'not found' });
  if (req.method !== 'POST') { res.setHeader('allow', 'POST'); return reply(405, { error: 'POST only' }); }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => { size += c.length; if (size <= 1 << 20) chunks.push(c); });
  req.on('end', () => {
    if (size > 1 << 20) return reply(413, { error: 'too large' });
    try { receive(m[1], req, Buffer.concat(chunks), reply); } catch (err) { console.error(err); reply(500, { error: 'internal' }); }
  });
});

// Ready (GET /healthz) only once the clients are warm: a served firm waits for that, not for our first requests.
await api.warmUp();
server.listen(PORT, HOST, () => {
  log(`c2c node connector listening on ${HOST}:${PORT}; ${todos.size} todo(s) restored; time scale ${SCALE}`);
  for (let i = 0; i < WORKERS; i++) worker();
  poller();
});
