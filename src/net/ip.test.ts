import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { inCidr, ipv6Groups, isIP, isIPv4, isIPv6 } from './ip.ts';

const SAMPLES = [
  '0.0.0.0', '1.2.3.4', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..3.4', ' 1.2.3.4', '1.2.3.4 ', '',
  '::', '::1', '1::', '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6:7', '1:2:3:4:5:6:7::',
  '::1:2:3:4:5:6:7', '1::2::3', ':::', '1:', ':1', '::ffff:192.0.2.1', '64:ff9b::192.0.2.1', '::192.0.2.300', '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', 'fe80::1%', '%eth0', '12345::', 'g::1', '2001:db8::/64', 'not an address', 'localhost',
];

describe('ip parsing without node:net', () => {
  it('agrees with node:net on valid and invalid addresses', () => {
    for (const s of SAMPLES) {
      assert.equal(isIPv4(s), net.isIPv4(s), `isIPv4(${JSON.stringify(s)})`);
      assert.equal(isIPv6(s), net.isIPv6(s), `isIPv6(${JSON.stringify(s)})`);
      assert.equal(isIP(s), net.isIP(s), `isIP(${JSON.stringify(s)})`);
    }
  });

  it('expands IPv6 groups, with an IPv4 tail and a zone', () => {
    assert.deepEqual(ipv6Groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(ipv6Groups('::ffff:192.0.2.1'), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
    assert.deepEqual(ipv6Groups('fe80::1%eth0'), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('checks CIDR membership as node:net BlockList does', () => {
    const cases: [string, string][] = [
      ['173.245.48.9', '173.245.48.0/20'], ['173.245.64.1', '173.245.48.0/20'], ['10.1.2.3', '10.0.0.0/8'], ['11.0.0.1', '10.0.0.0/8'],
      ['127.0.0.1', '127.0.0.1/32'], ['127.0.0.2', '127.0.0.1'], ['2400:cb00::1', '2400:cb00::/32'], ['2400:cb01::1', '2400:cb00::/32'],
      ['2001:db8::5', '2001:db8::/127'], ['2001:db8::4', '2001:db8::/127'], ['1.2.3.4', '0.0.0.0/0'], ['1.2.3.4', '::/0'], ['::1', '0.0.0.0/0'],
    ];
    for (const [address, cidr] of cases) {
      const list = new net.BlockList();
      const [base = '', prefix] = cidr.split('/');
      const family = net.isIPv4(base) ? 'ipv4' : 'ipv6';
      list.addSubnet(base, Number(prefix ?? (family === 'ipv4' ? 32 : 128)), family);
      const expected = net.isIPv4(address) === (family === 'ipv4') && list.check(address, family);
      assert.equal(inCidr(address, cidr), expected, `${address} in ${cidr}`);
    }
  });
});
