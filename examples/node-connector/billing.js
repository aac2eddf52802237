// What the connector does, per entity, always from the entity's CURRENT state
// (events are only hints). Every handler is idempotent: running it twice, or
// again after a kill at any point, converges to the same ERP and PSA state.
import { ApiError } from './api.js';
import { lineAmount, expenseAmount } from './money.js';

/** Bad source data (or a parent that cannot exist yet): set the work aside, retry later. */
export class SetAside extends Error {
  kind = 'set aside';
}

const WRITER = 'c2c-node';
const codePoints = (s, max) => Array.from(s ?? '').slice(0, max).join('');

export class Billing {
  constructor({ api, store, log }) {
    Object.assign(this, { api, store, log });
    this.projectContract = new Map(); // PSA project id -> contract id (only valid ones are cached)
  }

  // ---- master data ------------------------------------------------------

  /** Bring the ERP customer of a CRM account to the account's current data; returns its id. */
  async syncAccount(accountId, { create = true } = {}) {
    const { api, store } = this;
    const acc = (await api.get('crm', `/accounts/${accountId}`)).data;
    const wanted = {
      name: codePoints(acc.legal_name, 40), legal_name: acc.legal_name, tax_id: acc.tax_id,
      billing_address: acc.billing_address,
    };
    let id = store.get(`cust:${accountId}`);
    if (!id) {
      const found = await api.list('erp', '/customers', { external_ref: accountId });
      if (found.length) id = found[0].id;
      else if (!create) return null;
      else {
        const res = await api.call('erp', 'POST', '/customers', {
          key: `${WRITER}:customer:${accountId}`,
          body: { external_ref: accountId, ...wanted, tax_jurisdiction: acc.tax_jurisdiction, currency: acc.currency },
        });
        if (res.status === 422 && res.data?.field === 'tax_jurisdiction') {
          throw new SetAside(`account ${accountId}: no ERP tax profile for ${acc.tax_jurisdiction}`);
        }
        if (res.status !== 201) throw new ApiError(res, `create customer for ${accountId}`);
        store.put({ [`cust:${accountId}`]: res.data.id });
        return res.data.id;
      }
      store.put({ [`cust:${accountId}`]: id });
    }
    // PATCH what differs, guarded by the version we read (412: someone edited first; re-read).
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await api.get('erp', `/customers/${id}`);
      const patch = {};
      for (const [k, v] of Object.entries(wanted)) {
        if (JSON.stringify(res.data[k]) !== JSON.stringify(v)) patch[k] = v;
      }
      if (!Object.keys(patch).length) return id;
      const up = await api.call('erp', 'PATCH', `/customers/${id}`, { body: patch, ifMatch: res.headers.get('etag') });
      if (up.status === 200) return id;
      if (up.status !== 412) throw new ApiError(up, `patch customer ${id}`);
    }
    throw new SetAside(`customer ${id}: still conflicting after 5 attempts`);
  }

  // ---- contracts --------------------------------------------------------

  /**
   * Make sure a signed T&M contract has its ERP billing project and its PSA
   * project. Returns {contract, bp} or null when there is nothing to bill yet.
   */
  async setupContract(contractId, projectId) {
    const { api, store } = this;
    const res = await api.call('clm', 'GET', `/contracts/${contractId}`);
    if (res.status === 404) throw new SetAside(`${projectId ? `project ${projectId} names ` : ''}unknown contract ${contractId}`);
    if (res.status !== 200) throw new ApiError(res, `GET contract ${contractId}`);
    const c = res.data;
    if (!c.signed_at) return null;
    if (c.billing_type !== 'time_and_materials') {
      this.log(`contract ${contractId} is ${c.billing_type}: not supported by this T&M-only connector`);
      return null;
    }
    let bp = store.get(`bp:${contractId}`);
    if (!bp) {
      const found = await api.list('erp', '/billing-projects', { contract_ref: contractId });
      let data = found[0];
      if (!data) {
        // The account's own todo keeps its customer up to date: here it only has to exist.
        const customerId = store.get(`cust:${c.account_id}`) ?? await this.syncAccount(c.account_id);
        const made = await api.call('erp', 'POST', '/billing-projects', {
          key: `${WRITER}:billing-project:${contractId}`,
          body: {
            customer_id: customerId, legal_entity: c.legal_entity, contract_ref: contractId, currency: c.currency,
            name: codePoints(c.title, 255), payment_terms_days: c.payment_terms_days ?? 30,
          },
        });
        if (made.status !== 201) throw new ApiError(made, `create billing project for ${contractId}`);
        data = made.data;
      }
      bp = { id: data.id, currency: data.currency };
      store.put({ [`bp:${contractId}`]: bp });
    }
    if (!store.has(`psa:${contractId}`)) {
      // The PSA ignores Idempotency-Key: look up first (a PM may have created it), rely on the 409 otherwise.
      let [project] = await api.list('psa', '/projects', { contract_ref: contractId });
      if (!project) {
        const made = await api.call('psa', 'POST', '/projects', {
          body: {
            contract_ref: contractId, name: codePoints(c.title, 255), start_date: c.start_date, end_date: c.end_date,
            tasks: [{ name: 'Delivery' }],
          },
        });
        if (made.status === 201) project = made.data;
        else if (made.status === 409 && made.data?.existing_id) project = { id: made.data.existing_id };
        else throw new ApiError(made, `create PSA project for ${contractId}`);
      }
      store.put({ [`psa:${contractId}`]: project.id });
    }
    return { contract: c, bp };
  }

  /**
   * The contract of a PSA project and its set-up (setupContract's answer), read once per contract per unit of
   * work (`setups`); SetAside while the project names no contract. Only a project whose contract exists is
   * remembered (until psa.project.updated).
   */
  async contractOf(projectId, setups = new Map()) {
    const contractId = this.projectContract.get(projectId)
      ?? (await this.api.get('psa', `/projects/${projectId}`)).data.contract_ref;
    if (!setups.has(contractId)) setups.set(contractId, await this.setupContract(contractId, projectId));
    this.projectContract.set(projectId, contractId);
    return { contractId, setup: setups.get(contractId) };
  }

  forgetProject(projectId) { this.projectContract.delete(projectId); }

  /** Work seen per contract, so an amendment can re-value all of it: a key for `notes` (written by settleAll). */
  remember(contractId, kind, id, notes) {
    const key = `doc:${contractId}:${kind}:${id}`;
    if (!this.store.has(key)) notes[key] = 1;
  }

  documentsOf(contractId) {
    return [...this.store.scan(`doc:${contractId}:`)].map(([k]) => k.split(':').slice(2));
  }

  // ---- source items -----------------------------------------------------

  async processTimesheet(id) {
    const ts = (await this.api.get('psa', `/timesheets/${id}`)).data;
    const known = this.store.get(`ts:${id}`) ?? [];
    const current = ts.lines.map((l) => l.id);
    const all = [...new Set([...known, ...current])];
    // Remember every line id (before any of them is charged): an adjustment may drop lines from every later read.
    const notes = all.length !== known.length ? { [`ts:${id}`]: all } : {};
    const problems = [];
    const plans = []; // [item, the charge it should have (null: none)], lines with bad data left out
    const setups = new Map(); // one contract read per contract per sheet
    for (const line of ts.lines) {
      try {
        let want = null;
        if (ts.status === 'approved' && line.billable) {
          const { contractId, setup } = await this.contractOf(line.project_id, setups);
          this.remember(contractId, 'timesheet', id, notes);
          if (setup) {
            const { contract, bp } = setup;
            const rate = rateOn(contract.rate_card, line.role, line.date);
            if (rate === undefined) throw new SetAside(`line ${line.id}: no ${line.role} rate on ${line.date} in ${contractId} v${contract.version}`);
            want = {
              billing_project_id: bp.id, charge_date: line.date, currency: bp.currency,
              description: `${line.role} ${line.hours}h on ${line.date}`,
              quantity: line.hours, unit_price: rate, amount: lineAmount(line.hours, rate),
              lineage: {
                source_system: 'psa', source_type: 'timesheet_line', source_id: line.id,
                contract_id: contractId, contract_version: contract.version,
                source_version: ts.version, approval_id: ts.approval_id, timesheet_id: ts.id, written_by: WRITER,
              },
            };
          }
        }
        plans.push([`psa:timesheet_line/${line.id}`, want]);
      } catch (err) {
        problems.push(err);
      }
    }
    for (const gone of known.filter((l) => !current.includes(l))) {
      plans.push([`psa:timesheet_line/${gone}`, null]); // removed by an adjustment: worth 0
    }
    await this.settleAll(`timesheet:${id}`, plans, notes);
    if (problems.length) throw problems[0];
  }

  async processExpense(id) {
    const exp = (await this.api.get('psa', `/expenses/${id}`)).data;
    let want = null;
    const notes = {};
    if (exp.status === 'approved' && exp.billable) {
      const { contractId, setup } = await this.contractOf(exp.project_id);
      this.remember(contractId, 'expense', id, notes);
      if (setup) {
        const { contract, bp } = setup;
        const amount = expenseAmount(exp.cost, contract.expense_markup_pct);
        want = {
          billing_project_id: bp.id, charge_date: exp.date, currency: bp.currency,
          description: codePoints(`Expense: ${exp.description}`, 255), quantity: '1', unit_price: amount, amount,
          lineage: {
            source_system: 'psa', source_type: 'expense', source_id: exp.id,
            contract_id: contractId, contract_version: contract.version,
            source_version: exp.version, approval_id: exp.approval_id, written_by: WRITER,
          },
        };
      }
    }
    await this.settleAll(`expense:${id}`, [[`psa:expense/${id}`, want]], notes);
  }

  /**
   * Settle the items of one unit of work (a timesheet, an expense) in as few ERP requests as can be: each
   * open charge that must go is reversed on its own (a 409 "already reversed" is then done, not a failed
   * batch), and every new charge goes in ONE `POST /charge-batches` (all or nothing). The batch is recorded
   * (`batch:UNIT`, its Idempotency-Key `c2c-node:batch:UNIT:SEQ` and exact body) BEFORE it is posted and
   * cleared with its results in one put, so after a kill or a lost answer the same batch is re-sent under
   * the same key first (the ERP replays it) and only then is the unit planned again from current state.
   * `notes` (what the unit learnt about its source) is stored with the batch, or on its own without one: an
   * fsync fewer per unit.
   */
  async settleAll(unit, plans, notes = {}) {
    const { store } = this;
    const batchKey = `batch:${unit}`;
    const unfinished = store.get(batchKey);
    if (unfinished) await this.#postBatch(batchKey, unfinished, true);
    const fresh = [];
    for (let [item, want] of plans) {
      const rec = store.get(`item:${item}`) ?? { open: null };
      if (want && want.amount <= 0) want = null;
      if (rec.open && want && sameCharge(rec.open, want)) continue;
      if (rec.open) await this.#reverse(item, rec);
      if (want) fresh.push([item, want]);
    }
    if (!fresh.length) {
      if (Object.keys(notes).length) store.put(notes);
      return;
    }
    const seq = (store.get(`bseq:${unit}`) ?? 0) + 1;
    const batch = { key: `${WRITER}:batch:${unit}:${seq}`, items: fresh.map(([item]) => item), charges: fresh.map(([, w]) => w) };
    store.put({ ...notes, [batchKey]: batch, [`bseq:${unit}`]: seq });
    await this.#postBatch(batchKey, batch, false);
  }

  async #postBatch(batchKey, batch, resent) {
    const { api, store } = this;
    const res = await api.call('erp', 'POST', '/charge-batches', { key: batch.key, body: { charges: batch.charges } });
    if (resent) {
      this.log(`re-sent unfinished batch ${batch.key}: ${res.status}`
        + (res.headers.get('idempotent-replayed') === 'true' ? ' (replayed by the ERP: it was committed before the kill)' : ''));
    }
    if (res.status !== 201) {
      store.put({ [batchKey]: null }); // refused as a whole (all or nothing): nothing of it was written
      throw new ApiError(res, `charge batch ${batch.key}`);
    }
    const changes = { [batchKey]: null };
    batch.items.forEach((item, i) => {
      const rec = store.get(`item:${item}`) ?? { open: null };
      rec.open = { ...batch.charges[i], id: res.data.data[i].id };
      changes[`item:${item}`] = rec;
    });
    store.put(changes);
  }

  /** Reverse an item's open charge under the key `c2c-node:reversal:CHARGE_ID` (409: already reversed). */
  async #reverse(item, rec) {
    const o = rec.open;
    const res = await this.api.call('erp', 'POST', '/charges', {
      key: `${WRITER}:reversal:${o.id}`,
      body: {
        billing_project_id: o.billing_project_id, charge_date: o.charge_date, currency: o.currency,
        description: `Reversal of ${o.id}`, quantity: '1', unit_price: -o.amount, amount: -o.amount,
        lineage: o.lineage, reversal_of: o.id,
      },
    });
    if (res.status !== 201 && res.status !== 409) throw new ApiError(res, `reverse ${o.id} of ${item}`);
    rec.open = null;
    this.store.put({ [`item:${item}`]: rec });
  }

  // ---- write-back -------------------------------------------------------

  /** Write a posted document's number back to every PSA item on its positive lines. */
  async processInvoice(id) {
    const inv = (await this.api.get('erp', `/invoices/${id}`)).data;
    if (inv.status !== 'posted') return;
    const stamp = `${inv.posted_at}|${inv.number}`;
    const items = new Map();
    for (const line of inv.lines) {
      const l = line.lineage ?? {};
      if (line.amount > 0 && l.source_system === 'psa' && l.source_id) items.set(`${l.source_type}/${l.source_id}`, { type: l.source_type, id: l.source_id });
    }
    // Late or replayed events must not overwrite a newer document's number with an older one.
    const fresh = [...items].filter(([k]) => (this.store.get(`wb:${k}`) ?? '') <= stamp);
    for (let i = 0; i < fresh.length; i += 500) {
      const chunk = fresh.slice(i, i + 500);
      const res = await this.api.call('psa', 'POST', '/billing-updates', {
        body: { invoice_ref: inv.number, items: chunk.map(([, v]) => v) },
      });
      if (res.status >= 300) throw new ApiError(res, `write-back of ${inv.number}`);
      this.store.put(Object.fromEntries(chunk.map(([k]) => [`wb:${k}`, stamp])));
    }
  }
}

/** The rate for role with the latest effective_from on or before date. */
export function rateOn(rateCard, role, date) {
  let best;
  for (const e of rateCard ?? []) {
    if (e.role === role && e.effective_from <= date && (!best || e.effective_from >= best.effective_from)) best = e;
  }
  return best?.rate;
}

function sameCharge(open, want) {
  return open.amount === want.amount && open.unit_price === want.unit_price && open.quantity === want.quantity
    && open.billing_project_id === want.billing_project_id && open.charge_date === want.charge_date
    && open.lineage.approval_id === want.lineage.approval_id
    && open.lineage.source_version === want.lineage.source_version;
}
