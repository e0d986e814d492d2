/**
 * A dialect's store is one object made of its concerns' records (./ports/): a small class per
 * table group over the dialect's core, and the store exposes every public method of every part
 * as its own (bound to its part), so that callers and tests see one `Store`.
 */
import type { ChangeRecords } from './ports/changes.js';

const CHANGE_METHODS = ['getMeta', 'setMeta', 'swapMeta', 'listDirty', 'changeSeq', 'count'] as const satisfies readonly (keyof ChangeRecords)[];

/** Puts the core's change records and every part's methods on `target`. */
export function exposeParts(target: object, core: ChangeRecords, parts: object[]): void {
  for (const name of CHANGE_METHODS) define(target, name, core[name].bind(core));
  for (const part of parts) {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
      const method = (part as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof method === 'function') define(target, name, method.bind(part));
    }
  }
}

function define(target: object, name: string, value: unknown): void {
  if (Object.prototype.hasOwnProperty.call(target, name)) throw new Error(`two parts of the store define ${name}`);
  Object.defineProperty(target, name, { value, writable: true, configurable: true });
}
