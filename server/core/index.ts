// The signing core's public surface. Web-standard APIs only (crypto.subtle, URL, TextEncoder, atob/btoa).
export type * from './types.ts';
export { importPrivateKey, importPublicKey, generateKeyPair } from './keys.ts';
export { buildCustomPolicy, buildCannedPolicy, parsePolicy } from './policy.ts';
export { resourceMatches } from './resource-match.ts';
export { encodeCloudFrontBase64, decodeCloudFrontBase64 } from './base64.ts';
export { signPolicy, signCookies, signPolicyCookies, signCannedCookies, signUrl, type SignUrlInput } from './sign.ts';
export { createVerifier } from './verify.ts';
export { CoreError, HlsGateError, type CoreErrorCode } from './errors.ts';
export { parseCidr, cidrContains } from './cidr.ts';
