// IPv4 addresses and CIDR ranges for the policy's AWS:SourceIp. CloudFront accepts one IPv4 address or range
// per policy; IPv6 is not supported in policies
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-creating-signed-url-custom-policy.html).

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export interface Cidr {
  base: number;
  prefix: number;
}

/** Parses one IPv4 address or CIDR range (CloudFront policies take IPv4 only); null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const [ip, prefixText, extra] = text.split('/');
  if (extra !== undefined || ip === undefined || prefixText === undefined || !/^(3[0-2]|[12]?\d)$/.test(prefixText))
    return null;
  const base = parseIPv4(ip);
  if (base === null) return null;
  return { base, prefix: Number(prefixText) };
}

/** Adds `/32` to a bare address as AWS's signers do; null when it is not an IPv4 address or range. */
export function normaliseSourceIp(text: string): string | null {
  const withMask = text.includes('/') ? text : `${text}/32`;
  return parseCidr(withMask) ? withMask : null;
}

/** Is this client IP (IPv4, or IPv4-mapped IPv6 from a dual-stack socket) inside the range? */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  // Accept the IPv4-mapped IPv6 form Node reports for IPv4 clients on dual-stack sockets.
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  const addr = parseIPv4(v4);
  if (addr === null) return false;
  if (cidr.prefix === 0) return true;
  const size = 2 ** (32 - cidr.prefix);
  return Math.floor(addr / size) === Math.floor(cidr.base / size);
}
