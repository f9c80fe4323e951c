// A throwaway certificate authority and one certificate for the test hosts, made with openssl in a temp folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';

export interface TestTls {
  dir: string;
  certFile: string;
  keyFile: string;
  /** base64 SHA-256 of the certificate's SPKI, for Chromium's --ignore-certificate-errors-spki-list. */
  spkiHash: string;
}

export function makeTestTls(hosts: string[]): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'hls-gate-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=hls-gate test CA',
  );
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'site.key', '-out', 'site.csr', '-subj', `/CN=${hosts[0]}`);
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  ssl(
    'x509',
    '-req',
    '-in',
    'site.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'site.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  const cert = new X509Certificate(readFileSync(join(dir, 'site.pem')));
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return {
    dir,
    certFile: join(dir, 'site.pem'),
    keyFile: join(dir, 'site.key'),
    spkiHash: createHash('sha256').update(spki).digest('base64'),
  };
}
