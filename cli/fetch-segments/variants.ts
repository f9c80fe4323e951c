import { readFileSync } from 'node:fs';
import {
  decodeCloudFrontBase64,
  encodeCloudFrontBase64,
  importPrivateKey,
  signPolicy,
} from '../../server/core/index.ts';
import { SIGNED_URL_PARAMS } from '../../server/core/cookies.ts';

// The negatives --check-denials proves: the same URLs without credentials, with a tampered signature, with the
// policy of another resource, and (given the private key) with a genuinely signed policy for another video and
// with an expired policy. Each must be refused on every request.

export interface Variant {
  name: string;
  /** Rewrites a Cookie header (cookie credentials). */
  cookie: (header: string | undefined) => string | undefined;
  /** Rewrites a URL (signed-URL credentials). */
  url: (url: string) => string;
}

interface PolicyDoc {
  Statement: { Resource: string; Condition: { DateLessThan: { 'AWS:EpochTime': number } } }[];
}

function flip(s: string): string {
  const i = Math.floor(s.length / 2);
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

function setCookie(
  header: string | undefined,
  name: string,
  value: string | ((v: string) => string),
): string | undefined {
  return header?.replace(
    new RegExp(`(^|;\\s*)${name}=([^;]*)`, 'g'),
    (_m, pre: string, v: string) => `${pre}${name}=${typeof value === 'string' ? value : value(v)}`,
  );
}

function setParam(url: string, name: string, value: string | ((v: string) => string)): string {
  const u = new URL(url);
  const old = u.searchParams.get(name);
  if (old === null) return url;
  u.searchParams.set(name, typeof value === 'string' ? value : value(old));
  return u.href;
}

export function stripSigned(url: string): string {
  const u = new URL(url);
  for (const p of SIGNED_URL_PARAMS) u.searchParams.delete(p);
  return u.href;
}

function otherResource(resource: string): string {
  return /\/[^/]+\/\*$/.test(resource) ? resource.replace(/\/([^/]+)\/\*$/, '/$1-other-video/*') : `${resource}-other`;
}

function rewrite(b64: string, change: (p: PolicyDoc) => void): string | null {
  try {
    const policy = JSON.parse(new TextDecoder().decode(decodeCloudFrontBase64(b64))) as PolicyDoc;
    change(policy);
    return JSON.stringify(policy);
  } catch {
    return null;
  }
}

const toOtherVideo = (p: PolicyDoc) => void (p.Statement[0]!.Resource = otherResource(p.Statement[0]!.Resource));

export async function denialVariants(opts: {
  policyB64?: string;
  privateKeyFile?: string;
  keyPairId?: string;
  nowMs: number;
}): Promise<{ variants: Variant[]; notes: string[] }> {
  const notes: string[] = [];
  const variants: Variant[] = [
    { name: 'without credentials', cookie: () => undefined, url: stripSigned },
    {
      name: 'with a tampered signature',
      cookie: (h) => setCookie(h, 'CloudFront-Signature', flip),
      url: (u) => setParam(u, 'Signature', flip),
    },
  ];
  const policy = opts.policyB64;
  if (!policy) {
    notes.push('canned policy: the policy-substitution checks need a custom policy and were skipped');
    return { variants, notes };
  }
  const forged = rewrite(policy, toOtherVideo);
  if (forged) {
    const b64 = encodeCloudFrontBase64(forged);
    variants.push({
      name: "with another video's policy (signature kept)",
      cookie: (h) => setCookie(h, 'CloudFront-Policy', b64),
      url: (u) => setParam(u, 'Policy', b64),
    });
  }
  if (!opts.privateKeyFile) {
    notes.push('no --private-key: the checks with genuinely signed other-video and expired policies were skipped');
    return { variants, notes };
  }
  const key = await importPrivateKey(readFileSync(opts.privateKeyFile, 'utf8'));
  const genuine = async (name: string, change: (p: PolicyDoc) => void) => {
    const text = rewrite(policy, change);
    if (!text) return;
    const b64 = encodeCloudFrontBase64(text);
    const sig = await signPolicy(text, key);
    const kid = opts.keyPairId;
    variants.push({
      name,
      cookie: (h) => {
        let out = setCookie(setCookie(h, 'CloudFront-Policy', b64), 'CloudFront-Signature', sig);
        if (kid) out = setCookie(out, 'CloudFront-Key-Pair-Id', kid);
        return out;
      },
      url: (u) => {
        let out = setParam(setParam(u, 'Policy', b64), 'Signature', sig);
        if (kid) out = setParam(out, 'Key-Pair-Id', kid);
        return out;
      },
    });
  };
  await genuine('with a validly signed policy for another video', toOtherVideo);
  await genuine(
    'with a validly signed, expired policy',
    (p) => void (p.Statement[0]!.Condition.DateLessThan['AWS:EpochTime'] = Math.floor(opts.nowMs / 1000) - 60),
  );
  return { variants, notes };
}
