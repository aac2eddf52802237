// The durable inbox: one todo per entity (todo:KIND:ID), not per event.
//
// A handler reads the entity's current state, so ten events about one
// timesheet are one unit of work. A todo is deleted only once its work is
// done, so a kill at any point leaves it to be done again after the restart.
// `gen` is bumped by every new event, so an event that arrives while its
// entity is being worked on is not lost when that run finishes.
//
// Work runs in lanes: never two runs on one entity, and never two invoice
// write-backs at once (of two documents billing the same item, the later
// one's number must be the one that stays). Who runs it does not matter: the
// webhook handler runs its own todo at once, background workers take what is
// due (retries after a backoff, work the change feeds found).

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const laneOf = (key) => (key.startsWith('todo:invoice:') ? 'invoice' : key);
const FIXES = ['todo:account:', 'todo:contract:', 'todo:project:']; // events that may fix set-aside work

export class Inbox {
  /**
   * @param {{store: import('./store.js').Store, handle: (kind: string, id: string) => Promise<void>,
   *          backoff: (tries: number) => number, log: Function, refusing?: () => boolean}} o
   */
  constructor({ store, handle, backoff, log, refusing = () => false }) {
    Object.assign(this, { store, handle, backoff, log, refusing });
    // Restart: everything is due now, work set aside just after the rest.
    this.todos = new Map([...store.scan('todo:')].map(([k, v]) => [k, { ...v, due: v.tries ? Date.now() : 0 }]));
    this.running = new Map(); // lane -> the promise of its run
    this.waiters = new Set();
  }

  get size() { return this.todos.size; }

  has(key) { return this.todos.has(key); }

  /** The ids of the todos of one kind. */
  idsOf(kind) {
    const prefix = `todo:${kind}:`;
    return new Set([...this.todos.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
  }

  /** Durably add one todo per [kind, id] (with `extra` keys in the same append); returns their keys. */
  add(items, extra = {}) {
    const changes = { ...extra };
    for (const [kind, id] of items) {
      const key = `todo:${kind}:${id}`;
      const t = { gen: (this.todos.get(key)?.gen ?? 0) + 1, tries: 0, due: 0 };
      this.todos.set(key, t);
      changes[key] = t;
    }
    this.store.put(changes);
    // Work set aside may be fixed by this event: retry it now, but after the fresh work (due 0), which must
    // never wait behind a backlog of bad data.
    if (Object.keys(changes).some((k) => FIXES.some((p) => k.startsWith(p)))) {
      const now = Date.now();
      for (const t of this.todos.values()) if (t.tries && t.due > now) t.due = now;
    }
    this.#wake();
    return Object.keys(changes).filter((k) => k.startsWith('todo:'));
  }

  /** Keys of the todos never tried (or only throttled): on a restart, what a killed instance left undone. */
  fresh() { return [...this.todos].filter(([, t]) => !t.tries).map(([k]) => k); }

  /** The todo due first whose lane is free (due now or not), or null. */
  #next() {
    let best = null;
    for (const [k, t] of this.todos) {
      if (!this.running.has(laneOf(k)) && (!best || t.due < best[1].due)) best = [k, t];
    }
    return best?.[0] ?? null;
  }

  /**
   * Run one todo now, again while new events for it keep coming, until it is done or set aside, or `until`
   * (wall ms) has passed. A run of its lane already under way is waited for first. A hurried caller (a
   * webhook handler: the firm waits) stops waiting as soon as a system is refusing us (`refusing()`: its last
   * answer was a 429), and leaves the todo to that run, which takes it up again (its generation moved): the
   * run may be waiting out the 429, and a served firm that stands still for our handler refills no rate-limit
   * tokens (waiting there held the firm for seconds while the ERP answered nothing but 429s).
   */
  async run(key, until = Infinity) {
    const lane = laneOf(key);
    while (this.running.has(lane)) {
      if (until === Infinity) { await this.running.get(lane); continue; }
      if (Date.now() >= until || this.refusing()) return;
      await Promise.race([this.running.get(lane), sleep(Math.min(5, until - Date.now()))]); // look again in 5 ms
    }
    for (let t; (t = this.todos.get(key)) && t.due <= Date.now();) {
      const run = this.#attempt(key, t);
      this.running.set(lane, run);
      try { await run; } finally { this.running.delete(lane); this.#wake(); }
      if (this.todos.get(key) === t || Date.now() >= until) return; // set aside (or throttled), or out of time
    }
  }

  /** Run these todos (see run), `width` at a time, until `until` (wall ms). */
  async runAll(keys, { until = Infinity, width = 4 } = {}) {
    const queue = [...new Set(keys)];
    const lane = async () => { while (queue.length && Date.now() < until) await this.run(queue.shift(), until); };
    await Promise.all(Array.from({ length: width }, lane));
  }

  /** A background worker: forever, the todo due first; asleep until one is due or a new one comes. */
  async work() {
    for (;;) {
      const key = this.#next();
      const wait = key ? this.todos.get(key).due - Date.now() : 1000;
      if (wait > 0) {
        await new Promise((r) => { this.waiters.add(r); setTimeout(r, wait); });
        continue;
      }
      await this.run(key);
    }
  }

  async #attempt(key, t) {
    const [, kind, id] = key.split(':');
    try {
      await this.handle(kind, id);
      if (this.todos.get(key) === t) { this.todos.delete(key); this.store.put({ [key]: null }); }
    } catch (err) {
      if (this.todos.get(key) !== t) return; // a newer event came in: it runs again
      if (err.until) {
        t.due = err.until; // throttled (429): not a failure, due again once the system takes requests
      } else {
        t.tries += 1;
        t.due = Date.now() + this.backoff(t.tries);
      }
      this.store.put({ [key]: { gen: t.gen, tries: t.tries, due: t.due } });
      this.log(`${err.kind ?? 'error'}: ${key} (try ${t.tries}): ${err.message}`);
      if (!err.kind) console.error(err.stack);
    }
  }

  #wake() { for (const r of this.waiters) r(); this.waiters.clear(); }
}
