// The ERP charge writer: every charge and reversal this connector writes goes
// through here, many units of work to one request.
//
// A unit of work (a timesheet, an expense) does not write to the ERP itself: it
// states, durably, what each of its items should be charged now (`want:ITEM`,
// null for "no charge") and is done. One loop then brings the ERP there, in
// batches of up to 500 charges (`POST /charge-batches`, all or nothing): for an
// item whose open charge differs from what it should be, the reversal of the
// open charge and the new charge go in the same batch. While the ERP throttles
// us (429), wants keep piling up, so the next batch carries all of them: one
// ERP request serves every approval that came in meanwhile, and no approval
// waits behind a look-up or a request of its own.
//
// Exactly once: a batch is recorded (`flight`: its Idempotency-Key
// `c2c-node:charges:SEQ` and its exact body) BEFORE it is posted, and the
// answer is applied (each item's open charge, the wants it satisfied, the
// flight cleared) in one append. After a timeout, a lost answer or a kill the
// same body goes again under the same key, and the ERP replays its answer
// instead of writing twice; only then is anything new planned. A new batch
// always gets a new key.
//
// The ERP may refuse a batch as a whole (a problem document; nothing written):
// a 409 on a reversal means a finance user reversed that charge already (the
// item has no open charge then: it is charged afresh); any other refusal naming
// one charge sets that item aside with backoff, the rest go on.
import { sleep } from './api.js';

const BATCH_LIMIT = 500;
const WRITER = 'c2c-node';

export class Outbox {
  /** @param {{api: import('./api.js').Api, store: import('./store.js').Store, log: Function,
   *           backoff: (tries: number) => number}} o */
  constructor({ api, store, log, backoff }) {
    Object.assign(this, { api, store, log, backoff });
    this.pending = new Map(); // item key -> the charge it should have (null: none); oldest first
    for (const [k, v] of store.scan('want:')) this.pending.set(k.slice('want:'.length), v.charge);
    this.flight = store.get('flight') ?? null; // the batch recorded, maybe sent, its answer not yet applied
    this.parked = new Map(); // item key -> {tries, until (wall ms)}: refused by the ERP, retried later
    this.wakeup = null;
    this.settlers = new Set(); // who waits in settle(), told after each answer
    this.failures = 0;
    this.batches = 0; // batches written, and the charges in them (for the log)
    this.written = 0;
    this.largest = 0;
  }

  /** Is there a charge to write now (a batch in the air, or a want not set aside)? */
  hasWork() {
    if (this.flight) return true;
    const now = Date.now();
    for (const item of this.pending.keys()) if (!((this.parked.get(item)?.until ?? 0) > now)) return true;
    return false;
  }

  /**
   * Durably state what these items should be charged now: plans are [item key, charge (null: none)]; `notes`
   * (what the unit learnt about its source) go in the same append. An item the ERP already holds that way,
   * with nothing pending, costs nothing.
   */
  want(plans, notes = {}) {
    const changes = { ...notes };
    const inFlight = new Set(this.flight?.entries.map((e) => e.item));
    for (let [item, charge] of plans) {
      if (charge && !(charge.amount > 0)) charge = null;
      if (this.pending.has(item)) {
        if (JSON.stringify(this.pending.get(item)) === JSON.stringify(charge) && !this.parked.has(item)) continue;
      } else if (!inFlight.has(item) && settled(this.store.peek(`item:${item}`)?.open ?? null, charge)) {
        continue;
      }
      changes[`want:${item}`] = { charge };
      this.pending.set(item, charge);
      this.parked.delete(item); // its unit ran again: maybe fixed
    }
    if (Object.keys(changes).length) this.store.put(changes);
    this.#wake();
  }

  /** Run the writer, forever. */
  async run() {
    if (this.flight) this.log(`charges: re-sending unfinished batch ${this.flight.key} (${this.flight.charges.length} charges)`);
    for (;;) {
      try {
        if (!this.flight) this.#plan();
        if (this.flight) {
          await this.#send(this.flight);
          this.failures = 0;
          this.#settled();
        } else {
          this.#settled();
          await this.#idle();
        }
      } catch (err) {
        this.failures += 1;
        this.#settled();
        const ms = this.backoff(this.failures);
        this.log(`charges: ${err.kind ?? 'error'}: ${err.message}; again in ${Math.round(ms)} ms`);
        if (!err.kind) console.error(err.stack);
        await sleep(ms);
      }
    }
  }

  /**
   * Wait (up to `until`, wall ms) until there is nothing to write, unless the ERP is refusing us (its last
   * answer was a 429) or failing (the writer is backing off). A webhook handler waits here, so a served firm,
   * waiting for its answer, stands still until the charges are in the ERP, as if the handler wrote them itself;
   * but never for a throttled ERP: a firm that stands still refills no rate-limit tokens.
   */
  async settle(until) {
    while (this.hasWork() && Date.now() < until && !this.api.refusing() && !this.failures) {
      await new Promise((r) => { this.settlers.add(r); setTimeout(r, Math.max(1, Math.min(5, until - Date.now()))); });
    }
  }

  #settled() { for (const r of this.settlers) r(); this.settlers.clear(); }

  // Pick the next batch: the oldest wants first, an item's reversal and new charge together.
  #plan() {
    const now = Date.now();
    const changes = {};
    const entries = [];
    const charges = [];
    for (const [item, want] of this.pending) {
      const open = this.store.peek(`item:${item}`)?.open ?? null;
      if (settled(open, want)) { // nothing (left) to do: the ERP holds it so
        changes[`want:${item}`] = null;
        this.pending.delete(item);
        continue;
      }
      if ((this.parked.get(item)?.until ?? 0) > now) continue;
      if (charges.length + (open ? 1 : 0) + (want ? 1 : 0) > BATCH_LIMIT) break;
      const e = { item, rev: -1, add: -1 };
      if (open) { e.rev = charges.length; charges.push(reversalOf(open)); }
      if (want) { e.add = charges.length; charges.push(want); }
      entries.push(e);
    }
    if (entries.length) {
      const seq = (this.store.peek('fseq') ?? 0) + 1;
      this.flight = { key: `${WRITER}:charges:${seq}`, entries, charges };
      Object.assign(changes, { flight: this.flight, fseq: seq });
    }
    if (Object.keys(changes).length) this.store.put(changes);
  }

  async #send(f) {
    const res = await this.api.call('erp', 'POST', '/charge-batches', { key: f.key, body: { charges: f.charges }, prio: 0, patient: true });
    if (res.status === 201) return this.#apply(f, res.data.data, res.headers.get('idempotent-replayed') === 'true');
    return this.#refused(f, res);
  }

  #apply(f, created, replayed) {
    const changes = { flight: null };
    for (const e of f.entries) {
      const want = e.add >= 0 ? f.charges[e.add] : null;
      changes[`item:${e.item}`] = { open: want ? { ...want, id: created[e.add].id } : null };
      if (this.pending.has(e.item) && JSON.stringify(this.pending.get(e.item)) === JSON.stringify(want)) {
        changes[`want:${e.item}`] = null; // done, unless a newer want came in meanwhile (then it goes next)
        this.pending.delete(e.item);
      }
      this.parked.delete(e.item);
    }
    this.flight = null;
    this.store.put(changes);
    this.batches += 1;
    this.written += f.charges.length;
    this.largest = Math.max(this.largest, f.charges.length);
    if (replayed) this.log(`charges: batch ${f.key} was committed before (replayed by the ERP): ${f.charges.length} charges`);
  }

  #refused(f, res) {
    const detail = res.data?.detail ?? res.data?.title ?? '';
    const m = /^charges\[(\d+)\]/.exec(res.data?.field ?? '');
    const at = m ? Number(m[1]) : -1;
    const entry = f.entries.find((e) => e.rev === at || e.add === at);
    const changes = { flight: null };
    if (entry && entry.rev === at && res.status === 409) {
      // The charge we meant to reverse is reversed already (say, by a finance user): the item has no open charge.
      this.log(`charges: ${entry.item}: its charge ${f.charges[at].reversal_of} is not ours to reverse any more (${detail})`);
      changes[`item:${entry.item}`] = { open: null };
    } else {
      const refused = entry ? [entry] : f.entries;
      for (const e of refused) {
        const tries = (this.parked.get(e.item)?.tries ?? 0) + 1;
        this.parked.set(e.item, { tries, until: Date.now() + this.backoff(tries) });
      }
      this.log(`charges: the ERP refused batch ${f.key}: ${res.status} ${res.data?.field ?? ''} ${detail}; `
        + `${refused.length === 1 ? refused[0].item : `its ${refused.length} items`} set aside, retried later`);
    }
    this.flight = null;
    this.store.put(changes);
  }

  #idle() {
    let next = Infinity;
    for (const p of this.parked.values()) next = Math.min(next, p.until);
    return new Promise((resolve) => {
      this.wakeup = resolve;
      if (next < Infinity) setTimeout(resolve, Math.max(1, next - Date.now()));
    });
  }

  #wake() { const r = this.wakeup; this.wakeup = null; r?.(); }
}

/** Does the ERP hold what the item should be charged (its open charge, or none)? */
function settled(open, want) {
  if (!open || !want) return !open && !want;
  return open.amount === want.amount && open.unit_price === want.unit_price && open.quantity === want.quantity
    && open.billing_project_id === want.billing_project_id && open.charge_date === want.charge_date
    && open.lineage.approval_id === want.lineage.approval_id
    && open.lineage.source_version === want.lineage.source_version;
}

/** The reversal of an open charge: its exact negation, with its lineage. */
function reversalOf(o) {
  return {
    billing_project_id: o.billing_project_id, charge_date: o.charge_date, currency: o.currency,
    description: `Reversal of ${o.id}`, quantity: '1', unit_price: -o.amount, amount: -o.amount,
    lineage: o.lineage, reversal_of: o.id,
  };
}
