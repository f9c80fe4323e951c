import { CoreError } from '../server/core/index.ts';
import { UsageError, processIo, type Io } from './io.ts';

const HELP = `hls-gate: CloudFront-compatible signed cookies and URLs for private HLS

Usage:
  hls-gate keys generate [--type rsa|ecdsa] [--out DIR]
  hls-gate sign cookies --resource URL --expires T [--not-before T] [--ip CIDR] [--hash sha1|sha256]
                        [--canned] [--key-pair-id ID] [--private-key FILE] [--json] [--domain D] [--path P]
  hls-gate sign url URL --expires T [--not-before T] [--ip CIDR] [--resource PATTERN] [--hash sha1|sha256]
                        [--key-pair-id ID] [--private-key FILE]
  hls-gate explain [--url URL] [--cookie HEADER] [--client-ip IP] [--at T] --public-key ID=FILE [...] [--json]
  hls-gate fetch-segments <playlist-url> [options]   (hls-gate fetch-segments --help)

T is epoch seconds, ISO 8601, or relative: +30m, +2h, +1d.
--key-pair-id and --private-key default to $CLOUDFRONT_KEY_PAIR_ID and $CLOUDFRONT_PRIVATE_KEY_FILE.
Exit codes: 0 success (explain: granted), 1 denied / failed expectation, 2 bad usage.
`;

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    switch (command) {
      case 'keys':
        if (sub !== 'generate') throw new UsageError('usage: hls-gate keys generate [--type rsa|ecdsa] [--out DIR]');
        return await (await import('./keys.ts')).keysGenerate(rest, io);
      case 'sign':
        if (sub === 'cookies') return await (await import('./sign.ts')).signCookiesCommand(rest, io);
        if (sub === 'url') return await (await import('./sign.ts')).signUrlCommand(rest, io);
        throw new UsageError('usage: hls-gate sign cookies|url ... (hls-gate --help)');
      case 'explain':
        return await (await import('./explain.ts')).explainCommand(argv.slice(1), io);
      case 'fetch-segments':
        return await (await import('./fetch-segments/index.ts')).runFetchSegments(argv.slice(1), io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (hls-gate --help)`);
    }
  } catch (err) {
    // One line, never a stack trace; CoreError messages never carry key material.
    if (err instanceof UsageError || err instanceof CoreError) {
      io.stderr(`hls-gate: ${err.message}\n`);
      return 2;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`hls-gate: ${err.message}\n`);
      return 2;
    }
    io.stderr(`hls-gate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
