#!/usr/bin/env node
// A time-and-materials-only c2c connector: plain Node.js 20, no dependencies.
//
//   webhook ──verify──▶ durable inbox (todo:KIND:ID) ──▶ done in the handler ──▶ ERP set-up / PSA
//   change feeds (polled) ──────────┘                 └──▶ workers: retries,    │
//                                                          what the feeds found  └──▶ outbox (want:ITEM) ──▶ ERP charges
//                                                                                     (one batch for many units)
//
// Configuration comes from the environment only (see README.md).
import http from 'node:http';
import crypto from 'node:crypto';
import { Store } from './store.js';
import { Api, urgent } from './api.js';
import { Billing } from './billing.js';
import { Inbox } from './inbox.js';
import { Feeds } from './feeds.js';
import { Outbox } from './outbox.js';

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
const POLL_SIM_S = 3600;                 // read every change feed about once a simulated hour
const wall = (simSeconds, min, max) => Math.min(max, Math.max(min, (simSeconds / SCALE) * 1000));

const log = (...a) => console.log(new Date().toISOString(), ...a);
const store = new Store(env('C2C_STATE_DIR'));
const api = new Api({ urls, clientId: env('C2C_CLIENT_ID'), clientSecret: env('C2C_CLIENT_SECRET'), scale: SCALE, log });
// Every charge and reversal goes through the outbox: one ERP request per batch of up to 500, across units of work.
const outbox = new Outbox({ api, store, log, backoff: (tries) => wall(60 * 2 ** Math.min(tries, 9), 5, 6 * 3600 * 1000) });
const billing = new Billing({ api, store, outbox, log });

// ---- what each todo does --------------------------------------------------

const ROUTES = {
  'crm.account.created': 'account', 'crm.account.updated': 'account',
  'clm.contract.signed': 'contract', 'clm.contract.amended': 'contract',
  'psa.timesheet.approved': 'timesheet', 'psa.timesheet.adjusted': 'timesheet',
  'psa.expense.approved': 'expense', 'psa.project.updated': 'project',
  'erp.invoice.posted': 'invoice', 'erp.credit_note.posted': 'invoice',
};
// Events we do nothing with but take as the firm's heartbeat: they come all through its working hours, and
// each is a chance to read the PSA's feed in the handler if an hour went by (see feedFor).
const HEARTBEATS = ['psa.timesheet.submitted', 'psa.expense.submitted'];

async function handle(kind, id) {
  switch (kind) {
    case 'account': return billing.syncAccount(id);
    case 'contract': {
      await billing.setupContract(id);
      const docs = billing.documentsOf(id); // an amendment re-values all work of the contract
      if (docs.length) inbox.add(docs);
      return;
    }
    case 'timesheet': return billing.processTimesheet(id);
    case 'expense': return billing.processExpense(id);
    case 'invoice': return billing.processInvoice(id, () => inbox.idsOf('invoice'));
    case 'project': return billing.forgetProject(id);
  }
}

// Work that failed waits 1 simulated minute, doubling, at most 6 simulated hours (at least 5 ms of wall time).
const inbox = new Inbox({
  store, handle, log, backoff: (tries) => wall(60 * 2 ** Math.min(tries, 9), 5, 6 * 3600 * 1000), refusing: () => api.refusing(),
});
// The ERP's feed (only write-back events come from it) is read only when the ERP has nothing better to do.
const feeds = new Feeds({ api, store, inbox, routes: ROUTES, log, spare: ['erp'] });

// Background workers take what is due later (retries after a backoff, work the feeds found), side by side.
const WORKERS = 4;
// The longest we keep a webhook's sender (or a restart's GET /healthz) waiting for work we do first.
const HURRY_MS = 10000;

// ---- change feeds: the safety net under webhooks ---------------------------
// All feeds are read on a wall-clock timer. The PSA's, where billable work comes from, is also read inside the
// handler once a simulated hour by the calendar the webhooks tell (their events' `time`), and what it brings is
// done there, while the firm waits: a timer's pace in simulated time is only as good as the firm keeps to its
// schedule. Feed reads never wait out a 429 (a handler may be joining one).

let polledAt = -Infinity; // the simulated time (ms) of the event that last had the handler read the PSA's feed

/** Keys of the todos the PSA's feed brought: from a read this event starts (an hour went by) or one under way. */
function feedFor(eventTime) {
  const t = Date.parse(eventTime);
  if (!(t - polledAt >= POLL_SIM_S * 1000)) return feeds.reads.psa ?? [];
  polledAt = t;
  return feeds.poll(['psa']);
}

// The CRM's, CLM's and PSA's feeds every 2 simulated hours; the ERP's (write-back events only) at most every 6, only
// while no charge is waiting to be written, and after a read the ERP refused (busy, or 429) twice as long, up to 48
// hours: its quota is for charges. What a read brings is done at once, hurried, as a handler does it: between
// webhooks (a night, an outage) nothing else holds the calendar, and left to the workers it would queue behind
// what they are doing (an amendment's re-valuation) while the simulated hours run on.
async function poller() {
  let erpTried = -Infinity; // when (wall ms) we last tried the ERP's feed
  for (;;) {
    await new Promise((r) => setTimeout(r, wall(2 * POLL_SIM_S, 15, 300000)));
    const systems = ['crm', 'clm', 'psa'];
    const erpEvery = 6 * POLL_SIM_S * 2 ** Math.min(feeds.refused.erp ?? 0, 3);
    if (!outbox.hasWork() && Date.now() - erpTried >= wall(erpEvery, 45, 8 * 900000)) {
      systems.push('erp');
      erpTried = Date.now();
    }
    await urgent.run(true, async () => {
      const found = await feeds.poll(systems);
      await inbox.runAll(found, { until: Date.now() + HURRY_MS });
    });
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

async function receive(req, body) {
  const problem = verify(req.headers, body);
  if (problem) return [401, { error: problem }];
  let event;
  try { event = JSON.parse(body.toString('utf8')); } catch { return [400, { error: 'body is not JSON' }]; }
  const eventId = req.headers['webhook-id'];
  const kind = ROUTES[event.type];
  const entity = event.data?.id ?? event.subject;
  const key = kind && entity ? `todo:${kind}:${entity}` : null;
  const duplicate = store.has(`seen:${eventId}`);
  // Durable before the 2xx: the todo and the event id, in one synced append.
  if (key && !duplicate) inbox.add([[kind, entity]], { [`seen:${eventId}`]: 1 });
  // Then the work itself, while the sender waits (a served firm's calendar stands still meanwhile): this
  // entity's todo (a duplicate's too, if a kill left it undone), then what the PSA's feed brings. What fails,
  // is throttled or comes of it (an amendment's re-valuation) is left to the workers, and so are write-backs:
  // what the sender waits for is time the firm makes up later, at a run, so we keep it to what must be prompt.
  const until = Date.now() + HURRY_MS;
  await urgent.run(true, async () => {
    if (key && kind !== 'invoice') await inbox.run(key, until);
    await inbox.runAll(await feedFor(event.time), { until });
  });
  await outbox.settle(until); // the charges this work stated, written (unless the ERP is refusing us)
  if (!key) return [202, { heartbeat: eventId }];
  return duplicate ? [200, { duplicate: true }] : [202, { accepted: eventId }];
}

const server = http.createServer((req, res) => {
  const reply = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
  const path = new URL(req.url, 'http://x').pathname;
  if (req.method === 'GET' && path === '/healthz') {
    return reply(200, { ok: true, todos: inbox.size, charges: outbox.pending.size, subscriptions: [...Object.keys(ROUTES), ...HEARTBEATS] }); // only these are sent
  }
  const m = path.match(/^\/webhooks\/(crm|clm|psa|erp)$/);
  if (!m) return reply(404, { error: 'not found' });
  if (req.method !== 'POST') { res.setHeader('allow', 'POST'); return reply(405, { error: 'POST only' }); }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => { size += c.length; if (size <= 1 << 20) chunks.push(c); });
  req.on('end', () => {
    if (size > 1 << 20) return reply(413, { error: 'too large' });
    receive(req, Buffer.concat(chunks)).then(
      ([status, answer]) => reply(status, answer),
      (err) => { console.error(err); reply(500, { error: 'internal' }); },
    );
  });
});

// Ready (GET /healthz) only once the clients are warm and the fresh work a killed instance left is done: a
// served firm waits for that, not for our first requests.
await api.warmUp();
const restored = inbox.size;
outbox.run(); // forever: the charges, from here on (and a batch a killed instance left, first)
await urgent.run(true, () => inbox.runAll(inbox.fresh(), { until: Date.now() + 2 * HURRY_MS }));
await outbox.settle(Date.now() + 2 * HURRY_MS);
server.listen(PORT, HOST, () => {
  log(`c2c node connector listening on ${HOST}:${PORT}; ${restored} todo(s) restored, ${inbox.size} left; time scale ${SCALE}`);
  for (let i = 0; i < WORKERS; i++) inbox.work();
  poller();
});

// Every 10 s of wall time, if anything changed: what the ERP quota went on.
let reported = '';
setInterval(() => {
  const { requests, refused } = api.sent.erp;
  const line = `erp: ${requests} requests (${refused} answered 429), ${outbox.batches} charge batches carrying `
    + `${outbox.written} charges (at most ${outbox.largest}); ${outbox.pending.size} item(s) waiting, ${inbox.size} todo(s)`;
  if (line !== reported) log((reported = line));
}, 10000).unref();
