import { describe, expect, it } from 'vitest';
import { haproxyConfig } from './haproxy-config.js';

const nodes = [
  { name: 'a', host: '127.0.0.1', rtmpPort: 1936, httpPort: 8081 },
  { name: 'b', host: 'recorder-b', rtmpPort: 1935, httpPort: 8080 },
];

describe('haproxyConfig', () => {
  it('balances RTMP over TCP, each node checked by GET /readyz on its HTTP port', () => {
    const text = haproxyConfig({ bind: '*:1935', nodes });
    expect(text).toContain('  mode tcp\n');
    expect(text).toContain('  bind *:1935\n');
    expect(text).toContain('  balance leastconn\n');
    expect(text).toContain('  option httpchk GET /readyz\n');
    expect(text).toContain('  http-check expect status 200\n');
    expect(text).toContain('  server a 127.0.0.1:1936 check port 8081\n');
    expect(text).toContain('  server b recorder-b:1935 check port 8080\n');
    expect(text).not.toContain('stats');
  });

  it('takes a balance, a check interval and a stats page', () => {
    const text = haproxyConfig({
      bind: '127.0.0.1:2000',
      nodes,
      balance: 'first',
      checkIntervalMs: 250,
      stats: '127.0.0.1:2001',
    });
    expect(text).toContain('  balance first\n');
    expect(text).toContain('  default-server inter 250ms fall 1 rise 1\n');
    expect(text).toContain('  bind 127.0.0.1:2001\n  stats enable');
  });

  it('resolves node names at run time through a DNS server, starting while one does not resolve', () => {
    const text = haproxyConfig({ bind: '*:1935', nodes, dns: '127.0.0.11:53' });
    expect(text).toContain('resolvers dns\n  nameserver dns 127.0.0.11:53\n');
    expect(text).toContain(
      '  default-server inter 1000ms fall 1 rise 1 resolvers dns init-addr last,libc,none\n',
    );
  });

  it.each([
    [[], 'at least one node'],
    [[{ ...nodes[0]!, name: 'a b' }], 'is not a plain name'],
    [[{ ...nodes[0]!, host: 'x;y' }], 'is not a host'],
    [[{ ...nodes[0]!, httpPort: 0 }], 'port 0 is not 1..65535'],
  ])('refuses %j: %s', (bad, message) => {
    expect(() => haproxyConfig({ bind: '*:1935', nodes: bad })).toThrow(message);
  });
});
