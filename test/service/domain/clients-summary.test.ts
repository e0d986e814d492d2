/** Issue 21, federation: a downstream's summary of its clients in its upstream's versions (pure). */
import { describe, expect, it } from 'vitest';
import { rolloutOf, summarizeClients, type ClientState } from '../../../service/domain/clients.js';
import { nextCarried } from '../../../service/federation/upstream/report.js';

const client = (clientId: string, version: number, summary: ClientState['summary'] = null): ClientState => ({ clientId, version, labels: {}, scopes: [], summary });

describe('a downstream summary', () => {
  // Upstream version 4 was first carried by downstream version 10, upstream 7 by downstream 15.
  const carried: [number, number][] = [
    [4, 10],
    [7, 15],
  ];

  it('counts, for each upstream version, the clients holding a downstream version that carries it', () => {
    const s = summarizeClients([client('a', 9), client('b', 10), client('c', 15), client('d', 20)], carried);
    expect(s).toEqual({ clients: 4, holding: { '4': 3, '7': 2 } });
    // At the upstream: a revocation first carried by upstream version 5 is held by the 2 clients holding 7.
    expect(rolloutOf(null, 5, [client('hub', 7, s)])).toMatchObject({ clients: 4, holding: 2, percent: 50, behind: [] });
  });

  it('counts a downstream of the downstream by its own summary', () => {
    const nested = summarizeClients([client('hub2', 15, { clients: 5, holding: { '10': 5, '15': 3 } }), client('x', 10)], carried);
    expect(nested).toEqual({ clients: 6, holding: { '4': 6, '7': 3 } });
  });

  it('records an upstream version once, never before the last one, and bounded', () => {
    expect(nextCarried([], 4, 10)).toEqual([[4, 10]]);
    expect(nextCarried([[4, 10]], 4, 12)).toEqual([[4, 10]]);
    expect(nextCarried([[4, 10]], 3, 12)).toEqual([[4, 10]]);
    expect(nextCarried([[4, 10]], 7, 9)).toEqual([
      [4, 10],
      [7, 10],
    ]);
    let c: [number, number][] = [];
    for (let v = 1; v <= 1100; v++) c = nextCarried(c, v, v);
    expect(c.length).toBe(1000);
    expect(c[0]).toEqual([101, 101]);
  });
});
