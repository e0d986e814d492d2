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
import { TRUST_MEDIA_TYPE, type AnchorRecord, type Level, type Revocations, type ScopeRecord } from './types.js';

/** What a document inherits from the chain above it. */
interface Inherited {
  level: Level | null;
  applied: Revocations;
  revokedKeyIds: Set<string>;
  blocked: Set<string>;
  /** The inherited anchors that survive the chain's blocks and revocations, sorted by ID. */
  kept: AnchorRecord[];
  /** `"revoked": {...}` at its indent, with the line break before `"crls"`. */
  revokedText: string;
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

export class TrustComposer {
  private readonly inherited = new Map<string, Inherited>();
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
    if (this.ownRules.has(scope.scope)) {
      const text = serializeJson(effectiveTrust({ ...this.state, scope, ancestors }));
      let at = -1;
      for (let line = 0; line < 3; line++) at = text.indexOf('\n', at + 1);
      return [text.slice(0, at + 1), text.slice(at + 1)];
    }
    const chain = inheritanceChain(scope, ancestors);
    const from = this.inheritedFrom(chain.slice(1));
    let kept = from.kept;
    const ownList = this.state.anchorsByScope.get(scope.scope);
    if (ownList && ownList.length > 0) {
      const own = new Map<string, AnchorRecord>();
      for (const a of ownList) if (!own.has(a.id)) own.set(a.id, a);
      kept = kept.filter((a) => !own.has(a.id));
      for (const a of own.values()) if (survives(a, from.blocked, from.revokedKeyIds, from.applied, this.state)) kept.push(a);
      kept.sort((a, b) => cmp(a.id, b.id));
    }
    // The arrays written in one pass each (bench B9: no intermediate arrays a document).
    let anchors = '';
    let crls = '';
    for (const a of kept) {
      anchors += `${anchors ? ',\n' : ''}${this.anchorText(a)}`;
      const text = this.crlText(a);
      if (text !== null) crls += `${crls ? ',\n' : ''}${text}`;
    }
    return [
      `${HEAD}${JSON.stringify(scope.scope)},\n`,
      `  "level": ${JSON.stringify(scope.level ?? from.level ?? DEFAULT_LEVEL)},\n  "inherit": ${JSON.stringify(scope.inherit)},\n` +
        `  "anchors": ${arrayText(anchors)},\n${from.revokedText}  "crls": ${arrayText(crls)}` +
        (scope.source ? `,\n  "source": ${JSON.stringify(scope.source)}\n}\n` : '\n}\n'),
    ];
  }

  /** The part of a document that `tail` (its chain without itself, most specific first) gives, computed once per tail. */
  private inheritedFrom(tail: ScopeRecord[]): Inherited {
    const key = tail.map((s) => s.scope).join('\n');
    let found = this.inherited.get(key);
    if (found) return found;
    const scopes = new Set(tail.map((s) => s.scope));
    const applied = appliedRevocations(this.state.revocations, scopes);
    const revokedKeyIds = new Set(applied.keys.map((k) => k.id));
    const blocked = new Set(tail.flatMap((s) => [...(this.state.blocked?.get(s.scope) ?? [])]));
    const anchors = new Map<string, AnchorRecord>();
    for (const s of tail) for (const a of this.state.anchorsByScope.get(s.scope) ?? []) if (!anchors.has(a.id)) anchors.set(a.id, a);
    const kept = [...anchors.values()].filter((a) => survives(a, blocked, revokedKeyIds, applied, this.state)).sort((a, b) => cmp(a.id, b.id));
    // `"revoked": {...}` one level deep, as the document's stringify writes it: `{"revoked": ...}` without its braces.
    const revokedText = `${JSON.stringify({ revoked: revokedSection(applied) }, null, 2).slice(2, -2)},\n`;
    found = { level: tail.find((s) => s.level != null)?.level ?? null, applied, revokedKeyIds, blocked, kept, revokedText };
    this.inherited.set(key, found);
    return found;
  }

  private anchorText(a: AnchorRecord): string {
    let text = this.anchorTexts.get(a);
    if (text === undefined) this.anchorTexts.set(a, (text = elementText(toTrustAnchor(a, this.state.tsaSigners))));
    return text;
  }

  private crlText(a: AnchorRecord): string | null {
    let text = this.crlTexts.get(a);
    if (text === undefined) {
      const entry = crlEntry(a, this.state);
      this.crlTexts.set(a, (text = entry && elementText(entry)));
    }
    return text;
  }
}
