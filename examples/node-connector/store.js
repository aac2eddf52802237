// Durable key-value state: a JSON snapshot plus an append-only journal.
//
// Every put() appends ONE line (all its keys together) to journal.jsonl and
// fdatasyncs it before returning, so a put is atomic and durable: a kill -9 can
// at worst leave a torn last line, which is ignored on load. On start (and
// when the journal grows) the whole map is written to state.json atomically
// (temp file, fsync, rename, fsync of the directory) and the journal is
// truncated; replaying a journal over a snapshot that already holds it is
// harmless, so a kill between the two steps loses nothing.
import fs from 'node:fs';
import path from 'node:path';

export class Store {
  constructor(dir, { compactEvery = 20000 } = {}) {
    fs.mkdirSync(dir, { recursive: true });
    this.dir = dir;
    this.snapshot = path.join(dir, 'state.json');
    this.journal = path.join(dir, 'journal.jsonl');
    this.compactEvery = compactEvery;
    this.map = new Map();
    if (fs.existsSync(this.snapshot)) {
      for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(this.snapshot, 'utf8')))) this.map.set(k, v);
    }
    if (fs.existsSync(this.journal)) {
      for (const line of fs.readFileSync(this.journal, 'utf8').split('\n')) {
        if (!line) continue;
        let pairs;
        try { pairs = JSON.parse(line); } catch { break; } // torn tail of a killed write
        for (const [k, v] of pairs) this.#apply(k, v);
      }
    }
    this.compact();
  }

  #apply(k, v) { if (v === null || v === undefined) this.map.delete(k); else this.map.set(k, v); }

  get(key) { const v = this.map.get(key); return v === undefined ? undefined : structuredClone(v); }
  has(key) { return this.map.has(key); }
  /** The stored value itself, not a copy: read it, never change it. */
  peek(key) { return this.map.get(key); }

  /** Entries whose key starts with prefix, as [key, value] pairs (copies). */
  *scan(prefix) {
    for (const [k, v] of this.map) if (k.startsWith(prefix)) yield [k, structuredClone(v)];
  }

  /** Durably set (value) or delete (null) several keys at once. */
  put(changes) {
    const pairs = Object.entries(changes).map(([k, v]) => [k, v ?? null]);
    fs.writeSync(this.fd, JSON.stringify(pairs) + '\n');
    fs.fdatasyncSync(this.fd); // the line and the file's new length; no other metadata to wait for
    for (const [k, v] of pairs) this.#apply(k, structuredClone(v));
    if (++this.lines >= this.compactEvery) this.compact();
  }

  compact() {
    const tmp = this.snapshot + '.tmp';
    const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, JSON.stringify(Object.fromEntries(this.map)));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.snapshot);
    const dirFd = fs.openSync(this.dir, 'r');
    fs.fsyncSync(dirFd);
    fs.closeSync(dirFd);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = fs.openSync(this.journal, 'w'); // truncate: the snapshot holds it all
    fs.fsyncSync(this.fd);
    this.lines = 0;
  }
}
