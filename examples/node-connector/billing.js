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
const LIST_INVOICES_FROM = 10; // documents waiting for their write-back: from this many on, list them (one request a page)
const codePoints = (s, max) => Array.from(s ?? '').slice(0, max).join('');

export class Billing {
  constructor({ api, store, outbox, log }) {
    Object.assign(this, { api, store, outbox, log });
    this.projectContract = new Map(); // PSA project id -> contract id (only valid ones are cached)
    this.postedInvoices = new Map(); // invoice id -> the posted document, read by a list, until its todo runs
  }

  // ---- master data ------------------------------------------------------

  /** The ERP customer of a CRM account as far as we know it: {id, v (the account version it was brought to)}. */
  customer(accountId) {
    const c = this.store.get(`cust:${accountId}`);
    return typeof c === 'string' ? { id: c } : c ?? null;
  }

  /**
   * Bring the ERP customer of a CRM account to the account's current data; returns its id. Creating it costs one
   * ERP request (the Idempotency-Key answers a retry); an account version we brought it to already costs none.
   */
  async syncAccount(accountId) {
    const { api, store } = this;
    const acc = (await api.get('crm', `/accounts/${accountId}`)).data;
    const wanted = {
      name: codePoints(acc.legal_name, 40), legal_name: acc.legal_name, tax_id: acc.tax_id,
      billing_address: acc.billing_address,
    };
    const known = this.customer(accountId);
    if (!known) {
      const made = await this.#create('customer', accountId, '/customers', { external_ref: accountId }, () => ({
        external_ref: accountId, ...wanted, tax_jurisdiction: acc.tax_jurisdiction, currency: acc.currency,
      }));
      store.put({ [`cust:${accountId}`]: made.created ? { id: made.id, v: acc.version } : { id: made.id } });
      if (made.created) return made.id;
      return this.syncAccount(accountId); // found by the look-up: bring it to the account's data
    }
    if (known.v !== undefined && known.v >= acc.version) return known.id;
    // PATCH what differs, guarded by the version we read (412: someone edited first; re-read).
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await api.get('erp', `/customers/${known.id}`);
      const patch = {};
      for (const [k, v] of Object.entries(wanted)) {
        if (JSON.stringify(res.data[k]) !== JSON.stringify(v)) patch[k] = v;
      }
      if (Object.keys(patch).length) {
        const up = await api.call('erp', 'PATCH', `/customers/${known.id}`, { body: patch, ifMatch: res.headers.get('etag') });
        if (up.status === 412) continue;
        if (up.status !== 200) throw new ApiError(up, `patch customer ${known.id}`);
      }
      store.put({ [`cust:${accountId}`]: { id: known.id, v: acc.version } });
      return known.id;
    }
    throw new SetAside(`customer ${known.id}: still conflicting after 5 attempts`);
  }

  /**
   * Create an ERP customer or billing project in ONE request, with no look-up first: the Idempotency-Key
   * (`c2c-node:KIND:SOURCE`) makes a retry replay the first answer. An intent (`new:KIND:SOURCE`) is stored
   * before the POST and cleared with the answer; only when one is left over (a kill, or a timeout we never saw
   * answered) is the ERP looked up first (`lookup` query), in case the key has expired since. Resolves to
   * {id, created}.
   */
  async #create(kind, sourceId, path, lookup, body) {
    const { api, store } = this;
    const intent = `new:${kind}:${sourceId}`;
    if (store.has(intent)) {
      const [found] = await api.list('erp', path, lookup);
      if (found) { store.put({ [intent]: null }); return { id: found.id, created: false }; }
    } else {
      store.put({ [intent]: 1 });
    }
    let res;
    try {
      res = await api.call('erp', 'POST', path, { key: `${WRITER}:${kind}:${sourceId}`, body: body() });
    } catch (err) {
      if (err.kind === 'throttled') store.put({ [intent]: null }); // refused before anything was written
      throw err;
    }
    if (res.status === 201) {
      store.put({ [intent]: null });
      return { id: res.data.id, created: true };
    }
    store.put({ [intent]: null }); // a problem answer: nothing was written
    if (kind === 'customer' && res.status === 422 && res.data?.field === 'tax_jurisdiction') {
      throw new SetAside(`account ${sourceId}: no ERP tax profile for ${body().tax_jurisdiction}`);
    }
    throw new ApiError(res, `create ${kind} for ${sourceId}`);
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
      // The account's own todo keeps its customer up to date: here it only has to exist.
      const customerId = this.customer(c.account_id)?.id ?? await this.syncAccount(c.account_id);
      const made = await this.#create('billing-project', contractId, '/billing-projects', { contract_ref: contractId }, () => ({
        customer_id: customerId, legal_entity: c.legal_entity, contract_ref: contractId, currency: c.currency,
        name: codePoints(c.title, 255), payment_terms_days: c.payment_terms_days ?? 30,
      }));
      bp = { id: made.id, currency: c.currency };
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

  /** Work seen per contract, so an amendment can re-value all of it: a key for `notes` (written with the unit's wants). */
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
    this.outbox.want(plans, notes); // written to the ERP by the outbox, with every other unit's charges
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
    this.outbox.want([[`psa:expense/${id}`, want]], notes);
  }

  // ---- write-back -------------------------------------------------------

  /**
   * Write a posted document's number back to every PSA item on its positive lines. Reading the document takes an
   * ERP request, after the charges (priority 2). When many documents wait (`waiting()`: the ids of the invoice
   * todos, as after a billing run), one list of the posted documents (500 a page) reads them all: a posted
   * document never changes, so it is kept until its todo runs.
   */
  async processInvoice(id, waiting = () => new Set()) {
    let inv = this.postedInvoices.get(id);
    if (!inv) {
      const ids = waiting();
      if (ids.size >= LIST_INVOICES_FROM) {
        for (const doc of await this.api.list('erp', '/invoices', { status: 'posted' }, { prio: 2 })) {
          if (ids.has(doc.id)) this.postedInvoices.set(doc.id, doc);
        }
        inv = this.postedInvoices.get(id);
      }
    }
    inv ??= (await this.api.get('erp', `/invoices/${id}`, { prio: 2 })).data;
    this.postedInvoices.delete(id);
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
