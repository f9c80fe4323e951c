// `hls-gate`: CloudFront signed cookies and URLs, signed and verified with web-standard APIs only (crypto.subtle,
// URL, TextEncoder), so it runs on Node, Cloudflare Workers, Deno and Bun.
export * from './core/index.ts';
export { CHECKS, DENIALS, CLOUDFRONT_MESSAGES, checkIndex, cloudFrontErrorXml } from './core/denials.ts';
export { COOKIE } from './core/cookies.ts';
