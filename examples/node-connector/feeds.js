// The change feeds: the safety net under webhooks. Each system's feed is read
// from the cursor we stored, for the event types we handle; an event a
// webhook already brought in (same id) is skipped, the others become todos,
// stored in one append with the cursor that follows them. A cursor the feed
// no longer holds (410) means events were lost for good: resynchronise from
// current state, then read on from the head.
//
// A `spare` system's feed (the ERP's: its quota is for charges) is read only
// when that system is idle: its read is polite (api.js) and gives up, to be
// tried at the next poll, rather than wait its turn.

export class Feeds {
  /** @param {{api: import('./api.js').Api, store: import('./store.js').Store, inbox: import('./inbox.js').Inbox,
   *           routes: Record<string, string>, log: Function, spare?: string[]}} o */
  constructor({ api, store, inbox, routes, log, spare = [] }) {
    Object.assign(this, { api, store, inbox, routes, log, spare });
    this.types = {};
    for (const type of Object.keys(routes)) (this.types[type.split('.')[0]] ??= []).push(type);
    this.reads = {}; // system -> its read under way
    this.refused = {}; // system -> reads in a row it refused (429, or busy for a polite read)
  }

  /**
   * Read these systems' feeds (all by default), side by side; resolves to the keys of the todos they added.
   * A read of a feed already under way is joined, not doubled. Errors are logged, but for a 429 (the
   * cursor stays, so the next read tries again).
   */
  poll(systems = Object.keys(this.types)) {
    return Promise.all(systems.map((sys) => (this.reads[sys] ??= this.#read(sys)
      .then((keys) => { this.refused[sys] = 0; return keys; })
      .catch((err) => {
        if (err.kind === 'throttled') this.refused[sys] = (this.refused[sys] ?? 0) + 1;
        else this.log(`poll ${sys}: ${err.message}`);
        return [];
      })
      .finally(() => { delete this.reads[sys]; }))))
      .then((keys) => keys.flat());
  }

  async #read(sys) {
    let cursor = this.store.get(`cursor:${sys}`) ?? '';
    const added = [];
    const polite = this.spare.includes(sys);
    for (;;) {
      const res = await this.api.call(sys, 'GET', '/events', { polite, query: { after: cursor, limit: 1000, types: this.types[sys].join(',') } });
      if (res.status === 410) {
        this.log(`${sys} feed expired our cursor ${cursor}: resynchronising from current state`);
        added.push(...await this.#resync(sys, res.data.head_cursor));
        cursor = res.data.head_cursor;
        continue;
      }
      if (res.status !== 200) throw new Error(`${sys} feed: ${res.status} ${res.data?.detail}`);
      // A feed event's id is its webhook's id: skip what a webhook already brought in.
      const missed = res.data.data.filter((e) => this.routes[e.type] && !this.store.has(`seen:${e.id}`));
      if (!missed.length && res.data.next_cursor === cursor) return added;
      cursor = res.data.next_cursor;
      const seen = Object.fromEntries(missed.map((e) => [`seen:${e.id}`, 1]));
      added.push(...this.inbox.add(missed.map((e) => [this.routes[e.type], e.entity_id]), { ...seen, [`cursor:${sys}`]: cursor }));
      if (!res.data.data.length) return added;
    }
  }

  async #resync(sys, headCursor) {
    const opts = this.spare.includes(sys) ? { prio: 2 } : {};
    const ids = async (path, query) => (await this.api.list(sys, path, query, opts)).map((e) => e.id);
    const items = [];
    if (sys === 'crm') for (const id of await ids('/accounts')) items.push(['account', id]);
    if (sys === 'clm') for (const id of await ids('/contracts')) items.push(['contract', id]);
    if (sys === 'psa') {
      for (const id of await ids('/timesheets', { status: 'approved' })) items.push(['timesheet', id]);
      for (const [k] of this.store.scan('ts:')) items.push(['timesheet', k.slice(3)]); // re-opened since
      for (const id of await ids('/expenses', { status: 'approved' })) items.push(['expense', id]);
    }
    if (sys === 'erp') for (const id of await ids('/invoices', { status: 'posted' })) items.push(['invoice', id]);
    return this.inbox.add(items, { [`cursor:${sys}`]: headCursor });
  }
}
