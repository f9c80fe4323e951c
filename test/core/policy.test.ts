import { describe, expect, it } from 'vitest';
import { buildCannedPolicy, buildCustomPolicy, parsePolicy, CoreError } from '../../server/core/index.ts';

describe('policies', () => {
  it('canned policy bytes', () => {
    expect(buildCannedPolicy('https://d111111abcdef8.cloudfront.net/image.jpg', 1357034400)).toBe(
      '{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/image.jpg","Condition":{"DateLessThan":{"AWS:EpochTime":1357034400}}}]}',
    );
  });
  it('adds /32 to a bare IP like AWS signers', () => {
    expect(buildCustomPolicy({ resource: 'https://a/*', expires: 2, ipAddress: '192.0.2.1' })).toContain(
      '"AWS:SourceIp":"192.0.2.1/32"',
    );
  });
  it.each([
    ['a quote in the resource', { resource: 'https://a/"},{"Resource":"*', expires: 2 }],
    ['a backslash', { resource: 'https://a/b\\c', expires: 2 }],
    ['a control character', { resource: 'https://a/b\nc', expires: 2 }],
    ['no resource', { resource: '', expires: 2 }],
    ['an IPv6 address', { resource: 'https://a/*', expires: 2, ipAddress: '2001:db8::/32' }],
    ['an IP with a quote', { resource: 'https://a/*', expires: 2, ipAddress: '1.2.3.4/32"' }],
    ['a bad mask', { resource: 'https://a/*', expires: 2, ipAddress: '1.2.3.4/33' }],
    ['milliseconds', { resource: 'https://a/*', expires: Date.now() }],
    ['a fractional epoch', { resource: 'https://a/*', expires: 1.5 }],
  ])('refuses %s instead of escaping it', (_n, input) => {
    expect(() => buildCustomPolicy(input)).toThrow(CoreError);
  });
  it("keeps CloudFront's \\? for a literal query start", () => {
    expect(buildCustomPolicy({ resource: 'https://a/b\\?c=*', expires: 2 })).toContain(
      '"Resource":"https://a/b\\\\?c=*"',
    );
  });
  it('parses what it builds, strictly', () => {
    const p = buildCustomPolicy({
      resource: 'https://a/*',
      expires: 2000000000,
      notBefore: 1900000000,
      ipAddress: '10.0.0.0/8',
    });
    expect(parsePolicy(p)).toEqual({
      resource: 'https://a/*',
      dateLessThan: 2000000000,
      dateGreaterThan: 1900000000,
      ipAddress: '10.0.0.0/8',
    });
  });
  it.each([
    '{"Statement":[]}',
    '{"Statement":[{"Resource":"*","Condition":{}}]}',
    '{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":"2000000000"}}}]}',
    '{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000.5}}}]}',
    '{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}},"Effect":"Allow"}]}',
    '{"Statement":[{"Resource":["*"],"Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}]}',
    '{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}]}',
    '{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000},"IpAddress":{"AWS:SourceIp":"::1/128"}}}]}',
    '{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}],"Extra":1}',
  ])('refuses %s', (json) => {
    expect(() => parsePolicy(json)).toThrow(/malformed policy/);
  });
});
