import { checkUrlShape, isLocalhostName, refusedAddressReason, refusedResolution } from './address-guard';

describe('refusedAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['2002:7f00:1::', '6to4'],
    ['[::1]', 'loopback'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(refusedAddressReason(address)).toContain(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2a00:1450::1'])(
    'allows the public address %s',
    (address) => {
      expect(refusedAddressReason(address)).toBeNull();
    },
  );

  it('answers for something that is not an address', () => {
    expect(refusedAddressReason('example.com')).toBe('not an IP address');
  });
});

describe('isLocalhostName', () => {
  it.each(['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'a.b.localhost.'])('%s is localhost', (name) => {
    expect(isLocalhostName(name)).toBe(true);
  });
  it.each(['localhost.example.com', 'mylocalhost', 'example.com'])('%s is not', (name) => {
    expect(isLocalhostName(name)).toBe(false);
  });
});

describe('checkUrlShape', () => {
  const refused = (url: string, allowPrivate = false) => {
    const sut = checkUrlShape(url, allowPrivate);
    return sut.ok ? null : sut.reason;
  };

  it('accepts an absolute https URL with a public name and reads the host', () => {
    const sut = checkUrlShape('https://hooks.example.com/tollgate?x=1', false);
    expect(sut).toMatchObject({ ok: true, host: 'hooks.example.com', literal: false });
  });

  it.each([
    ['ftp://example.com/', 'only http and https'],
    ['/relative', 'not an absolute URL'],
    ['javascript:alert(1)', 'only http and https'],
    ['https://user:pass@example.com/', 'credentials'],
    ['https://user@example.com/', 'credentials'],
    [`https://example.com/${'a'.repeat(2048)}`, 'longer than 2048'],
  ])('refuses %s whatever the private setting', (url, reason) => {
    expect(refused(url)).toContain(reason);
    expect(refused(url, true)).toContain(reason);
  });

  it.each([
    'http://127.0.0.1:8080/',
    'http://10.0.0.5/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://localhost:3000/',
    'http://LocalHost./',
    'http://0177.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0/',
  ])('refuses the private or loopback literal %s, allows it when private URLs are allowed', (url) => {
    expect(refused(url)).not.toBeNull();
    expect(refused(url, true)).toBeNull();
  });
});

describe('refusedResolution', () => {
  it('refuses a name when any of its addresses is refused (a rebinding answer mixes them)', () => {
    expect(refusedResolution('evil.example', ['93.184.216.34', '10.0.0.1'])).toContain('resolves to 10.0.0.1');
    expect(refusedResolution('evil.example', ['2606:4700::1', '::ffff:192.168.0.1'])).toContain('private');
  });
  it('refuses a name with no address and allows public ones', () => {
    expect(refusedResolution('nowhere.example', [])).toContain('does not resolve');
    expect(refusedResolution('example.com', ['93.184.216.34', '2606:2800:220:1::'])).toBeNull();
  });
});
