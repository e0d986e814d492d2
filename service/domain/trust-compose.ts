/**
 * serializeJson(effectiveTrust(inputs)) for the many scopes of one state, composed from parts
 * computed once (bench B9: a change at a parent re-publishes every scope under it, and the 10,000
 * children of one parent share everything they inherit). effectiveTrust (trust.ts) stays the
 * definition; this writes the same text from its own parts:
 * - the inherited part, once per chain above a scope (its scopes, level, applied revocations and
 *   the `revoked` text, the inherited anchors that survive, the blocks);
 * - each anchor's text (and its `crls` entry) once, at its indent in the document;
 * - a document's own anchors merged in by ID.
 * A scope with revocations or blocks of its own is written by effectiveTrust itself.
 * test/service/domain/trust-compose.test.ts compares the two texts over varied states.
 */
import {
  DEFAULT_LEVEL,
  appliedRevocations,
  cmp,
  crlEntry,
  effectiveTrust,
  inheritanceChain,
  revokedSection,
  serializeJson,
  survives,
  toTrustAnchor,
  type TrustInputs,
} from './trust.js';
import { nearestCandidate } from './scope.js';
import { TRUST_MEDIA_TYPE, type AnchorRecord, type Level, type Revocations, type ScopeRecord } from './types.js';

/** What a document inherits from the chain above it. */
interface Inherited {
  level: Level | null;
  applied: Revocations;
  revokedKeyIds: Set<string>;
  blocked: Set<string>;
  /** The inherited anchors that survive the chain's blocks and revocations, sorted by ID. */
  kept: AnchorRecord[];
  /** What follows the anchors up to the `crls` array: `,`, `"revoked": {...}` at its indent, `"crls": `. */
  crlsText: string;
}

/**
 * An element of an array in a document (`anchors`, `crls`) as JSON.stringify(document, null, 2)
 * writes it: the element stringified inside the same nesting, `{"a": [value]}`, without that
 * wrapper's 11 leading and 6 trailing characters.
 */
const elementText = (value: unknown): string => JSON.stringify({ a: [value] }, null, 2).slice(11, -6);

const HEAD = `{\n  "mediaType": ${JSON.stringify(TRUST_MEDIA_TYPE)},\n  "scope": `;

/** A document's array from its elements' texts joined by `,\\n`. */
const arrayText = (elements: string): string => (elements === '' ? '[]' : `[\n${elements}\n  ]`);

const NO_ANCHORS: AnchorRecord[] = [];
const NO_SCOPES: ScopeRecord[] = [];
const NO_SCOPE: ScopeRecord = { scope: '', inherit: false, level: null };

export class TrustComposer {
  /** By the tail's first record (NO_SCOPE: an empty tail), each tail with what it gives. */
  private readonly inherited = new Map<ScopeRecord, [ScopeRecord[], Inherited][]>();
  private readonly anchorTexts = new Map<AnchorRecord, string>();
  private readonly crlTexts = new Map<AnchorRecord, string | null>();
  /** Scopes that have revocations or blocks of their own. */
  private readonly ownRules: Set<string>;

  /** `state`: TrustInputs without scope and ancestors, the same for every document composed. */
  constructor(private readonly state: Omit<TrustInputs, 'scope' | 'ancestors'>) {
    const r = state.revocations;
    this.ownRules = new Set<string>(state.blocked?.keys() ?? []);
    for (const list of [r.certificates, r.keys, r.signatures]) for (const x of list) if (x.scope != null) this.ownRules.add(x.scope);
  }

  /** serializeJson(effectiveTrust({ ...state, scope, ancestors })). */
  json(scope: ScopeRecord, ancestors: ScopeRecord[]): string {
    const [head, rest] = this.parts(scope, ancestors);
    return head + rest;
  }

  /**
   * The same text in two parts: its head (the mediaType and scope lines, where the publisher's
   * stamp goes after) and the rest.
   */
  parts(scope: ScopeRecord, ancestors: ScopeRecord[]): [head: string, rest: string] {
    return this.partsBelow(scope, inheritanceChain(scope, ancestors).slice(1));
  }

  /**
   * parts() from the scope's chain without itself, inheritanceChain(scope, ancestors).slice(1)
   * (ChainTails gives it): documents handed the same array in a row share its inherited part
   * without comparing chains (bench B9: a parent's children share one tail).
   */
  partsBelow(scope: ScopeRecord, tail: ScopeRecord[]): [head: string, rest: string] {
    if (this.ownRules.has(scope.scope)) {
      // The tail is a chain: as ancestors, it gives the same chain again.
      const text = serializeJson(effectiveTrust({ ...this.state, scope, ancestors: tail }));
      let at = -1;
      for (let line = 0; line < 3; line++) at = text.indexOf('\n', at + 1);
      return [text.slice(0, at + 1), text.slice(at + 1)];
    }
    const from = this.inheritedFrom(tail);
    // The document's anchors: the inherited ones merged by ID with its own, which hide an inherited
    // anchor of their ID and are kept if they survive; written in one pass (bench B9: no map,
    // filter, sort or closure a document).
    const own = this.ownAnchors(scope.scope);
    this.anchors = '';
    this.crls = '';
    let o = 0;
    for (const a of from.kept) {
      while (o < own.length && own[o]!.id < a.id) this.addOwn(own[o++]!, from);
      if (o < own.length && own[o]!.id === a.id) continue;
      this.add(a, true);
    }
    while (o < own.length) this.addOwn(own[o++]!, from);
    return [
      `${HEAD}${JSON.stringify(scope.scope)},\n`,
      this.levelText(scope.level ?? from.level ?? DEFAULT_LEVEL, scope.inherit) +
        arrayText(this.anchors) +
        from.crlsText +
        arrayText(this.crls) +
        (scope.source ? `,\n  "source": ${JSON.stringify(scope.source)}\n}\n` : '\n}\n'),
    ];
  }

  /** The document being written: its `anchors` and `crls` elements so far, joined by `,\n`. */
  private anchors = '';
  private crls = '';

  private add(a: AnchorRecord, inherited: boolean): void {
    this.anchors += `${this.anchors ? ',\n' : ''}${this.anchorText(a, inherited)}`;
    const text = this.crlText(a, inherited);
    if (text !== null) this.crls += `${this.crls ? ',\n' : ''}${text}`;
  }

  private addOwn(a: AnchorRecord, from: Inherited): void {
    if (survives(a, from.blocked, from.revokedKeyIds, from.applied, this.state)) this.add(a, false);
  }

  /** The level and inherit lines and `"anchors": `, by level and inherit: written once each (bench B9). */
  private readonly levelTexts = [new Map<Level, string>(), new Map<Level, string>()];

  private levelText(level: Level, inherit: boolean): string {
    const byLevel = this.levelTexts[inherit ? 1 : 0]!;
    let text = byLevel.get(level);
    if (text === undefined) byLevel.set(level, (text = `  "level": ${JSON.stringify(level)},\n  "inherit": ${JSON.stringify(inherit)},\n  "anchors": `));
    return text;
  }

  /** A scope's own anchors, one per ID (the first), sorted by ID. */
  private ownAnchors(scope: string): AnchorRecord[] {
    const list = this.state.anchorsByScope.get(scope);
    if (!list || list.length <= 1) return list ?? NO_ANCHORS;
    // A stable sort keeps the first of an ID ahead of the others.
    const sorted = [...list].sort((a, b) => cmp(a.id, b.id));
    return sorted.filter((a, i) => i === 0 || a.id !== sorted[i - 1]!.id);
  }

  /**
   * The part of a document that its chain's tail (most specific first) gives, computed once per
   * tail: the last tail asked by identity, others found by their records, not a key built a
   * document (bench B9).
   */
  private lastTail: [ScopeRecord[], Inherited] | null = null;

  private inheritedFrom(tail: ScopeRecord[]): Inherited {
    if (this.lastTail?.[0] === tail) return this.lastTail[1];
    let found: Inherited | undefined;
    const byFirst = this.inherited.get(tail[0] ?? NO_SCOPE);
    if (byFirst) found = byFirst.find(([t]) => t.length === tail.length && t.every((s, i) => s === tail[i]))?.[1];
    if (!found) {
      found = this.inheritedOf(tail);
      if (!this.inherited.has(tail[0] ?? NO_SCOPE)) this.inherited.set(tail[0] ?? NO_SCOPE, []);
      this.inherited.get(tail[0] ?? NO_SCOPE)!.push([tail, found]);
    }
    this.lastTail = [tail, found];
    return found;
  }

  private inheritedOf(tail: ScopeRecord[]): Inherited {
    const scopes = new Set(tail.map((s) => s.scope));
    const applied = appliedRevocations(this.state.revocations, scopes);
    const revokedKeyIds = new Set(applied.keys.map((k) => k.id));
    const blocked = new Set(tail.flatMap((s) => [...(this.state.blocked?.get(s.scope) ?? [])]));
    const anchors = new Map<string, AnchorRecord>();
    for (const s of tail) for (const a of this.state.anchorsByScope.get(s.scope) ?? []) if (!anchors.has(a.id)) anchors.set(a.id, a);
    const kept = [...anchors.values()].filter((a) => survives(a, blocked, revokedKeyIds, applied, this.state)).sort((a, b) => cmp(a.id, b.id));
    // `"revoked": {...}` one level deep, as the document's stringify writes it: `{"revoked": ...}` without its braces.
    const revoked = JSON.stringify({ revoked: revokedSection(applied) }, null, 2).slice(2, -2);
    return { level: tail.find((s) => s.level != null)?.level ?? null, applied, revokedKeyIds, blocked, kept, crlsText: `,\n${revoked},\n  "crls": ` };
  }

  /**
   * An anchor's texts, kept for the documents that inherit it; a scope's own anchor's are not
   * kept (`keep` false: most appear in one document, and 10,000 kept texts outlive their young
   * generation; bench B9).
   */
  private anchorText(a: AnchorRecord, keep: boolean): string {
    let text = this.anchorTexts.get(a);
    if (text === undefined) {
      text = elementText(toTrustAnchor(a, this.state.tsaSigners));
      if (keep) this.anchorTexts.set(a, text);
    }
    return text;
  }

  private crlText(a: AnchorRecord, keep: boolean): string | null {
    let text = this.crlTexts.get(a);
    if (text === undefined) {
      const entry = crlEntry(a, this.state);
      text = entry && elementText(entry);
      if (keep) this.crlTexts.set(a, text);
    }
    return text;
  }
}

/**
 * Each scope's chain without itself, inheritanceChain(scope, its defined ancestors).slice(1),
 * found by walking its nearest candidates (shared/scope.ts nearestCandidate) and kept per
 * candidate: the scopes under one parent get one array, without parsing, filtering or sorting
 * their ancestors (bench B9: a parent change asks it of every scope under it). A chain is its
 * scope followed, when it inherits, by its nearest defined ancestor's chain: inheritanceChain's
 * rule (test/service/domain/trust-compose.test.ts compares them).
 */
export class ChainTails {
  /** By candidate, the chain of the most specific defined scope at or above it. */
  private readonly at = new Map<string, ScopeRecord[]>();

  /** `defined`: every defined scope by name. */
  constructor(private readonly defined: ReadonlyMap<string, ScopeRecord>) {}

  /** The last candidate asked, and its chain: siblings in a row compare their candidate to it, without hashing it. */
  private last: [string, ScopeRecord[]] = ['', NO_SCOPES];

  of(scope: ScopeRecord): ScopeRecord[] {
    const c = scope.inherit ? nearestCandidate(scope.scope) : null;
    if (c === null) return NO_SCOPES;
    if (c !== this.last[0]) this.last = [c, this.chainAt(c)];
    return this.last[1];
  }

  private chainAt(candidate: string): ScopeRecord[] {
    let chain = this.at.get(candidate);
    if (!chain) {
      const rec = this.defined.get(candidate);
      const above = nearestCandidate(candidate);
      chain = rec ? [rec, ...this.of(rec)] : above === null ? NO_SCOPES : this.chainAt(above);
      this.at.set(candidate, chain);
    }
    return chain;
  }
}
